"""Validation of decoded events: each problem has its reason code and a detail naming the field."""
from __future__ import annotations

from typing import Any

import pytest

from tests.unit.ingest_samples import SAMPLE_NOW_MS, base_event, line, product, rees46_events
from udfs.ingest import IngestConfig
from udfs.ingest_validate import PRODUCT_EVENTS, validate

CFG = IngestConfig()
NOW = SAMPLE_NOW_MS


def reasons(event: dict[str, Any], cfg: IngestConfig = CFG, now_ms: int = NOW) -> list[str]:
    return [p.reason for p in validate(event, cfg, now_ms)]


def only_problem(event: dict[str, Any], cfg: IngestConfig = CFG) -> tuple[str, str]:
    problems = validate(event, cfg, NOW)
    assert len(problems) == 1, problems
    return problems[0].reason, problems[0].detail


def test_realistic_events_are_valid() -> None:
    for event in rees46_events():
        assert validate(event, CFG, NOW) == []


@pytest.mark.parametrize("anonymous_id", ["", "   ", "\t\n"])
def test_blank_anonymous_id(anonymous_id: str) -> None:
    expected = ("missing_anonymous_id", "anonymous_id is blank")
    assert only_problem(base_event(anonymous_id=anonymous_id)) == expected


def test_future_skew_boundary_is_inclusive() -> None:
    skew = CFG.max_future_skew_ms
    assert reasons(base_event(event_time=NOW + skew)) == []
    reason, detail = only_problem(base_event(event_time=NOW + skew + 1))
    assert reason == "future_timestamp" and "event_time" in detail and f"{skew + 1} ms ahead" in detail


def test_future_is_judged_against_the_now_argument() -> None:
    event = base_event(event_time=NOW + 3_600_000)
    assert reasons(event, now_ms=NOW) == ["future_timestamp"]
    assert reasons(event, now_ms=NOW + 3_600_000) == []


def test_event_before_year_2000_is_refused() -> None:
    assert reasons(base_event(event_time=946_684_799_999)) == ["timestamp_too_old"]
    assert reasons(base_event(event_time=946_684_800_000)) == []


@pytest.mark.parametrize("value, unit", [(NOW // 1000, "seconds"), (NOW * 1000, "micros"),
                                         (NOW * 1_000_000, "nanos")])
def test_event_time_in_another_unit_is_refused_not_guessed(value: int, unit: str) -> None:
    reason, detail = only_problem(base_event(event_time=value, received_time=NOW))
    assert reason == "timestamp_not_millis" and detail.startswith(f"event_time={value}") and unit in detail


def test_received_time_in_seconds_is_refused_too() -> None:
    reason, detail = only_problem(base_event(received_time=NOW // 1000))
    assert reason == "timestamp_not_millis" and detail.startswith("received_time=")


@pytest.mark.parametrize("price, reason", [(-0.01, "negative_price"), (float("nan"), "invalid_price"),
                                           (float("inf"), "invalid_price"), (100_000.01, "absurd_price")])
def test_bad_product_prices(price: float, reason: str) -> None:
    event = base_event(event_type="product_view", product=product(price=price))
    got, detail = only_problem(event)
    assert got == reason and detail.startswith("product.price=")


def test_free_items_and_missing_prices_are_fine() -> None:
    assert reasons(base_event(event_type="product_view", product=product(price=0.0))) == []
    assert reasons(base_event(event_type="product_view", product=product(price=None))) == []


def test_price_cap_applies_in_the_base_currency() -> None:
    cheap_yen = base_event(event_type="product_view", product=product(price=150_000.0, currency="JPY"))
    assert reasons(cheap_yen) == []  # about 915 EUR
    dear_pounds = base_event(event_type="product_view", product=product(price=90_000.0, currency="GBP"))
    assert reasons(dear_pounds) == ["absurd_price"]  # about 105,300 EUR


def test_bad_cart_lines_name_their_index() -> None:
    cart = [line("a"), line("b", price=-5.0), line("c", quantity=0), line(" ", quantity=5_000)]
    problems = validate(base_event(event_type="checkout_start", cart=cart), CFG, NOW)
    assert [(p.reason, p.detail.split("=")[0].split(" ")[0]) for p in problems] == [
        ("negative_price", "cart[1].price"), ("invalid_quantity", "cart[2].quantity"),
        ("missing_product", "cart[3].product_id"), ("absurd_quantity", "cart[3].quantity")]


@pytest.mark.parametrize("quantity, reason", [(0, "invalid_quantity"), (-2, "invalid_quantity"),
                                              (1_001, "absurd_quantity")])
def test_bad_event_quantity(quantity: int, reason: str) -> None:
    event = base_event(event_type="add_to_cart", product=product(), quantity=quantity)
    assert only_problem(event)[0] == reason
    assert reasons(base_event(event_type="add_to_cart", product=product(), quantity=1_000)) == []


@pytest.mark.parametrize("event_type", sorted(PRODUCT_EVENTS))
def test_product_events_need_a_product(event_type: str) -> None:
    event = base_event(event_type=event_type, rating=4)
    assert only_problem(event) == ("missing_product", f"product is required for {event_type} events")
    assert reasons(base_event(event_type=event_type, rating=4, product=product())) == []


def test_blank_product_id_is_a_missing_product() -> None:
    assert only_problem(base_event(event_type="favorite", product=product(" ")))[0] == "missing_product"


@pytest.mark.parametrize("cart", [None, []])
def test_purchase_needs_cart_lines(cart: list[Any] | None) -> None:
    assert only_problem(base_event(event_type="purchase", cart=cart))[0] == "purchase_without_cart"
    assert reasons(base_event(event_type="purchase", cart=[line()])) == []


@pytest.mark.parametrize("rating, ok", [(0, False), (1, True), (5, True), (6, False), (-1, False)])
def test_rating_range(rating: int, ok: bool) -> None:
    event = base_event(event_type="review", product=product(), rating=rating)
    assert reasons(event) == ([] if ok else ["rating_out_of_range"])


def test_rating_event_without_rating() -> None:
    assert only_problem(base_event(event_type="rating", product=product()))[0] == "missing_rating"


@pytest.mark.parametrize("depth, ok", [(-1, False), (0, True), (100, True), (101, False)])
def test_scroll_depth_range(depth: int, ok: bool) -> None:
    expected = [] if ok else ["scroll_depth_out_of_range"]
    assert reasons(base_event(event_type="scroll", scroll_depth=depth)) == expected


@pytest.mark.parametrize("event_id, ok", [
    ("0b74a829-f9d7-4654-b5b0-35bc9822c238", True), ("0B74A829-F9D7-4654-B5B0-35BC9822C238", True),
    (" 0b74a829-f9d7-4654-b5b0-35bc9822c238 ", True), ("0b74a829f9d74654b5b035bc9822c238", False),
    ("evt-123", False), ("", False), ("0b74a829-f9d7-4654-b5b0-35bc9822c23g", False)])
def test_event_id_must_be_a_uuid(event_id: str, ok: bool) -> None:
    assert reasons(base_event(event_id=event_id)) == ([] if ok else ["invalid_event_id"])


def test_every_problem_is_reported_most_fundamental_first() -> None:
    event = base_event(anonymous_id="", event_type="purchase", event_time=NOW + 10**9, scroll_depth=500)
    assert reasons(event) == ["missing_anonymous_id", "future_timestamp", "purchase_without_cart",
                              "scroll_depth_out_of_range"]


def test_validation_does_not_modify_the_event() -> None:
    event = rees46_events()[3]
    before = repr(event)
    validate(event, CFG, NOW)
    assert repr(event) == before
