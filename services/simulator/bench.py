"""The simulator's own ceiling as a load generator: how many events/s it gets acknowledged.

Two measurements against the configured broker and topic (use a scratch topic: the records are
real events):

- pre-encoded: a pool of encoded events from the plan, produced round and round;
- on the fly: the plan generated, Avro-encoded and produced as it goes (no pacing).

Each runs for ``seconds`` and then waits for every acknowledgement; the rate is acknowledged
records over the whole time, flush included, so it is what a benchmark can rely on.
"""
from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.simulator.schedule import Plan, schedule
from services.simulator.sender import Counts, Sender
from udfs.fast_avro import encoder


@dataclass(frozen=True)
class BenchResult:
    """One measurement: records acknowledged, failures, and the seconds it took."""

    label: str
    counts: Counts
    seconds: float

    @property
    def rate(self) -> float:
        return self.counts.delivered / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        c = self.counts
        return (f"{self.label:<12} {self.rate:>10,.0f} events/s acknowledged "
                f"({c.delivered:,} in {self.seconds:.2f} s, {c.failed:,} failed, {c.pending:,} unacknowledged)")


def encoded_pool(plan: Plan, size: int) -> list[tuple[bytes, bytes]]:
    """(key, value) of the plan's first ``size`` events, Avro single-object encoded."""
    encode = encoder("behavior_event")
    return [(e.event["anonymous_id"].encode(), encode(e.event)) for e in itertools.islice(schedule(plan), size)]


def _timed(label: str, sender: Sender, seconds: float, step: Callable[[], None], flush_s: float,
           per_step: int = 1) -> BenchResult:
    start = time.monotonic()
    deadline = start + seconds
    while time.monotonic() < deadline:
        for _ in range(max(1, 1000 // per_step)):
            step()
    counts = sender.close(flush_s)
    return BenchResult(label, counts, time.monotonic() - start)


def bench_preencoded(sender: Sender, pool: list[tuple[bytes, bytes]], seconds: float,
                     flush_s: float = 60.0) -> BenchResult:
    """Produce ``pool`` round and round for ``seconds``."""
    chunks = itertools.cycle([pool[i:i + 1000] for i in range(0, len(pool), 1000)])

    def step() -> None:
        sender.send_many(next(chunks))

    return _timed("pre-encoded", sender, seconds, step, flush_s, per_step=1000)


def bench_on_the_fly(sender: Sender, plan: Plan, seconds: float, flush_s: float = 60.0) -> BenchResult:
    """Generate, encode and produce the plan's events for ``seconds`` (the plan must be large enough)."""
    encode, events = encoder("behavior_event"), schedule(plan)

    def step() -> None:
        event = next(events).event
        sender.send(event["anonymous_id"].encode(), encode(event))

    return _timed("on the fly", sender, seconds, step, flush_s)
