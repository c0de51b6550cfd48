"""Trigger rules on scripted journeys in event time: abandoned cart, repeated browse, UI hints."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from udfs.avro_codec import registry
from udfs.engine_config import DAY_MS, HOUR_MS, MINUTE_MS, EngineConfig
from udfs.fast_avro import encoder as fast_encoder
from udfs.journey import Journey
from udfs.replay import ReplayResult, replay
from udfs.scoring import SessionScores
from udfs.triggers import TriggerEngine

T0 = 1_709_632_800_000  # 2024-03-05 10:00 UTC, outside quiet hours
CFG = EngineConfig(holdout_pct=0.0)
WINDOW = CFG.abandon_window_ms


def consent(user: str = "u1", email: bool = True, push: bool = True, personalization: bool = True) -> dict:
    return {"user_id": user, "email": email, "push": push, "personalization": personalization,
            "analytics": False, "source": "cmp", "updated_at": T0 - 1}


def run(events: list[dict], cfg: EngineConfig = CFG, **kw: Any) -> ReplayResult:
    kw.setdefault("consents", [consent()])
    out = replay(events, TriggerEngine(cfg), **kw)
    for trig in out.triggers:  # the codec raises if a trigger does not fit trigger.avsc
        assert fast_encoder("trigger")(trig) == registry().encode("trigger", trig)  # the job's encoder, same bytes
    return out


def of_type(out: ReplayResult, trigger_type: str) -> list[dict]:
    return [t for t in out.triggers if t["trigger_type"] == trigger_type]


class NextItemScorer:
    """Recommends the items that followed the session's last item in a fixed co-view table."""

    TABLE = {"p1": ("p1", "p7", "p2", "p8"), "p2": ("p2", "p9")}

    def score(self, steps: Sequence[Mapping[str, Any]]) -> SessionScores | None:
        last = steps[-1]["item_id"]
        risk = min(1.0, len(steps) / 10)
        return SessionScores(purchase_intent=1 - risk, abandonment_risk=risk,
                             next_items=self.TABLE.get(last, ()), model_version="sasrec-test-1")


def test_cart_then_silence_fires_abandoned_cart_once_at_window_end() -> None:
    j = Journey(user_id="u1", start_ms=T0).view("p1", "shoes", 80.0).add("p1", "shoes", 80.0, quantity=2)
    deadline = j.events[-1]["event_time"] + WINDOW
    assert of_type(run(j.events, until_ms=deadline - 1), "abandoned_cart") == []
    out = run(j.events, until_ms=deadline + 10 * DAY_MS)
    [trig] = of_type(out, "abandoned_cart")
    assert trig["event_time"] == deadline and trig["emitted_at"] == deadline  # fired by the timer
    assert trig["user_id"] == "u1" and trig["channels"] == ["email", "push", "onsite"] and not trig["holdout"]
    assert trig["cart"] == [{"product_id": "p1", "quantity": 2, "price": 80.0, "category": "shoes"}]
    assert trig["cart_value"] == 160.0 and trig["currency"] == "EUR"
    assert f"abandon_window_ms={WINDOW}" in trig["rule"] and trig["features"]["cart_value"] == 160.0
    assert trig["scores"] == {} and trig["model_version"] is None and trig["recommended_items"] == []


def test_activity_with_a_cart_postpones_the_abandonment() -> None:
    j = Journey(user_id="u1", start_ms=T0).add("p1", "shoes", 80.0).wait(minutes=20).page("/help")
    [trig] = of_type(run(j.events), "abandoned_cart")
    assert trig["event_time"] == j.events[-1]["event_time"] + WINDOW


def test_purchase_or_checkout_cancels_the_abandonment() -> None:
    bought = Journey(user_id="u1", start_ms=T0).add("p1", "shoes", 80.0).wait(minutes=10).purchase()
    checkout = Journey(user_id="u1", start_ms=T0).add("p1", "shoes", 80.0).checkout()
    for j in (bought, checkout):
        out = run(j.events)
        assert of_type(out, "abandoned_cart") == []
        state = out.state("u1")
        assert state is not None and state.abandon_deadline is None and state.timer is None


def test_emptying_the_cart_cancels_the_abandonment() -> None:
    j = Journey(user_id="u1", start_ms=T0).add("p1", "shoes", 80.0).add("p2", "shoes", 20.0)
    j.remove("p1").remove("p2")
    assert of_type(run(j.events), "abandoned_cart") == []
    mid = run(j.events, until_ms=j.events[-1]["event_time"]).state("u1")
    assert mid is not None and mid.cart == [] and mid.abandon_deadline is None


def test_a_new_cart_change_rearms_but_the_cooldown_holds() -> None:
    j = Journey(user_id="u1", start_ms=T0).add("p1", "shoes", 80.0).wait(hours=2).add("p2", "bags", 30.0)
    out = run(j.events)
    assert len(of_type(out, "abandoned_cart")) == 1
    assert ("u1", "abandoned_cart", "cooldown") in out.blocked
    later = run(j.wait(hours=24).add("p3", "bags", 30.0).events)
    assert len(of_type(later, "abandoned_cart")) == 2


def test_recommendations_come_from_the_scorer_minus_cart_and_bought() -> None:
    j = Journey(user_id="u1", start_ms=T0).add("p8", "x", 5.0).purchase()
    j.wait(hours=2).view("p2", "shoes", 80.0).add("p1", "shoes", 80.0)
    [trig] = of_type(run(j.events, scorer=NextItemScorer()), "abandoned_cart")
    assert trig["recommended_items"] == ["p7", "p2"]  # p1 is in the cart, p8 was bought
    assert trig["model_version"] == "sasrec-test-1" and trig["scores"]["abandonment_risk"] == 0.2


def test_a_low_model_risk_holds_the_abandonment_back() -> None:
    j = Journey(user_id="u1", start_ms=T0).add("p1", "shoes", 80.0)
    strict = EngineConfig(holdout_pct=0.0, abandon_min_risk=0.5)
    assert of_type(run(j.events, strict, scorer=NextItemScorer()), "abandoned_cart") == []
    assert len(of_type(run(j.events, strict), "abandoned_cart")) == 1  # rules alone: no risk to check


def browse(j: Journey, category: str, prices: Sequence[float], gap_hours: float = 1) -> Journey:
    for i, price in enumerate(prices):
        j.view(f"{category}-{i}", category, price).wait(hours=gap_hours)
    return j


def test_three_views_of_a_high_priced_category_fire_one_offer() -> None:
    j = browse(Journey(user_id="u1", start_ms=T0), "furniture/sofas", [400.0, 90.0, 650.0, 900.0, 700.0])
    [offer] = of_type(run(j.events), "repeated_browse_offer")
    assert offer["event_time"] == j.events[2]["event_time"] and offer["category"] == "furniture/sofas"
    assert "median viewed price 400.00 >= browse_high_price=100.0" in offer["rule"]
    assert offer["channels"] == ["email", "push", "onsite"]


def test_no_offer_for_cheap_spread_out_or_bought_categories() -> None:
    cheap = browse(Journey(user_id="u1", start_ms=T0), "socks", [5.0, 300.0, 8.0, 9.0])
    spread = browse(Journey(user_id="u1", start_ms=T0), "tv", [900.0] * 3, gap_hours=13)
    bought = Journey(user_id="u1", start_ms=T0).add("tv-x", "tv", 900.0).purchase().wait(hours=1)
    bought = browse(bought, "tv", [900.0] * 3)
    for j in (cheap, spread, bought):
        assert of_type(run(j.events), "repeated_browse_offer") == []


def test_one_offer_per_category_per_window() -> None:
    j = browse(Journey(user_id="u1", start_ms=T0), "tv", [900.0] * 6, gap_hours=3)  # 15 h: one window
    assert len(of_type(run(j.events), "repeated_browse_offer")) == 1
    j = browse(j.wait(hours=12), "tv", [900.0] * 3)  # the first offer is now more than 24 h old
    assert len(of_type(run(j.events), "repeated_browse_offer")) == 2


def test_category_depth_groups_views_by_a_path_prefix() -> None:
    j = Journey(user_id="u1", start_ms=T0)
    for sub in ("sofas", "armchairs", "tables"):
        j.view(f"p-{sub}", f"furniture/{sub}", 500.0)
    assert of_type(run(j.events), "repeated_browse_offer") == []
    [offer] = of_type(run(j.events, EngineConfig(holdout_pct=0.0, browse_category_depth=1)),
                      "repeated_browse_offer")
    assert offer["category"] == "furniture"


def test_ui_hints_are_emitted_onsite_when_they_change() -> None:
    j = Journey(user_id="u1", start_ms=T0, step_ms=2 * MINUTE_MS).page().page()
    j.view("p1", "shoes", 80.0).add("p1", "shoes", 80.0).view("p2", "shoes", 90.0)
    ui = of_type(run(j.events), "ui_personalization")
    assert [t["hints"] for t in ui] == [
        {"visitor": "new", "highlight": "new_arrivals"},
        {"visitor": "new", "highlight": "new_arrivals", "banner": "category:shoes"},
    ]
    assert ui[1]["event_time"] == j.events[3]["event_time"]  # affinity 1 + 3 crossed ui_min_affinity
    assert all(t["channels"] == ["onsite"] for t in ui)
    assert len({t["trigger_id"] for t in ui}) == 2


def test_a_returning_shopper_with_a_cart_gets_a_cart_reminder_hint() -> None:
    j = Journey(user_id="u1", start_ms=T0).add("p1", "shoes", 20.0).wait(hours=3).page()
    last = of_type(run(j.events, until_ms=j.events[-1]["event_time"]), "ui_personalization")[-1]
    assert last["hints"] == {"visitor": "returning", "highlight": "cart_reminder"}
    assert last["event_time"] == j.events[-1]["event_time"]


def test_cart_changes_feed_the_recommendation_cache() -> None:
    engine = TriggerEngine(CFG)
    state = engine.on_consent(None, consent()).state
    j = Journey(user_id="u1", start_ms=T0).view("p2", "shoes", 10.0).add("p1", "shoes", 80.0)
    view = engine.on_event(state, j.events[0], T0, NextItemScorer())
    add = engine.on_event(view.state, j.events[1], T0, NextItemScorer())
    assert view.recommendations is None
    assert add.recommendations == ["p7", "p2", "p8"] and add.scores is not None
    assert add.features is not None and add.features["cart_lines"] == 1


class CountingScorer(NextItemScorer):
    def __init__(self) -> None:
        self.calls = 0

    def score(self, steps: Sequence[Mapping[str, Any]]) -> SessionScores | None:
        self.calls += 1
        return super().score(steps)


def test_a_trigger_the_policy_blocks_costs_no_model_run() -> None:
    engine, scorer = TriggerEngine(CFG), CountingScorer()
    state = engine.on_consent(None, consent()).state
    j = Journey(user_id="u1", start_ms=T0, step_ms=5_000).page()
    for item in ("p1", "p2", "p3", "p4"):  # the fourth view puts shoes over ui_min_affinity
        j.view(item, "shoes", 90.0)
    decisions = []
    for event in j.events:
        decisions.append(engine.on_event(state, event, T0, scorer))
        state = decisions[-1].state
    assert [t["trigger_type"] for t in decisions[0].triggers] == ["ui_personalization"]
    assert decisions[-1].blocked == [("ui_personalization", "cooldown")]  # the banner, within a minute
    assert scorer.calls == 1  # the first event's hints; the blocked banner ran no model


def test_fires_with_no_later_event_even_across_a_long_quiet_stream() -> None:
    j = Journey(user_id="u1", start_ms=T0).add("p1", "shoes", 80.0)
    other = Journey(user_id="u2", anonymous_id="anon-2", start_ms=T0 + 3 * HOUR_MS).page()
    out = run(j.events + other.events, until_ms=T0 + 3 * HOUR_MS)
    [trig] = of_type(out, "abandoned_cart")
    assert trig["event_time"] == T0 + WINDOW
