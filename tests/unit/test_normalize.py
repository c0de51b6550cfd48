"""Normalization: one form for categories, prices in the base currency, URLs without PII, merged carts."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.unit.ingest_samples import base_event, line, product, rees46_events
from udfs.avro_codec import registry
from udfs.ingest import IngestConfig, Problem
from udfs.normalize import merge_cart_lines, normalize_category, normalize_event, to_base_currency

CFG = IngestConfig(fx_rates="USD:0.92,GBP:1.17,JPY:0.0061")


def normalized(event: dict[str, Any], cfg: IngestConfig = CFG) -> dict[str, Any]:
    out = normalize_event(event, cfg)
    assert not isinstance(out, Problem), out
    return out


@pytest.mark.parametrize("raw, expected", [
    ("A > B", "a/b"), ("a.b", "a/b"), ("A/B ", "a/b"), ("A|B", "a/b"), ("A\\B", "a/b"),
    ("appliances.environment.water_heater", "appliances/environment/water_heater"),
    ("Home & Garden >  Living   Room ", "home & garden/living room"),
    ("2.5 Inch/HDD", "2.5 inch/hdd"), ("/a//b/", "a/b"), ("Shoes", "shoes"),
    ("", None), ("  ", None), (" > | ", None), (None, None)])
def test_category_paths_have_one_form(raw: str | None, expected: str | None) -> None:
    assert normalize_category(raw) == expected


def test_normalizing_a_category_twice_changes_nothing() -> None:
    for raw in ("A > B", "x.y.z", "Home & Garden > Living Room"):
        once = normalize_category(raw)
        assert normalize_category(once) == once


def test_prices_convert_to_the_base_currency() -> None:
    assert to_base_currency(100.0, "USD", CFG, "f") == (92.0, "USD")
    assert to_base_currency(100.0, " usd ", CFG, "f") == (92.0, "USD")
    assert to_base_currency(100.0, "EUR", CFG, "f") == (100.0, None)
    assert to_base_currency(100.0, None, CFG, "f") == (100.0, None)  # the shop's own currency
    assert to_base_currency(100.0, "  ", CFG, "f") == (100.0, None)
    assert to_base_currency(None, "GBP", CFG, "f") == (None, "GBP")


def test_unknown_currency_is_a_normalize_problem_naming_the_field() -> None:
    event = base_event(event_type="checkout_start", cart=[line("a"), line("b", currency="XYZ")])
    problem = normalize_event(event, CFG)
    assert isinstance(problem, Problem)
    assert (problem.reason, problem.stage) == ("unknown_currency", "normalize")
    assert "cart[1].currency='XYZ'" in problem.detail


def test_event_prices_and_original_currencies() -> None:
    event = base_event(event_type="checkout_start", product=product(price=10.0, currency="USD"),
                       cart=[line("a", price=10.0, currency="GBP"), line("b", price=1000.0, currency="JPY"),
                             line("c", price=3.0, currency="USD"), line("d", price=4.0, currency="EUR")])
    out = normalized(event)
    assert out["product"]["price"] == pytest.approx(9.2) and out["product"]["currency"] == "EUR"
    assert [(x["price"], x["currency"]) for x in out["cart"]] == [
        (pytest.approx(11.7), "EUR"), (pytest.approx(6.1), "EUR"), (pytest.approx(2.76), "EUR"), (4.0, "EUR")]
    assert out["attributes"]["original_currency"] == "USD,GBP,JPY"


def test_base_currency_events_get_no_original_currency() -> None:
    out = normalized(base_event(event_type="product_view", product=product(currency="EUR"),
                                attributes={"exp": "b"}))
    assert out["attributes"] == {"exp": "b"}


def test_cart_lines_merge_by_product() -> None:
    lines = [line("a", 1, 5.0, category="X > Y"), line("b", 2), line("a", 3, 6.0), line("b", 1)]
    out = normalized(base_event(event_type="checkout_start", cart=lines))
    assert [(x["product_id"], x["quantity"], x["price"], x["category"]) for x in out["cart"]] == [
        ("a", 4, 5.0, "x/y"), ("b", 3, 10.0, None)]


def test_merge_does_not_modify_its_input() -> None:
    lines = [line("a", 1), line("a", 2)]
    merge_cart_lines(lines)
    assert [x["quantity"] for x in lines] == [1, 2]


def test_merged_quantity_over_the_cap_is_refused() -> None:
    cfg = IngestConfig(max_quantity=10)
    problem = normalize_event(base_event(event_type="checkout_start", cart=[line("a", 6), line("a", 6)]), cfg)
    assert isinstance(problem, Problem) and problem.reason == "absurd_quantity" and "12" in problem.detail


def test_empty_cart_stays_empty_not_missing() -> None:
    assert normalized(base_event(event_type="remove_from_cart", product=product(), cart=[]))["cart"] == []


def test_urls_lose_host_and_personal_query_parameters() -> None:
    out = normalized(base_event(page_path=" https://shop.example/p/42?email=ann@example.com&color=red#top ",
                                referrer="https://mail.example/inbox/ann@example.com?utm_source=news"))
    assert out["page_path"] == "/p/42?color=red"
    assert out["referrer"] == "/inbox/[email]?utm_source=news"


def test_unparsable_url_is_a_problem_not_a_crash() -> None:
    problem = normalize_event(base_event(referrer="http://[::1/broken"), CFG)
    assert isinstance(problem, Problem) and (problem.reason, problem.stage) == ("invalid_url", "normalize")
    assert problem.detail.startswith("referrer")


def test_strings_are_trimmed_and_blanks_become_none() -> None:
    event = base_event(event_id=" 0B74A829-F9D7-4654-B5B0-35BC9822C238 ", user_id="  ", anonymous_id=" a1 ",
                       session_id=" s1 ", search_query="  red shoes ", device="", page_path="  ",
                       product=product(" p9 ", brand="  "), event_type="product_view",
                       filter={"name": " color ", "value": " red "}, click={"x": 1, "y": 2, "element": " "})
    out = normalized(event)
    assert out["event_id"] == "0b74a829-f9d7-4654-b5b0-35bc9822c238"
    assert (out["user_id"], out["anonymous_id"], out["session_id"]) == (None, "a1", "s1")
    assert (out["search_query"], out["device"], out["page_path"]) == ("red shoes", None, None)
    assert (out["product"]["product_id"], out["product"]["brand"]) == ("p9", None)
    assert out["filter"] == {"name": "color", "value": "red"}
    assert out["click"] == {"x": 1, "y": 2, "element": None}


def test_timestamps_are_left_as_they_are() -> None:
    event = rees46_events()[0]
    out = normalized(event)
    assert (out["event_time"], out["received_time"]) == (event["event_time"], event["received_time"])


def test_input_is_not_modified_and_output_fits_the_schema() -> None:
    for event in rees46_events():
        before = copy.deepcopy(event)
        out = normalized(event)
        assert event == before
        data = registry().encode("behavior_event", out)
        assert registry().decode(data, "behavior_event") == out


def test_normalizing_a_normalized_event_changes_nothing() -> None:
    for event in rees46_events():
        once = normalized(event)
        assert normalized(once) == once
