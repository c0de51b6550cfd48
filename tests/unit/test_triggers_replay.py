"""Determinism: replays, out-of-order arrival within the watermark bound, live timer races."""
from __future__ import annotations

import random

from test_triggers import CFG, T0, WINDOW, NextItemScorer, consent, of_type, run

from udfs.engine_config import MINUTE_MS
from udfs.journey import Journey
from udfs.scoring import NullScorer
from udfs.triggers import TriggerEngine

BOUND = 5_000


def population() -> tuple[list[dict], list[dict]]:
    """Twelve shoppers with overlapping journeys, and the consent records of the known ones."""
    events: list[dict] = []
    consents = []
    for n in range(12):
        user = f"u{n}" if n % 4 else None
        j = Journey(user_id=user, anonymous_id=f"dev-{n}", start_ms=T0 + n * 7_000, step_ms=4_000,
                    personalization=True)
        for i in range(3):
            j.view(f"tv-{n}-{i}", "tv", 500.0 + 100 * i).filter("brand", f"b{i}")
        j.add(f"tv-{n}-0", "tv", 500.0)
        if n % 3 == 0:
            j.wait(minutes=5).purchase(f"o{n}")
        elif n % 4 == 0:
            j.wait(minutes=2).login(f"u{n}")
            consents.append(consent(f"u{n}"))
        if user:
            consents.append(consent(user))
        events += j.events
    return sorted(events, key=lambda e: e["event_time"]), consents


def test_replaying_the_same_events_gives_identical_triggers() -> None:
    events, consents = population()
    first = run(events, consents=consents, scorer=NextItemScorer())
    again = run(events, consents=consents, scorer=NextItemScorer())
    assert {t["trigger_type"] for t in first.triggers} == {"abandoned_cart", "repeated_browse_offer",
                                                          "ui_personalization"}
    assert first.triggers == again.triggers
    assert len({t["trigger_id"] for t in first.triggers}) == len(first.triggers)


def test_arrival_shuffled_within_the_bound_gives_the_same_triggers() -> None:
    events, consents = population()
    ordered = run(events, consents=consents, out_of_orderness_ms=BOUND)
    for seed in range(5):
        rng = random.Random(seed)
        arrival = sorted(events, key=lambda e: e["event_time"] + rng.uniform(0, BOUND))
        assert arrival != events
        shuffled = run(arrival, consents=consents, out_of_orderness_ms=BOUND)
        assert shuffled.late == [] and shuffled.triggers == ordered.triggers


def test_events_behind_the_watermark_are_late_and_counted() -> None:
    j = Journey(user_id="u1", start_ms=T0).add("p1", "shoes", 80.0).wait(seconds=20).page()
    straggler = Journey(user_id="u1", start_ms=T0 + 1_000).purchase().events[0]
    out = run(j.events + [straggler], out_of_orderness_ms=BOUND)
    assert out.late == [straggler]
    assert len(of_type(out, "abandoned_cart")) == 1  # the late purchase did not cancel it


def test_an_event_beyond_the_deadline_fires_the_abandonment_first() -> None:
    """Live, the next event can reach the operator before the watermark fires the timer."""
    j = Journey(user_id="u1", start_ms=T0).add("p1", "shoes", 80.0).wait(WINDOW + 5 * MINUTE_MS).purchase()
    engine = TriggerEngine(CFG)
    state = engine.on_consent(None, consent()).state
    added = engine.on_event(state, j.events[0], T0, NullScorer())
    [timer] = added.register_timers
    bought = engine.on_event(added.state, j.events[1], T0 + 99, NullScorer())
    [live] = [t for t in bought.triggers if t["trigger_type"] == "abandoned_cart"]
    [replayed] = of_type(run(j.events), "abandoned_cart")
    assert live["event_time"] == timer == T0 + WINDOW and live["emitted_at"] == T0 + 99
    assert {**live, "emitted_at": 0} == {**replayed, "emitted_at": 0}
    assert bought.state is not None
    assert engine.on_timer(bought.state, timer, NullScorer()).triggers == []  # the late timer finds nothing


def test_a_key_never_holds_more_than_one_timer() -> None:
    j = Journey(user_id="u1", start_ms=T0, step_ms=45_000)
    for i in range(60):
        j.view(f"p{i}", "shoes", 50.0)
        if i % 10 == 0:
            j.add(f"p{i}", "shoes", 50.0)
    engine, registered, registrations = TriggerEngine(CFG), set[int](), 0
    state = engine.on_consent(None, consent()).state
    assert state is not None
    for e in j.events:
        while registered and min(registered) < e["event_time"]:
            due = min(registered)
            registered.discard(due)
            d = engine.on_timer(state, due, NullScorer())
            registered = (registered - set(d.delete_timers)) | set(d.register_timers)
            assert d.state is not None
            state = d.state
        d = engine.on_event(state, e, e["event_time"], NullScorer())
        registered = (registered - set(d.delete_timers)) | set(d.register_timers)
        registrations += len(d.register_timers)
        assert d.state is not None
        state = d.state
        assert len(registered) <= 1
    assert registrations <= 3  # re-armed only as the deadline runs out, not on every event


def test_events_with_the_same_time_are_ordered_by_id_not_by_arrival() -> None:
    j = Journey(user_id="u1", start_ms=T0, step_ms=0).add("p1", "shoes", 80.0).add("p2", "bags", 30.0)
    j.events[1]["cart"] = [j.events[1]["cart"][1]]  # two snapshots in the same ms: the later one wins
    forward, backward = run(j.events), run(j.events[::-1])
    assert of_type(forward, "abandoned_cart") and forward.triggers == backward.triggers


def test_a_processing_time_fallback_at_next_wakeup_fires_the_same_trigger() -> None:
    """An idle stream stalls the watermark; the wrapper may fire at next_wakeup on the wall clock."""
    j = Journey(user_id="u1", start_ms=T0).view("p1", "shoes", 80.0).add("p1", "shoes", 80.0)
    engine = TriggerEngine(CFG)
    state = engine.on_consent(None, consent()).state
    for e in j.events:
        state = engine.on_event(state, e, e["event_time"], NullScorer()).state
    assert state is not None
    wake = engine.next_wakeup(state)
    assert wake == j.events[-1]["event_time"] + WINDOW
    [fallback] = engine.on_timer(state, wake, NullScorer(), now_ms=wake + 300).triggers
    [replayed] = of_type(run(j.events), "abandoned_cart")
    assert {**fallback, "emitted_at": 0} == {**replayed, "emitted_at": 0}
