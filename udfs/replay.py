"""A pure event-time driver of ``TriggerEngine``: what the Flink job does, without Flink.

``replay(events, engine, ...)`` takes events in arrival order, advances a bounded-out-of-order
watermark (``max event time - out_of_orderness_ms - 1``, as Flink's strategy), releases events
in event-time order once the watermark passes them, and fires each key's timers as the watermark
passes them: the engine sees per key what the job's watermark sorter and timers give it. Events
arriving behind the watermark are late: counted in ``late``, not applied. Profiles, consents and
erasures join the timeline at their ``updated_at`` / ``requested_at``. A login event carrying
both ids first merges the anonymous key's state into the user's.

Ties are broken by (event_id, event_type, key), never by arrival, so any arrival order within
the bound gives the same triggers, ids included. ``now_ms`` given to the engine is the event or
timer time, so a replay is reproducible to the byte. With ``roundtrip`` (default) every state is
stored as ``to_bytes()`` between calls, as Flink keyed state does.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from udfs.scoring import NullScorer, SessionScorer
from udfs.state import UserState
from udfs.triggers import Decision, TriggerEngine

_CONTROL, _EVENT, _TIMER = 0, 1, 2
_FOREVER = 2**62


@dataclass
class ReplayResult:
    triggers: list[dict[str, Any]] = field(default_factory=list)
    states: dict[str, bytes | UserState] = field(default_factory=dict)
    late: list[dict[str, Any]] = field(default_factory=list)
    blocked: list[tuple[str, str, str]] = field(default_factory=list)
    timers_fired: int = 0

    def state(self, key: str) -> UserState | None:
        raw = self.states.get(key)
        return UserState.from_bytes(raw) if isinstance(raw, bytes) else raw


def event_key(event: dict[str, Any]) -> str:
    return event.get("user_id") or event["anonymous_id"]


class _Driver:
    def __init__(self, engine: TriggerEngine, scorer: SessionScorer, roundtrip: bool) -> None:
        self.engine, self.scorer, self.roundtrip = engine, scorer, roundtrip
        self.out = ReplayResult()
        self.heap: list[tuple[Any, ...]] = []
        self.timers: dict[str, set[int]] = {}
        self.seq = 0

    def push(self, t: int, kind: int, tie: tuple[str, ...], item: Any) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, kind, tie, self.seq, item))

    def load(self, key: str) -> UserState | None:
        return self.out.state(key)

    def apply(self, key: str, d: Decision) -> None:
        if d.state is None:
            self.out.states.pop(key, None)
        else:
            self.out.states[key] = d.state.to_bytes() if self.roundtrip else d.state
        keyed = self.timers.setdefault(key, set())
        keyed.difference_update(d.delete_timers)
        for t in d.register_timers:
            if t not in keyed:
                keyed.add(t)
                self.push(t, _TIMER, (key,), key)
        self.out.triggers.extend(d.triggers)
        self.out.blocked.extend((key, kind, why) for kind, why in d.blocked)

    def run_until(self, watermark: int) -> None:
        while self.heap and self.heap[0][0] <= watermark:
            t, kind, _, _, item = heapq.heappop(self.heap)
            if kind == _TIMER:
                self._timer(item, t)
            elif kind == _EVENT:
                self._event(item, t)
            else:
                item(t)

    def _timer(self, key: str, t: int) -> None:
        keyed = self.timers.get(key, set())
        state = self.load(key)
        if t not in keyed or state is None:
            return
        keyed.discard(t)
        self.out.timers_fired += 1
        self.apply(key, self.engine.on_timer(state, t, self.scorer, t))

    def _event(self, event: dict[str, Any], t: int) -> None:
        key, anon = event_key(event), event["anonymous_id"]
        if event["event_type"] == "login" and event.get("user_id") and anon != key:
            anon_state = self.load(anon)
            if anon_state is not None:
                du, da = self.engine.merge(self.load(key), anon_state, key)
                self.apply(key, du)
                self.apply(anon, da)
        self.apply(key, self.engine.on_event(self.load(key), event, t, self.scorer))


def _controls(driver: _Driver, profiles: Iterable[dict[str, Any]], consents: Iterable[dict[str, Any]],
              erasures: Iterable[dict[str, Any]]) -> None:
    e, d = driver.engine, driver
    for p in profiles:
        d.push(p["updated_at"], _CONTROL, ("p", p["user_id"]),
               lambda t, p=p: d.apply(p["user_id"], e.on_profile(d.load(p["user_id"]), p)))
    for c in consents:
        d.push(c["updated_at"], _CONTROL, ("c", c["user_id"]),
               lambda t, c=c: d.apply(c["user_id"], e.on_consent(d.load(c["user_id"]), c)))
    for r in erasures:
        for key in [r["user_id"], *r.get("anonymous_ids", [])]:
            d.push(r["requested_at"], _CONTROL, ("e", key),
                   lambda t, k=key, r=r: d.apply(k, e.erase(d.load(k), k, r["requested_at"])))


def replay(events: Iterable[dict[str, Any]], engine: TriggerEngine, scorer: SessionScorer | None = None, *,
           out_of_orderness_ms: int = 0, profiles: Iterable[dict[str, Any]] = (),
           consents: Iterable[dict[str, Any]] = (), erasures: Iterable[dict[str, Any]] = (),
           until_ms: int | None = None, roundtrip: bool = True) -> ReplayResult:
    """Run ``events`` (arrival order) through ``engine``; at the end the watermark goes to ``until_ms``
    (default: past every deadline, so pending abandonments fire)."""
    driver = _Driver(engine, scorer if scorer is not None else NullScorer(), roundtrip)
    _controls(driver, profiles, consents, erasures)
    watermark = -_FOREVER
    for event in events:
        t = event["event_time"]
        if t <= watermark:
            driver.out.late.append(event)
            continue
        tie = (event.get("event_id") or "", event["event_type"], event_key(event))
        driver.push(t, _EVENT, tie, event)
        watermark = max(watermark, t - out_of_orderness_ms - 1)
        driver.run_until(watermark)
    driver.run_until(_FOREVER if until_ms is None else until_ms)
    return driver.out
