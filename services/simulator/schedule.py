"""The simulation plan as a pure, seeded stream: shoppers arrive, their events merge in event time.

``schedule(plan)`` yields ``Emission``s (an event, its shopper, its index in the shopper's
script) in event-time order over every active shopper; nothing here reads a clock, so the same
plan gives the same events byte for byte. Shoppers arrive one after another: after a shopper
with ``n`` events the next one comes an exponential gap with mean ``n / rate`` later, so the
long-run event rate is ``rate`` events per event-time second whatever the persona mix.
Personas follow the mix by smooth weighted round robin (exact shares, well interleaved), and
each shopper's script has its own random source (seed and index), independent of the others.
"""
from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.simulator.personas import Catalogue, Thresholds, events_for, outcome
from udfs.journey import Journey

DEVICES = ("desktop", "desktop", "mobile", "mobile", "tablet")


@dataclass(frozen=True)
class Plan:
    """What to simulate: ``rate`` is in events per event-time second."""

    seed: int
    start_ms: int
    rate: float
    mix: Mapping[str, float]
    max_shoppers: int | None = 100
    arrivals_until_ms: int | None = None
    decline_share: float = 0.0
    thresholds: Thresholds = field(default_factory=Thresholds)
    shop: Catalogue | None = None  # the products personas view (None: a synthetic catalogue)

    def run_tag(self) -> str:
        """Six hex digits of (seed, start): ids differ between runs unless both are the same."""
        return hashlib.sha256(f"{self.seed}|{self.start_ms}".encode()).hexdigest()[:6]


@dataclass(frozen=True)
class Shopper:
    """One simulated shopper, its script and the triggers it should and should not earn."""

    idx: int
    persona: str
    declined: bool
    events: list[dict[str, Any]]
    expected: frozenset[str]
    forbidden: frozenset[str]

    @property
    def key(self) -> str:
        """The id the job keys the shopper by (and triggers carry): user id, else anonymous id."""
        first = self.events[0]
        return str(first["user_id"] or first["anonymous_id"])

    @property
    def anonymous_id(self) -> str:
        return str(self.events[0]["anonymous_id"])


@dataclass(frozen=True)
class Emission:
    """An event due at ``event["event_time"]``; ``index`` is its place in the shopper's script."""

    event: dict[str, Any]
    shopper: Shopper
    index: int

    @property
    def first(self) -> bool:
        return self.index == 0

    @property
    def last(self) -> bool:
        return self.index == len(self.shopper.events) - 1


def persona_order(mix: Mapping[str, float]) -> Iterator[str]:
    """Smooth weighted round robin: after n picks each persona has n*share picks, within one."""
    weights = {name: w for name, w in sorted(mix.items()) if w > 0}
    total = sum(weights.values())
    current = dict.fromkeys(weights, 0.0)
    while True:
        for name, w in weights.items():
            current[name] += w
        pick = max(current, key=lambda n: (current[n], n))
        current[pick] -= total
        yield pick


def make_shopper(plan: Plan, idx: int, persona: str, start_ms: int) -> Shopper:
    """Shopper ``idx`` of ``persona`` starting at ``start_ms``: ids, device, consent and script."""
    rng = random.Random(f"{plan.seed}:{idx}")
    tag = plan.run_tag()
    declined = persona != "bot" and rng.random() < plan.decline_share
    signed_in = persona != "bot" and idx % 3 != 0
    journey = Journey(user_id=f"u_{tag}{idx:026x}" if signed_in else None, anonymous_id=f"anon-{tag}-{idx}",
                      start_ms=start_ms, step_ms=0, session_id=f"s-{tag}-{idx}", personalization=not declined,
                      channel="web" if persona == "bot" or rng.random() < 0.7 else "app", jitter=False)
    events = events_for(persona, journey, rng, plan.thresholds, plan.shop)
    device = None if persona == "bot" else rng.choice(DEVICES)
    for event in events:
        event["device"] = device
    expected, forbidden = outcome(persona, declined)
    return Shopper(idx, persona, declined, events, expected, forbidden)


def shoppers(plan: Plan) -> Iterator[Shopper]:
    """Shoppers in arrival order until ``max_shoppers`` or ``arrivals_until_ms``."""
    rng = random.Random(f"{plan.seed}:arrivals")
    at = plan.start_ms
    for idx, persona in enumerate(persona_order(plan.mix)):
        if plan.max_shoppers is not None and idx >= plan.max_shoppers:
            return
        if plan.arrivals_until_ms is not None and at >= plan.arrivals_until_ms:
            return
        shopper = make_shopper(plan, idx, persona, at)
        yield shopper
        at += int(rng.expovariate(1.0) * len(shopper.events) * 1000 / plan.rate)


def schedule(plan: Plan) -> Iterator[Emission]:
    """Every shopper's events merged in event-time order (ties: shopper index, then script order)."""
    heap: list[tuple[int, int, int, Shopper]] = []
    arrivals = shoppers(plan)
    upcoming = next(arrivals, None)
    while heap or upcoming is not None:
        if upcoming is not None and (not heap or upcoming.events[0]["event_time"] <= heap[0][0]):
            heapq.heappush(heap, (upcoming.events[0]["event_time"], upcoming.idx, 0, upcoming))
            upcoming = next(arrivals, None)
            continue
        _, idx, i, shopper = heapq.heappop(heap)
        yield Emission(shopper.events[i], shopper, i)
        if i + 1 < len(shopper.events):
            heapq.heappush(heap, (shopper.events[i + 1]["event_time"], idx, i + 1, shopper))
