"""Validation of a decoded behavior event: the checks Avro types cannot express.

``validate(event, cfg, now_ms)`` returns every ``Problem`` found (empty list: the event is
valid), each with a reason code and a detail naming the field, e.g. ``cart[1].price``. It runs
after decode, so field types are already right, and before normalization, so a negative cart
line cannot hide inside a merged line. ``now_ms`` is passed in: nothing here reads the clock.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from udfs.ingest_config import IngestConfig, Problem

PRODUCT_EVENTS = frozenset(
    {"product_view", "add_to_cart", "remove_from_cart", "favorite", "review", "rating"})
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Epoch seconds of 2000-01-01 .. 2100-01-01 have 10 digits; millis of the same years have 13.
_SECONDS_RANGE = (946_684_800, 4_102_444_800)
_MICROS_FLOOR = 10**14


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _check_time_unit(name: str, value: int) -> Problem | None:
    """Refuses epoch seconds or micro/nanoseconds: timestamps must be UTC millis, never guessed."""
    if _SECONDS_RANGE[0] <= value < _SECONDS_RANGE[1]:
        return Problem("timestamp_not_millis", f"{name}={value} looks like epoch seconds, not millis")
    if value >= _MICROS_FLOOR:
        return Problem("timestamp_not_millis", f"{name}={value} looks like epoch micros or nanos, not millis")
    return None


def _check_times(event: Mapping[str, Any], cfg: IngestConfig, now_ms: int) -> list[Problem]:
    ts = event["event_time"]
    received = _check_time_unit("received_time", event["received_time"])
    found = [received] if received else []
    unit = _check_time_unit("event_time", ts)
    if unit:
        return [unit, *found]  # a wrong unit makes the floor and skew checks below meaningless
    if ts < cfg.min_event_time_ms:
        found.append(Problem("timestamp_too_old", f"event_time={ts} is before {cfg.min_event_time_ms}"))
    elif ts > now_ms + cfg.max_future_skew_ms:
        found.append(Problem("future_timestamp",
                             f"event_time={ts} is {ts - now_ms} ms ahead of now, over the "
                             f"{cfg.max_future_skew_ms} ms skew"))
    return found


def _check_price(name: str, price: float | None, currency: str | None, cfg: IngestConfig) -> Problem | None:
    """Negative, non-finite or (in the base currency, when the rate is known) absurd prices."""
    if price is None:
        return None
    if not math.isfinite(price):
        return Problem("invalid_price", f"{name}={price} is not a finite number")
    if price < 0:
        return Problem("negative_price", f"{name}={price} is negative")
    rate = cfg.rates.get((currency or "").strip().upper() or cfg.base_currency, 1.0)
    if price * rate > cfg.max_price:
        unit = f" {currency}" if currency else ""
        cap = f"{cfg.max_price} {cfg.base_currency}"
        return Problem("absurd_price", f"{name}={price}{unit} is above the cap {cap}")
    return None


def _check_quantity(name: str, quantity: int | None, cfg: IngestConfig) -> Problem | None:
    if quantity is None:
        return None
    if quantity < 1:
        return Problem("invalid_quantity", f"{name}={quantity} must be at least 1")
    if quantity > cfg.max_quantity:
        return Problem("absurd_quantity", f"{name}={quantity} is above the cap {cfg.max_quantity}")
    return None


def _check_product(event: Mapping[str, Any], cfg: IngestConfig) -> list[Problem]:
    product = event["product"]
    if product is None:
        if event["event_type"] in PRODUCT_EVENTS:
            return [Problem("missing_product", f"product is required for {event['event_type']} events")]
        return []
    blank_id = _blank(product["product_id"])
    found = [Problem("missing_product", "product.product_id is blank")] if blank_id else []
    price = _check_price("product.price", product["price"], product["currency"], cfg)
    return [*found, price] if price else found


def _check_cart(event: Mapping[str, Any], cfg: IngestConfig) -> list[Problem]:
    cart = event["cart"] or []
    found = []
    if event["event_type"] == "purchase" and not cart:
        found.append(Problem("purchase_without_cart", "cart (the order lines) is required for purchases"))
    for i, line in enumerate(cart):
        if _blank(line["product_id"]):
            found.append(Problem("missing_product", f"cart[{i}].product_id is blank"))
        found += [p for p in (_check_price(f"cart[{i}].price", line["price"], line["currency"], cfg),
                              _check_quantity(f"cart[{i}].quantity", line["quantity"], cfg)) if p]
    return found


def _check_ranges(event: Mapping[str, Any], cfg: IngestConfig) -> list[Problem]:
    quantity = _check_quantity("quantity", event["quantity"], cfg)
    found = [quantity] if quantity else []
    rating = event["rating"]
    if rating is None and event["event_type"] == "rating":
        found.append(Problem("missing_rating", "rating is required for rating events"))
    elif rating is not None and not 1 <= rating <= 5:
        found.append(Problem("rating_out_of_range", f"rating={rating} is outside 1-5"))
    depth = event["scroll_depth"]
    if depth is not None and not 0 <= depth <= 100:
        found.append(Problem("scroll_depth_out_of_range", f"scroll_depth={depth} is outside 0-100"))
    return found


def _check_ids(event: Mapping[str, Any]) -> list[Problem]:
    found = []
    if _blank(event["anonymous_id"]):
        found.append(Problem("missing_anonymous_id", "anonymous_id is blank"))
    event_id = event["event_id"]
    if event_id is not None and not _UUID.match(event_id.strip()):
        found.append(Problem("invalid_event_id", f"event_id={event_id[:64]!r} is not a UUID"))
    return found


def validate(event: Mapping[str, Any], cfg: IngestConfig, now_ms: int) -> list[Problem]:
    """All problems of a decoded behavior event, most fundamental first; [] when it is valid."""
    return (_check_ids(event) + _check_times(event, cfg, now_ms) + _check_product(event, cfg)
            + _check_cart(event, cfg) + _check_ranges(event, cfg))
