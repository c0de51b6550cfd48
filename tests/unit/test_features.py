"""Sessionization and the feature map: what each feature means, in event time."""
from __future__ import annotations

import pytest

from udfs.engine_config import DAY_MS, HOUR_MS, MINUTE_MS, EngineConfig
from udfs.features import features, rate_features
from udfs.journey import Journey
from udfs.replay import replay
from udfs.sessionize import apply_event, bump_affinity
from udfs.state import UserState
from udfs.triggers import TriggerEngine

T0 = 1_709_632_800_000  # 2024-03-05 10:00 UTC
CFG = EngineConfig(holdout_pct=0.0)


def state_after(events: list[dict], cfg: EngineConfig = CFG, until_ms: int | None = None,
                profiles: tuple = ()) -> UserState:
    """The state of the events' key with the watermark at ``until_ms`` (default: the last event)."""
    until = events[-1]["event_time"] if until_ms is None else until_ms
    out = replay(events, TriggerEngine(cfg), until_ms=until, roundtrip=False, profiles=profiles)
    key = events[0]["user_id"] or events[0]["anonymous_id"]
    state = out.state(key)
    assert state is not None
    return state


def test_a_gap_longer_than_the_configured_one_starts_a_new_session() -> None:
    j = Journey(user_id="u1", start_ms=T0).page().wait(minutes=29).page()
    assert state_after(j.events).visits == [T0]
    j.wait(minutes=31).page()
    second_start = j.events[-1]["event_time"]
    state = state_after(j.events)
    assert state.visits == [T0, second_start]
    assert state.session is not None and state.session.start == second_start
    assert state.prev_end == j.events[-2]["event_time"]
    short = EngineConfig(session_gap_ms=5 * MINUTE_MS, holdout_pct=0.0)
    assert len(state_after(j.events, short).visits) == 3


def test_session_counts_distinct_products_filters_and_cart() -> None:
    j = Journey(user_id="u1", start_ms=T0)
    j.view("p1", "a", 10.0).view("p2", "a", 20.0).view("p1", "a", 10.0)
    j.filter("color", "red").filter("color", "red").filter("size", "m")
    j.add("p1", "a", 10.0, quantity=2).add("p2", "a", 20.0).remove("p2")
    f = features(state_after(j.events), j.events[-1]["event_time"])
    assert f["count_product_view"] == 3 and f["count_filter_applied"] == 3 and f["count_add_to_cart"] == 2
    assert f["count_remove_from_cart"] == 1 and f["count_purchase"] == 0 and f["session_events"] == 9
    assert f["products_viewed"] == 2 and f["filters_applied"] == 2
    assert (f["cart_lines"], f["cart_items"], f["cart_value"]) == (1, 2, 20.0)
    assert f["session_duration_s"] == (j.events[-1]["event_time"] - T0) / 1000
    assert f["abandon_pending"] == 1 and f["cart_abandoned"] == 0


def test_cart_without_snapshots_follows_product_and_quantity() -> None:
    state = UserState(key="u1")
    j = Journey(user_id="u1", start_ms=T0)
    product = Journey.product("p1", "a", 12.5)
    j.event("add_to_cart", product=product, quantity=3).event("remove_from_cart", product=product, quantity=1)
    for e in j.events:
        apply_event(state, e, CFG)
    assert [(ln.product_id, ln.quantity, ln.price) for ln in state.cart] == [("p1", 2, 12.5)]
    j.event("remove_from_cart", product=product, quantity=2)
    apply_event(state, j.events[-1], CFG)
    assert state.cart == [] and state.abandon_deadline is None


def test_abandonment_flags_follow_the_deadline() -> None:
    j = Journey(user_id="u1", start_ms=T0).add("p1", "a", 10.0)
    deadline = T0 + CFG.abandon_window_ms
    before = features(state_after(j.events, until_ms=deadline - 1), deadline - 1)
    after = features(state_after(j.events, until_ms=deadline), deadline)
    assert (before["abandon_pending"], before["cart_abandoned"]) == (1, 0)
    assert (after["abandon_pending"], after["cart_abandoned"]) == (0, 1)


def test_visits_in_the_last_seven_days_slide_and_recency_is_measured_from_the_last_visit() -> None:
    j = Journey(user_id="u1", start_ms=T0).page()
    j.wait(hours=2 * 24).page().wait(hours=4 * 24).page()
    last = j.events[-1]["event_time"]
    j.wait(hours=24 + 1).add("p1", "a", 10.0).purchase()
    now = j.events[-1]["event_time"]
    f = features(state_after(j.events), now)
    assert f["visits_7d"] == 3  # the first visit is more than 7 days before now
    assert f["since_last_visit_s"] == (now - last) / 1000
    assert f["since_last_purchase_s"] == 0
    fresh = features(state_after(Journey(user_id="u2", start_ms=T0).page().events), T0)
    assert fresh["since_last_visit_s"] == -1 and fresh["since_last_purchase_s"] == -1


def test_visit_days_count_local_dates_of_the_profile_time_zone() -> None:
    j = Journey(user_id="u1", start_ms=T0 + 13 * HOUR_MS).page()  # 23:00 UTC
    j.wait(minutes=90).page()  # 00:30 UTC next day: 08:00 and 09:30 in Tokyo
    now = j.events[-1]["event_time"]
    utc = features(state_after(j.events), now)
    tokyo_profile = {"user_id": "u1", "timezone": "Asia/Tokyo", "updated_at": T0}
    tokyo = features(state_after(j.events, profiles=(tokyo_profile,)), now)
    assert utc["visits_7d"] == tokyo["visits_7d"] == 2
    assert (utc["visit_days_7d"], tokyo["visit_days_7d"]) == (2, 1)


def test_affinity_decays_by_half_life_and_weights_by_event_type() -> None:
    j = Journey(user_id="u1", start_ms=T0).view("p1", "shoes", 50.0)
    j.wait(CFG.affinity_half_life_ms - j.step_ms).add("p1", "shoes", 50.0)
    t = j.events[-1]["event_time"]
    f = features(state_after(j.events), t)
    assert f["affinity:shoes"] == pytest.approx(1.0 * 0.5 ** ((t - T0) / CFG.affinity_half_life_ms) + 3.0)
    later = features(state_after(j.events), t + CFG.affinity_half_life_ms)
    assert later["top_affinity"] == pytest.approx(f["top_affinity"] / 2)


def test_affinity_top_k_admits_a_new_category_over_the_weakest() -> None:
    cfg = EngineConfig(affinity_top_k=2)
    state = UserState(key="u1", affinity_at=T0)
    for category, weight in (("a", 5.0), ("b", 2.0), ("c", 1.0)):
        bump_affinity(state, category, weight, T0, cfg)
    assert state.affinity == {"a": 5.0, "c": 3.0}  # c replaced b and inherited its count


def metronome(user: str, n: int, gap_ms: int) -> list[dict]:
    j = Journey(user_id=user, start_ms=T0, step_ms=gap_ms, jitter=False)
    for i in range(n):
        j.view(f"p{i}", "a", 10.0)
    return j.events


def test_bot_score_flags_fast_and_machine_regular_sessions_not_people() -> None:
    jittery = Journey(user_id="bot1", start_ms=T0, step_ms=150)
    for i in range(20):
        jittery.view(f"p{i}", "a", 10.0)
    fast = rate_features(state_after(jittery.events), CFG)
    regular = rate_features(state_after(metronome("bot2", 20, 4_000)), CFG)
    j = Journey(user_id="human", start_ms=T0, step_ms=20_000)
    for i in range(20):
        j.view(f"p{i}", "a", 10.0)
    human = rate_features(state_after(j.events), CFG)
    assert fast["bot_score"] >= CFG.bot_threshold and fast["gap_median_s"] < 0.2
    assert fast["gap_iqr_s"] / fast["gap_median_s"] > CFG.bot_regular_cv  # irregular, but too fast
    assert regular["bot_score"] >= CFG.bot_threshold and regular["gap_iqr_s"] == 0
    assert human["bot_score"] < 0.5 and human["gap_iqr_s"] > 0
    few = rate_features(state_after(metronome("short", CFG.bot_min_gaps, 150)), CFG)
    assert few["bot_score"] == 0  # too few gaps to judge


def test_rate_z_compares_the_session_with_the_users_past_sessions() -> None:
    j = Journey(user_id="u1", start_ms=T0, step_ms=60_000)
    for day in range(5):
        for i in range(5 + day % 2):
            j.view(f"p{day}{i}", "a", 10.0)
        j.wait(hours=24)
    j.step_ms = 3_000
    for i in range(40):
        j.view(f"q{i}", "a", 10.0)
    f = rate_features(state_after(j.events), CFG)
    assert f["rate_z"] > 2 * CFG.bot_rate_z and f["bot_score"] == 1.0
    assert f["event_rate_per_min"] > 10


def test_the_same_events_in_the_same_order_give_the_same_features() -> None:
    j = Journey(user_id="u1", start_ms=T0, personalization=True)
    j.view("p1", "a", 120.0).filter("c", "x").add("p1", "a", 120.0).wait(hours=3).view("p2", "b", 30.0)
    now = j.events[-1]["event_time"] + DAY_MS
    first = features(state_after(j.events), now)
    again = features(state_after(list(j.events)), now)
    assert first == again and first["visits_7d"] == 2
