"""The shopper simulator's plan: seeded determinism, persona scripts, and ground truth the engine agrees with."""
from __future__ import annotations

import collections
import itertools
import json
from typing import Any

import pytest

from services.simulator.accuracy import accuracy
from services.simulator.config import DEFAULT_MIX, load_sim_config, parse_mix, parse_start
from services.simulator.personas import HIGH, Thresholds
from services.simulator.schedule import Plan, persona_order, schedule
from services.simulator.truth import Truth, parse_truth, truth_line
from udfs.avro_codec import registry
from udfs.engine_config import EngineConfig
from udfs.replay import replay
from udfs.triggers import TriggerEngine

T0 = 1_767_261_600_000  # 2026-01-01T10:00:00Z


def plan(seed: int = 7, shoppers: int = 60, mix: str = DEFAULT_MIX, **kw: Any) -> Plan:
    return Plan(seed=seed, start_ms=T0, rate=50.0, mix=parse_mix(mix), max_shoppers=shoppers, **kw)


def events(p: Plan) -> list[dict[str, Any]]:
    return [e.event for e in schedule(p)]


def by_persona(p: Plan) -> dict[str, list[list[dict[str, Any]]]]:
    out: dict[str, list[list[dict[str, Any]]]] = collections.defaultdict(list)
    for em in schedule(p):
        if em.first:
            out[em.shopper.persona].append(em.shopper.events)
    return out


def test_the_same_seed_gives_the_same_encoded_events_and_another_seed_does_not() -> None:
    reg = registry()
    first = [reg.encode("behavior_event", e) for e in events(plan(seed=7))]
    again = [reg.encode("behavior_event", e) for e in events(plan(seed=7))]
    other = [reg.encode("behavior_event", e) for e in events(plan(seed=8))]
    assert first == again and len(first) > 300
    assert first != other


def test_events_come_in_event_time_order_and_carry_unique_ids() -> None:
    evs = events(plan(shoppers=120))
    times = [e["event_time"] for e in evs]
    assert times == sorted(times)
    assert len({e["event_id"] for e in evs}) == len(evs)


def test_the_mix_is_followed_exactly_by_the_round_robin() -> None:
    picks = list(itertools.islice(persona_order({"buyer": 3, "bot": 1, "window": 0}), 40))
    assert collections.Counter(picks) == {"buyer": 30, "bot": 10}
    assert "bot" in picks[:4], "interleaved, not in blocks"


def test_long_run_event_rate_follows_the_rate() -> None:
    """After the ramp-up (scripts last a minute or two), before the last arrival."""
    evs = events(Plan(seed=3, start_ms=T0, rate=100.0, mix=parse_mix(DEFAULT_MIX), max_shoppers=2000))
    steady = [e for e in evs if T0 + 60_000 <= e["event_time"] < T0 + 150_000]
    assert 80 <= len(steady) / 90 <= 120, len(steady) / 90


def test_duration_stops_arrivals() -> None:
    p = Plan(seed=3, start_ms=T0, rate=100.0, mix=parse_mix(DEFAULT_MIX), max_shoppers=None,
             arrivals_until_ms=T0 + 30_000)
    starts = [em.event["event_time"] for em in schedule(p) if em.first]
    assert starts and max(starts) < T0 + 30_000


def test_buyers_purchase_what_they_carted_and_abandoners_stop_after_the_cart() -> None:
    personas = by_persona(plan())
    for script in personas["buyer"]:
        kinds = [e["event_type"] for e in script]
        assert kinds[-2:] == ["checkout_start", "purchase"] and "add_to_cart" in kinds
        assert script[-1]["cart"] == script[-2]["cart"] and script[-1]["cart"]
    for script in personas["abandoner"]:
        assert script[-1]["event_type"] == "add_to_cart" and script[-1]["cart"]
        assert not {"checkout_start", "purchase"} & {e["event_type"] for e in script}


def test_browsers_view_one_expensive_category_enough_times_and_window_shoppers_never_do() -> None:
    th = Thresholds()
    for persona, at_least in (("browser", True), ("window", False), ("buyer", False), ("abandoner", False)):
        for script in by_persona(plan(shoppers=100))[persona]:
            views = collections.Counter(e["product"]["category"] for e in script
                                        if e["event_type"] == "product_view")
            top = max((n for c, n in views.items() if c in HIGH), default=0)
            assert (top >= th.browse_views) == at_least, (persona, views)
            prices = [e["product"]["price"] for e in script if e["event_type"] == "product_view"
                      and e["product"]["category"] in HIGH]
            assert all(p >= 1.5 * th.high_price for p in prices)


def test_bots_are_machine_fast_and_humans_are_not() -> None:
    personas = by_persona(plan())
    for persona, scripts in personas.items():
        for script in scripts:
            gaps = sorted(b["event_time"] - a["event_time"] for a, b in itertools.pairwise(script))
            median = gaps[len(gaps) // 2]
            if persona == "bot":
                assert median < 200 and len(script) > 12 and script[0]["user_id"] is None
            else:
                assert median >= 1500, (persona, gaps)


def test_ids_and_consent_follow_the_project_conventions() -> None:
    p = plan(decline_share=0.5)
    for em in schedule(p):
        e, s = em.event, em.shopper
        assert e["anonymous_id"] == f"anon-{p.run_tag()}-{s.idx}"
        assert e["user_id"] is None or (e["user_id"].startswith("u_") and len(e["user_id"]) == 34)
        assert e["consent"]["personalization"] is (not s.declined)
    declined = {em.shopper.idx for em in schedule(p) if em.shopper.declined}
    assert declined, "some shoppers decline at a 50% share"


def test_the_pure_engine_earns_exactly_the_ground_truth() -> None:
    """The persona scripts meet the engine's rules: precision and recall 1 over every persona."""
    cfg = EngineConfig()
    p = plan(shoppers=150, decline_share=0.1, thresholds=Thresholds.from_engine(cfg))
    ems = list(schedule(p))
    truth = [Truth.of(em.shopper) for em in ems if em.first]
    result = replay([em.event for em in ems], TriggerEngine(cfg))
    acc = accuracy(truth, result.triggers)
    assert set(acc.by_persona) == {"buyer", "abandoner", "browser", "window", "bot"}
    for persona, score in acc.by_persona.items():
        assert score.fp == 0 and score.fn == 0, (persona, score)
    assert ("abandoned_cart", "bot") in {b[1:] for b in result.blocked}, "bots are stopped by the bot score"


def test_shorter_engine_windows_give_shorter_gaps() -> None:
    th = Thresholds.from_engine(EngineConfig(abandon_window_ms=60_000, session_gap_ms=120_000))
    assert th.max_gap_ms == 20_000
    for em in schedule(plan(thresholds=th)):
        nxt = em.shopper.events[em.index + 1]["event_time"] if not em.last else em.event["event_time"]
        assert nxt - em.event["event_time"] <= 20_000


def test_truth_lines_round_trip() -> None:
    shopper = next(iter(schedule(plan()))).shopper
    line = truth_line(shopper)
    [back] = parse_truth([line])
    assert back == Truth.of(shopper) and json.loads(line)["events"] == len(shopper.events)


def test_config_validates_and_parses() -> None:
    assert parse_mix("buyer=2, bot=1") == {"buyer": 2.0, "bot": 1.0}
    for bad in ("shopper=1", "buyer", "buyer=x", "buyer=-1", "bot=0"):
        with pytest.raises(ValueError):
            parse_mix(bad)
    assert parse_start("2026-01-01T10:00:00Z", 5) == T0 == parse_start(str(T0), 5)
    assert parse_start("now", 5) == 5
    with pytest.raises(ValueError, match="speedup 1"):
        load_sim_config(start="now", speedup=60.0)
    cfg = load_sim_config(rate=10.0, shoppers=0, duration=0.0, start="now", speedup=1.0)
    assert cfg.rate == 10.0 and cfg.max_shoppers() == 100 and cfg.live
    assert load_sim_config(duration=5.0, shoppers=0).max_shoppers() is None
