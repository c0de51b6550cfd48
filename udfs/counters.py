"""Metric counters that reach Flink in batches.

Every ``inc()`` on a Flink counter from thread-mode Python is a call into Java; made once per
event, those calls took about 8% of the job's samples in an in-Flink profile (py-spy on the
job's JVM, BENCHMARKS.md). ``BatchedCounter`` sums in Python and hands the sum on at most once
per ``every_s`` (or once ``max_pending`` counts are waiting), and on ``flush()``, which the
operators call from ``close()``. While counts keep coming, a metric trails by at most
``every_s``, inside Flink's reporting interval; on a stream gone quiet, the last counts wait
for the next one (or for ``close()``).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class Counter(Protocol):
    def inc(self, n: int = 1) -> None: ...


class BatchedCounter:
    """Wraps ``counter``; ``inc`` is cheap, the wrapped counter sees the sums."""

    def __init__(self, counter: Counter, every_s: float = 1.0, max_pending: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.counter, self.every_s, self.max_pending, self.clock = counter, every_s, max_pending, clock
        self.pending = 0
        self.last = clock()

    def inc(self, n: int = 1) -> None:
        if n <= 0:
            return
        self.pending += n
        now = self.clock()
        if self.pending >= self.max_pending or now - self.last >= self.every_s:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        """Hand the waiting count to the wrapped counter now."""
        if self.pending:
            self.counter.inc(self.pending)
            self.pending = 0
        self.last = self.clock() if now is None else now


def batched(*counters: Counter) -> tuple[BatchedCounter, ...]:
    return tuple(BatchedCounter(c) for c in counters)
