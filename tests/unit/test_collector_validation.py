"""Validation of single events: conversions, pseudonymization, PII stripping and every problem kind."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.collector.validation import EVENT_FIELDS, Context, Limits, validate_event
from udfs.avro_codec import registry
from udfs.privacy import pseudonymize

KEY = b"unit-test-key"
NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def ctx(**kw: Any) -> Context:
    return Context(**{"received_ms": NOW, "key": KEY, **kw})


def event(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"event_type": "page_view", "anonymous_id": "anon-1", "event_time": NOW - 1000}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


def problems(obj: Any, context: Context | None = None) -> dict[str, str]:
    result, found = validate_event(obj, context or ctx())
    assert result is None, "expected the event to be refused"
    return {p.field: p.problem for p in found}


def accepted(obj: Any, context: Context | None = None) -> dict[str, Any]:
    result, found = validate_event(obj, context or ctx())
    assert found == [], found
    assert result is not None
    return result


def test_valid_event_has_exactly_the_schema_fields_and_round_trips_through_avro() -> None:
    out = accepted(event(event_type="add_to_cart", quantity=2, session_id="s1",
                         product={"product_id": 44600062, "price": 35.79, "currency": "eur",
                                  "category": "appliances/kitchen", "brand": "shiseido"},
                         cart=[{"product_id": "44600062", "quantity": 2, "price": 35.79}],
                         consent={"analytics": True, "personalization": True},
                         attributes={"experiment": "b", "ab": 3, "beta": True}))
    assert set(out) == set(EVENT_FIELDS)
    assert out["product"]["product_id"] == "44600062" and out["product"]["currency"] == "EUR"
    assert out["consent"] == {"analytics": True, "personalization": True, "marketing": False}
    assert out["attributes"] == {"experiment": "b", "ab": "3", "beta": "true"}
    assert out["received_time"] == NOW and out["channel"] == "web"
    codec = registry()
    assert codec.decode(codec.encode("behavior_event", out), "behavior_event") == out


@pytest.mark.parametrize(("stamp", "millis"), [
    ("2025-12-31T23:00:00Z", NOW - 3_600_000),
    ("2026-01-01T01:30:00+02:00", NOW - 1_800_000),
    ("2025-12-31T19:00:00.250-05:00", NOW + 250),
    (NOW - 42, NOW - 42),
])
def test_timestamp_iso_with_offset_or_millis_becomes_utc_millis(stamp: Any, millis: int) -> None:
    assert accepted(event(event_time=..., timestamp=stamp))["event_time"] == millis


@pytest.mark.parametrize(("stamp", "fragment"), [
    ("2025-12-31T23:00:00", "no UTC offset"),
    ("yesterday", "not ISO 8601"),
    (NOW // 1000, "days old (limit 30.0) (expected epoch milliseconds)"),
    (NOW + 301_000, "301s in the future (limit 300s)"),
    (True, "expected an integer, got boolean"),
])
def test_bad_timestamps_are_named(stamp: Any, fragment: str) -> None:
    assert fragment in problems(event(event_time=..., timestamp=stamp))["timestamp"]


def test_future_skew_is_configurable() -> None:
    loose = ctx(limits=Limits(future_skew_ms=3_600_000))
    assert accepted(event(event_time=NOW + 600_000), loose)["event_time"] == NOW + 600_000
    assert "future" in problems(event(event_time=NOW + 600_000))["event_time"]


def test_missing_time_and_both_times_are_problems() -> None:
    assert "missing" in problems(event(event_time=...))["event_time"]
    assert "send one" in problems(event(timestamp=NOW))["timestamp"]


def test_raw_user_id_and_email_become_the_keyed_pseudonym_and_vanish() -> None:
    by_email = accepted(event(email="  Ada.Lovelace@Example.COM "))
    assert by_email["user_id"] == pseudonymize("ada.lovelace@example.com", KEY)
    by_id = accepted(event(user_id=541312140, email="ada@example.com"))
    assert by_id["user_id"] == pseudonymize("541312140", KEY)
    flat = repr(by_email) + repr(by_id)
    assert "lovelace" not in flat.lower() and "example" not in flat and "541312140" not in flat
    other_key = accepted(event(user_id="42"), ctx(key=b"other"))["user_id"]
    assert other_key != accepted(event(user_id="42"))["user_id"]


def test_url_and_referrer_lose_personal_query_parameters() -> None:
    out = accepted(event(url="https://shop.example/p/1?email=ada@example.com&color=red&token=abc#frag",
                         referrer="https://user:pw@www.search.example/s?q=shoes&uid=77"))
    assert out["page_path"] == "/p/1?color=red"
    assert out["referrer"] == "https://www.search.example/s?q=shoes"


def test_free_text_fields_have_emails_redacted() -> None:
    out = accepted(event(event_type="search", search_query="order for ada@example.com",
                         attributes={"note": "from bob@example.org"}))
    assert out["search_query"] == "order for [email]"
    assert out["attributes"]["note"] == "from [email]"


@pytest.mark.parametrize(("fields", "field", "fragment"), [
    ({"anonymous_id": ...}, "anonymous_id", "missing"),
    ({"anonymous_id": ""}, "anonymous_id", "empty string"),
    ({"event_type": "teleport"}, "event_type", "unknown value 'teleport'"),
    ({"event_type": ...}, "event_type", "missing"),
    ({"event_id": "not-a-uuid"}, "event_id", "is not a UUID"),
    ({"channel": "fax"}, "channel", "unknown value 'fax'"),
    ({"device": "fridge"}, "device", "unknown value 'fridge'"),
    ({"scroll_depth": 101}, "scroll_depth", "101 is out of range 0-100"),
    ({"scroll_depth": "50"}, "scroll_depth", "expected an integer, got string"),
    ({"rating": 0}, "rating", "out of range 1-5"),
    ({"rating": 4.5}, "rating", "expected an integer"),
    ({"quantity": 0}, "quantity", "out of range"),
    ({"product": {"product_id": "p", "price": -1}}, "product.price", "-1 is negative"),
    ({"product": {"product_id": "p", "price": "9.99"}}, "product.price", "expected a number, got string"),
    ({"product": {"product_id": "p", "currency": "euro"}}, "product.currency", "ISO 4217"),
    ({"product": {"price": 1}}, "product.product_id", "missing"),
    ({"product": {"product_id": "p", "colour": "red"}}, "product.colour", "unknown field"),
    ({"product": ["p"]}, "product", "expected an object, got array"),
    ({"cart": [{"product_id": "a", "quantity": 1, "price": 1},
               {"product_id": "b", "quantity": -2, "price": 1}]},
     "cart[1].quantity", "-2 is out of range"),
    ({"cart": [{"product_id": "a", "quantity": 1}]}, "cart[0].price", "missing"),
    ({"click": {"x": 10}}, "click.y", "missing"),
    ({"consent": {"analytics": "yes"}}, "consent.analytics", "expected true or false"),
    ({"attributes": {"nested": {"a": 1}}}, "attributes.nested", "expected a string, got object"),
    ({"attributes": {f"k{i}": "v" for i in range(33)}}, "attributes", "33 entries, more than 32"),
    ({"email": "not-an-address"}, "email", "not an e-mail address"),
    ({"received_time": NOW}, "received_time", "set by the collector"),
    ({"shoe_size": 44}, "shoe_size", "unknown field"),
    ({"url": "/a", "page_path": "/b"}, "url", "send one"),
    ({"search_query": "x" * 2049}, "search_query", "longer than 2048 characters (2049)"),
])
def test_each_problem_names_the_field(fields: dict[str, Any], field: str, fragment: str) -> None:
    found = problems(event(**fields))
    assert field in found, found
    assert fragment in found[field]


@pytest.mark.parametrize(("event_type", "needed"), [
    ("product_view", "product"), ("search", "search_query"), ("filter_applied", "filter"),
    ("rating", "rating"), ("scroll", "scroll_depth"), ("add_to_cart", "product"),
])
def test_event_types_require_their_payload(event_type: str, needed: str) -> None:
    assert "needs it" in problems(event(event_type=event_type))[needed]


def test_every_problem_of_an_event_is_reported_at_once() -> None:
    found = problems({"event_type": "nope", "rating": 9, "scroll_depth": -1})
    assert {"event_type", "anonymous_id", "event_time", "rating", "scroll_depth"} <= set(found)


def test_non_object_event_is_a_problem_not_a_crash() -> None:
    assert problems(["page_view"]) == {"(event)": "expected a JSON object, got array"}


def test_event_id_is_canonicalized_and_source_defaults_apply() -> None:
    raw_id = str(uuid.uuid4()).upper()
    app_ctx = ctx(channel="app", device="mobile", attributes={"sdk_name": "ios"})
    out = accepted(event(event_id=raw_id), app_ctx)
    assert out["event_id"] == raw_id.lower()
    assert (out["channel"], out["device"], out["attributes"]) == ("app", "mobile", {"sdk_name": "ios"})


def test_string_cap_is_configurable() -> None:
    tight = ctx(limits=Limits(max_string_len=8))
    assert "longer than 8" in problems(event(session_id="123456789"), tight)["session_id"]

