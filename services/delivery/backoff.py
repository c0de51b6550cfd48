"""Bounded retries with exponential backoff and jitter, as plain functions.

The delay before retry ``i`` (0-based) has the ceiling ``min(max_s, base_s * factor**i)``; with
``jitter`` j in [0, 1] the delay is drawn uniformly from ``[ceiling * (1 - j), ceiling]`` (j = 1:
"full jitter", so many senders retrying at once spread out; j = 0: fixed delays). There are at
most ``max_attempts - 1`` retries, and none starts later than ``give_up_after_s`` after the
first attempt. ``retry`` runs an attempt function on that schedule and reports a ``SendResult``.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .config import DeliveryConfig
from .core import SendResult

Verdict = Literal["ok", "retry", "fatal"]


@dataclass(frozen=True)
class Attempt:
    """How one attempt went: ``ok``, ``retry`` (transient) or ``fatal`` (retrying cannot help)."""

    verdict: Verdict
    detail: str = ""


@dataclass(frozen=True)
class Backoff:
    """The retry bounds (see the module docstring)."""

    max_attempts: int = 5
    base_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0
    jitter: float = 1.0
    give_up_after_s: float = 120.0

    @classmethod
    def from_config(cls, cfg: DeliveryConfig) -> Backoff:
        return cls(cfg.max_attempts, cfg.backoff_base_s, cfg.backoff_factor, cfg.backoff_max_s,
                   cfg.backoff_jitter, cfg.give_up_after_s)


def ceilings(policy: Backoff) -> list[float]:
    """The delay ceiling before each retry, exponential and capped at ``max_s``."""
    return [min(policy.max_s, policy.base_s * policy.factor ** i) for i in range(policy.max_attempts - 1)]


def schedule(policy: Backoff, rng: random.Random | None = None) -> list[float]:
    """Jittered delays before each retry, cut where their sum would pass ``give_up_after_s``."""
    draw = rng or random.Random()
    delays: list[float] = []
    total = 0.0
    for ceiling in ceilings(policy):
        delay = ceiling * (1.0 - policy.jitter * draw.random())
        if total + delay > policy.give_up_after_s:
            break
        delays.append(delay)
        total += delay
    return delays


def classify_status(status: int) -> Verdict:
    """An HTTP status as a verdict: 2xx ok; 408, 425, 429 and 5xx transient; other codes fatal."""
    if 200 <= status < 300:
        return "ok"
    if status >= 500 or status in (408, 425, 429):
        return "retry"
    return "fatal"


def retry(attempt: Callable[[int], Attempt], delays: list[float],
          sleep: Callable[[float], object] = time.sleep,
          clock: Callable[[], float] = time.monotonic, give_up_after_s: float = float("inf")) -> SendResult:
    """Call ``attempt(n)`` (n = 1, 2, ...) until ok, fatal, out of delays or past the deadline.

    ``sleep`` returning True means "stop now" (e.g. ``threading.Event.wait``): the send fails.
    """
    start = clock()
    for n in range(1, len(delays) + 2):
        result = attempt(n)
        if result.verdict == "ok":
            return SendResult("sent", result.detail, n)
        if result.verdict == "fatal":
            return SendResult("failed", f"not retried: {result.detail}", n)
        if n > len(delays) or clock() - start + delays[n - 1] > give_up_after_s:
            return SendResult("failed", f"gave up after {n} attempt(s): {result.detail}", n)
        if sleep(delays[n - 1]) is True:
            return SendResult("failed", f"stopped during retries after {n} attempt(s): {result.detail}", n)
    raise AssertionError("unreachable: the loop returns on its last attempt")
