"""Privacy and policy on whole journeys: consent, holdout, erasure, quiet hours, identity, bots."""
from __future__ import annotations

from test_triggers import CFG, T0, WINDOW, NextItemScorer, consent, of_type, run

from udfs.engine_config import HOUR_MS, EngineConfig
from udfs.journey import Journey
from udfs.replay import replay
from udfs.scoring import NullScorer
from udfs.state import UserState
from udfs.triggers import TriggerEngine


def shopping(user: str | None = "u1", anon: str = "anon-1", personalization: bool | None = None,
             start: int = T0) -> Journey:
    """Views a pricey category three times and leaves a cart: every trigger type has a reason to fire."""
    j = Journey(user_id=user, anonymous_id=anon, start_ms=start, personalization=personalization)
    for i in range(3):
        j.view(f"tv-{i}", "tv", 900.0)
    return j.add("tv-1", "tv", 900.0)


def test_without_consent_nothing_is_emitted_or_cached() -> None:
    j = shopping()
    assert run(j.events, consents=[]).triggers == []
    assert run(j.events, consents=[consent(email=False, push=False, personalization=False)]).triggers == []
    engine, state = TriggerEngine(CFG), None
    for e in j.events:
        d = engine.on_event(state, e, e["event_time"], NextItemScorer())
        assert (d.triggers, d.hints, d.recommendations, d.features) == ([], None, None, None)
        state = d.state


def test_consent_limits_the_channels() -> None:
    out = run(shopping().events, consents=[consent(email=True, push=False, personalization=False)])
    assert {t["trigger_type"] for t in out.triggers} == {"abandoned_cart", "repeated_browse_offer"}
    assert all(t["channels"] == ["email"] for t in out.triggers)


def test_anonymous_shoppers_get_onsite_only_and_only_with_captured_consent() -> None:
    assert run(shopping(user=None).events, consents=[]).triggers == []
    out = run(shopping(user=None, personalization=True).events, consents=[])
    assert {t["trigger_type"] for t in out.triggers} == {"abandoned_cart", "repeated_browse_offer",
                                                         "ui_personalization"}
    assert all(t["channels"] == ["onsite"] and t["user_id"] == "anon-1" for t in out.triggers)


def test_withdrawn_consent_stops_a_pending_abandonment_and_clears_the_cache() -> None:
    engine = TriggerEngine(CFG)
    state = engine.on_consent(None, consent()).state
    for e in shopping().events:
        state = engine.on_event(state, e, e["event_time"], NullScorer()).state
    withdrawn = engine.on_consent(state, {**consent(email=False, push=False, personalization=False),
                                          "updated_at": T0 + 60_000})
    assert withdrawn.clear_cache
    assert state is not None and state.abandon_deadline is not None
    fired = engine.on_timer(state, state.abandon_deadline, NullScorer())
    assert fired.triggers == [] and ("abandoned_cart", "no_consent") in fired.blocked
    stale = engine.on_consent(state, consent())  # older than the withdrawal: ignored
    assert stale.state is not None and stale.state.consent is not None and not stale.state.consent.email


def test_holdout_triggers_are_flagged_and_contact_nobody() -> None:
    cfg = EngineConfig(holdout_pct=100.0)
    out = run(shopping().events, cfg)
    assert {t["trigger_type"] for t in out.triggers} == {"abandoned_cart", "repeated_browse_offer",
                                                         "ui_personalization"}
    assert all(t["holdout"] and t["channels"] == [] for t in out.triggers)
    engine, state = TriggerEngine(cfg), TriggerEngine(cfg).on_consent(None, consent()).state
    for e in shopping().events:
        d = engine.on_event(state, e, e["event_time"], NextItemScorer())
        assert d.hints is None and d.recommendations is None and d.features is None
        state = d.state


def test_frequency_cap_holds_across_trigger_types() -> None:
    cfg = EngineConfig(holdout_pct=0.0, frequency_cap=1)
    out = run(shopping().events, cfg)
    assert [t["trigger_type"] for t in out.triggers if t["trigger_type"] != "ui_personalization"] == [
        "repeated_browse_offer"]
    assert ("u1", "abandoned_cart", "frequency_cap") in out.blocked


def test_erasure_wipes_the_state_and_nothing_fires_afterwards() -> None:
    j = shopping()
    erase_at = j.events[-1]["event_time"] + 1
    request = {"request_id": "r1", "user_id": "u1", "anonymous_ids": ["anon-1"], "requested_at": erase_at}
    j.wait(minutes=5)
    after = shopping(start=j.now).events
    out = run(j.events + after, erasures=[request])
    assert of_type(out, "abandoned_cart") == [] and all(b[1] != "abandoned_cart" for b in out.blocked)
    assert all(t["event_time"] < erase_at for t in out.triggers)
    assert out.state("u1") == UserState(key="u1", erased_at=erase_at)
    assert out.state("anon-1") == UserState(key="anon-1", erased_at=erase_at)


def test_erase_deletes_the_pending_timer_and_a_newer_consent_starts_afresh() -> None:
    engine = TriggerEngine(CFG)
    state = engine.on_consent(None, consent()).state
    for e in shopping().events:
        state = engine.on_event(state, e, e["event_time"], NullScorer()).state
    assert state is not None and state.timer is not None
    erased = engine.erase(state, "u1", T0 + HOUR_MS)
    assert erased.delete_timers == [state.timer] and erased.clear_cache
    assert engine.on_consent(erased.state, consent()).state == erased.state  # older consent: still erased
    revived = engine.on_consent(erased.state, {**consent(), "updated_at": T0 + 2 * HOUR_MS}).state
    assert revived is not None and revived.erased_at is None and revived.consent is not None


def test_quiet_hours_drop_outbound_channels_in_the_users_zone() -> None:
    late = T0 + 10 * HOUR_MS + 30 * 60_000  # 20:30 UTC = 21:30 in Berlin
    berlin = {"user_id": "u1", "timezone": "Europe/Berlin", "updated_at": T0}
    j = Journey(user_id="u1", start_ms=late - WINDOW).add("p1", "shoes", 80.0)
    [trig] = of_type(run(j.events, profiles=[berlin]), "abandoned_cart")
    assert trig["channels"] == ["onsite"] and "email,push dropped in quiet hours" in trig["rule"]
    [utc] = of_type(run(j.events), "abandoned_cart")  # 20:30 UTC is before 21:00 UTC
    assert utc["channels"] == ["email", "push", "onsite"]
    email_only = run(j.events, profiles=[berlin], consents=[consent(push=False, personalization=False)])
    assert email_only.triggers == [] and ("u1", "abandoned_cart", "quiet_hours") in email_only.blocked


def test_login_merge_carries_the_anonymous_cart_over_to_the_user() -> None:
    j = Journey(user_id=None, anonymous_id="dev-7", start_ms=T0, personalization=True)
    j.view("p1", "shoes", 80.0).add("p1", "shoes", 80.0, quantity=2).login("u1")
    out = run(j.events)
    [trig] = of_type(out, "abandoned_cart")
    assert trig["user_id"] == "u1" and trig["channels"] == ["email", "push", "onsite"]
    assert trig["cart"] == [{"product_id": "p1", "quantity": 2, "price": 80.0, "category": "shoes"}]
    assert trig["event_time"] == j.events[-1]["event_time"] + WINDOW
    assert trig["features"]["count_product_view"] == 1 and trig["features"]["count_login"] == 1
    assert out.state("dev-7") is None


def test_bot_sessions_trigger_nothing_once_there_is_evidence() -> None:
    j = Journey(user_id="u1", start_ms=T0, step_ms=300, jitter=False)
    for i in range(CFG.bot_min_gaps):  # the score abstains until it has bot_min_gaps gaps
        j.view(f"sock-{i}", "socks", 5.0)
    for i in range(3):
        j.view(f"tv-{i}", "tv", 900.0)
    j.add("tv-1", "tv", 900.0)
    out = run(j.events)
    assert of_type(out, "abandoned_cart") == [] and of_type(out, "repeated_browse_offer") == []
    assert ("u1", "abandoned_cart", "bot") in out.blocked


def test_a_replay_of_events_after_erasure_rebuilds_nothing() -> None:
    engine = TriggerEngine(CFG)
    tomb = engine.erase(None, "u1", T0).state
    for e in shopping(start=T0 + 1).events:
        d = engine.on_event(tomb, e, e["event_time"], NullScorer())
        assert d.triggers == [] and d.state == UserState(key="u1", erased_at=T0)
    assert replay([], engine, erasures=[{"user_id": "u1", "requested_at": T0}]).state("u1") == tomb
