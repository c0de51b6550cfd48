"""Pacing event time against the wall clock, with the clock and the sleep injected for tests.

An event at event time ``t`` is due ``(t - t0) / speedup`` wall seconds after the anchor
(``t0`` and the wall time when the pacer was anchored); ``speedup`` 0 means as fast as possible
(never wait). The pacer sleeps in slices and calls ``tick`` between them, so a sender keeps
serving acknowledgements and the progress line while it waits for the next event.
"""
from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class Pacer:
    """Releases events when their (scaled) event time comes; ``speedup`` 0 never waits."""

    def __init__(self, speedup: float, clock: Clock = time.monotonic, sleep: Sleep = time.sleep,
                 slice_s: float = 0.2) -> None:
        if speedup < 0:
            raise ValueError(f"speedup {speedup!r}: must not be negative")
        self.speedup, self.clock, self.sleep, self.slice_s = speedup, clock, sleep, slice_s
        self.t0: int | None = None
        self.wall0 = 0.0

    def anchor(self, event_ms: int) -> None:
        """Event time ``event_ms`` is now; later events are due relative to it."""
        self.t0, self.wall0 = event_ms, self.clock()

    def due(self, event_ms: int) -> float:
        """Wall time (the clock's scale) at which ``event_ms`` is due; anchors on the first call."""
        if self.t0 is None:
            self.anchor(event_ms)
        assert self.t0 is not None
        if self.speedup == 0:
            return self.wall0
        return self.wall0 + (event_ms - self.t0) / 1000 / self.speedup

    def wait(self, event_ms: int, tick: Callable[[], None] | None = None) -> float:
        """Sleep until ``event_ms`` is due, calling ``tick`` between slices; returns seconds slept."""
        due, slept = self.due(event_ms), 0.0
        while (left := due - self.clock()) > 0:
            step = min(left, self.slice_s)
            self.sleep(step)
            slept += step
            if tick is not None:
                tick()
        return slept

    def lag(self, event_ms: int) -> float:
        """Seconds the sender is behind schedule at ``event_ms`` (negative: ahead)."""
        return self.clock() - self.due(event_ms)


def rebased(event_ms: int, t0: int, now0_ms: int, speedup: float) -> int:
    """Event time moved to the wall clock: ``t0`` maps to ``now0_ms``, gaps shrink by ``speedup``."""
    if speedup == 0:
        return now0_ms
    return now0_ms + round((event_ms - t0) / speedup)
