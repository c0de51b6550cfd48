"""Batched counters hand every count on, in sums, no later than their interval or close."""
from __future__ import annotations

from udfs.counters import BatchedCounter


class Recorder:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def inc(self, n: int = 1) -> None:
        self.calls.append(n)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_counts_within_the_interval_arrive_as_one_sum() -> None:
    inner, clock = Recorder(), Clock()
    c = BatchedCounter(inner, every_s=1.0, clock=clock)
    for _ in range(5):
        c.inc()
        clock.t += 0.1
    assert inner.calls == []
    clock.t += 0.6
    c.inc(2)
    assert inner.calls == [7] and c.pending == 0


def test_a_full_batch_goes_at_once_and_flush_sends_the_rest() -> None:
    inner, clock = Recorder(), Clock()
    c = BatchedCounter(inner, every_s=60.0, max_pending=3, clock=clock)
    for _ in range(4):
        c.inc()
    assert inner.calls == [3]
    c.flush()
    c.flush()
    assert inner.calls == [3, 1]


def test_zero_and_negative_counts_never_reach_the_counter() -> None:
    inner, clock = Recorder(), Clock()
    c = BatchedCounter(inner, every_s=0.0, clock=clock)
    c.inc(0)
    c.inc(-2)
    c.flush()
    assert inner.calls == []
    c.inc(4)
    assert inner.calls == [4]
