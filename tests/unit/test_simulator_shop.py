"""Personas over the shop's own catalogue: the price split, products the storefront sells, and
ground truth the engine still agrees with."""
from __future__ import annotations

import pytest

from services.simulator.accuracy import accuracy
from services.simulator.cli import make_plan, shop_of
from services.simulator.config import load_sim_config, parse_mix
from services.simulator.personas import shop_catalogue
from services.simulator.schedule import Plan, schedule
from services.simulator.truth import Truth
from services.storefront.catalog import configured_catalog
from services.storefront.config import DEFAULT_DATA
from udfs.engine_config import EngineConfig
from udfs.replay import replay
from udfs.triggers import TriggerEngine

T0 = 1_767_261_600_000  # 2026-01-01T10:00:00Z
MIX = "buyer=0.25,abandoner=0.2,browser=0.15,window=0.35,bot=0.05"


def test_categories_split_by_price_and_mixed_ones_keep_only_their_expensive_products() -> None:
    items = [("a1", "tv", 900.0), ("a2", "tv", 400.0), ("a3", "tv", 20.0),
             ("b1", "toys", 10.0), ("b2", "toys", 55.0), ("b3", "toys", 70.0),
             ("c1", "lamps", 120.0), ("c2", "lamps", 130.0)]
    shop = shop_catalogue(items, high_price=100.0)
    assert shop is not None
    assert shop.high == ("tv",) and shop.low == ("toys",)
    assert shop.products["tv"] == (("a1", 900.0), ("a2", 400.0)), "cheap tv left out: views of tv stay expensive"
    assert shop.products["toys"] == (("b1", 10.0), ("b2", 55.0))
    assert "lamps" not in shop.products, "neither expensive nor cheap enough"


def test_no_catalogue_without_an_expensive_and_a_cheap_category() -> None:
    assert shop_catalogue([("a", "tv", 900.0), ("b", "tv", 800.0)], 100.0) is None
    assert shop_catalogue([("a", "tv", 900.0), ("b", "tv", 800.0), ("c", "toys", 5.0)], 100.0) is None, \
        "one cheap product is fewer than the two a category needs"


def test_the_catalog_setting_builds_the_storefronts_catalogue_and_says_when_it_cannot(
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = load_sim_config(catalog=str(DEFAULT_DATA), start="2026-01-01T10:00:00Z", speedup=0.0)
    plan = make_plan(cfg, EngineConfig(), T0)
    assert plan.shop is not None
    sold = configured_catalog(catalog_path=str(DEFAULT_DATA)).products
    assert {pid for ps in plan.shop.products.values() for pid, _ in ps} <= set(sold)
    assert make_plan(load_sim_config(start="2026-01-01T10:00:00Z", speedup=0.0), EngineConfig(), T0).shop is None
    assert shop_of(str(DEFAULT_DATA), high_price=100_000.0) is None
    assert "personas use a synthetic catalogue" in capsys.readouterr().err


def test_personas_view_only_products_the_shop_sells_and_the_engine_earns_exactly_the_truth() -> None:
    cfg = EngineConfig()
    plan = make_plan(load_sim_config(catalog=str(DEFAULT_DATA), start="2026-01-01T10:00:00Z", speedup=0.0,
                                     decline_share=0.1), cfg, T0)
    plan = Plan(plan.seed, T0, 50.0, parse_mix(MIX), 150, None, plan.decline_share, plan.thresholds, plan.shop)
    ems = list(schedule(plan))
    sold = configured_catalog(catalog_path=str(DEFAULT_DATA)).products
    viewed = {em.event["product"]["product_id"] for em in ems if em.event.get("product")}
    assert viewed and viewed <= set(sold)
    for em in ems:
        product = em.event.get("product")
        assert product is None or sold[product["product_id"]].category == product["category"]
    truth = [Truth.of(em.shopper) for em in ems if em.first]
    acc = accuracy(truth, replay([em.event for em in ems], TriggerEngine(cfg)).triggers)
    assert set(acc.by_persona) == {"buyer", "abandoner", "browser", "window", "bot"}
    for persona, score in acc.by_persona.items():
        assert score.fp == 0 and score.fn == 0, (persona, score)
