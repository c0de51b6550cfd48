"""Normalization of a validated behavior event into the one form every later stage relies on.

``normalize_event(event, cfg)`` returns a new event dict (the input is not modified) or a
``Problem`` (stage ``normalize``) when a value cannot be brought to that form:

- strings trimmed; blank optional strings become None; event_id lower-case;
- prices of the product and of cart lines in the base currency, ``currency`` set to it, the
  original code(s) kept in ``attributes["original_currency"]``; an unknown code is refused;
- category paths as lower-case segments joined by "/" (from "A > B", "a.b", "A/B ", "A|B");
- page_path and referrer through ``strip_url_pii``; an unparsable URL is refused;
- cart lines merged by product id (quantities summed, first line's price and category kept).

Timestamps are not touched: validation already refused anything but UTC millis.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from udfs.ingest_config import IngestConfig, Problem
from udfs.privacy import strip_url_pii

_PATH_SEPARATOR = re.compile(r"[>/|\\]")
_TRIMMED = ("user_id", "session_id", "order_id", "search_query", "device")


def _trim(value: str | None) -> str | None:
    """Stripped string, or None for None and blank strings."""
    if value is None:
        return None
    value = value.strip()
    return value or None


@lru_cache(maxsize=65_536)  # a shop has far fewer distinct category strings than events
def normalize_category(path: str | None) -> str | None:
    """"Home & Garden > Living Room " -> "home & garden/living room"; "a.b" -> "a/b"; blank -> None.

    Dots separate segments only when no ">", "/", "|" or "\\" is present, so "2.5 inch/hdd" keeps its dot.
    """
    if path is None:
        return None
    parts = _PATH_SEPARATOR.split(path) if _PATH_SEPARATOR.search(path) else path.split(".")
    segments = [" ".join(part.split()).lower() for part in parts]
    # segments: collapsed whitespace, lower case, empties dropped (from "a//b" or a trailing ">")
    return "/".join(s for s in segments if s) or None


def to_base_currency(price: float | None, currency: str | None, cfg: IngestConfig,
                     field: str) -> tuple[float | None, str | None] | Problem:
    """(price in the base currency, original code when it differed) or a Problem for an unknown code.

    A missing or blank currency means the base currency (the shop's own).
    """
    code = (currency or "").strip().upper() or cfg.base_currency
    rate = cfg.rates.get(code)
    if rate is None:
        return Problem("unknown_currency", f"{field}={currency!r} has no FX rate to {cfg.base_currency}",
                       "normalize")
    if code == cfg.base_currency:
        return price, None
    return (None if price is None else round(price * rate, 4)), code


def _normalize_product(product: Mapping[str, Any], cfg: IngestConfig,
                       originals: list[str]) -> dict[str, Any] | Problem:
    converted = to_base_currency(product["price"], product["currency"], cfg, "product.currency")
    if isinstance(converted, Problem):
        return converted
    price, original = converted
    if original:
        originals.append(original)
    return {"product_id": product["product_id"].strip(), "category": normalize_category(product["category"]),
            "price": price, "currency": cfg.base_currency, "brand": _trim(product["brand"])}


def _normalize_line(line: Mapping[str, Any], i: int, cfg: IngestConfig,
                    originals: list[str]) -> dict[str, Any] | Problem:
    converted = to_base_currency(line["price"], line["currency"], cfg, f"cart[{i}].currency")
    if isinstance(converted, Problem):
        return converted
    price, original = converted
    if original:
        originals.append(original)
    return {"product_id": line["product_id"].strip(), "quantity": line["quantity"], "price": price,
            "currency": cfg.base_currency, "category": normalize_category(line["category"])}


def merge_cart_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per product id, in first-seen order, quantities summed (the input is not modified)."""
    merged: dict[str, dict[str, Any]] = {}
    for line in lines:
        seen = merged.get(line["product_id"])
        if seen is None:
            merged[line["product_id"]] = dict(line)
        else:
            seen["quantity"] += line["quantity"]
    return list(merged.values())


def _normalize_cart(cart: list[Mapping[str, Any]], cfg: IngestConfig,
                    originals: list[str]) -> list[dict[str, Any]] | Problem:
    lines = []
    for i, raw_line in enumerate(cart):
        line = _normalize_line(raw_line, i, cfg, originals)
        if isinstance(line, Problem):
            return line
        lines.append(line)
    merged = merge_cart_lines(lines)
    for line in merged:
        if line["quantity"] > cfg.max_quantity:
            return Problem("absurd_quantity", f"cart quantity of {line['product_id']!r} sums to "
                           f"{line['quantity']}, above the cap {cfg.max_quantity}", "normalize")
    return merged


def _normalize_urls(event: Mapping[str, Any], out: dict[str, Any]) -> Problem | None:
    for name in ("page_path", "referrer"):
        value = _trim(event[name])
        try:
            out[name] = strip_url_pii(value)
        except ValueError as exc:  # urlsplit refuses e.g. an unbalanced "[" in the host
            return Problem("invalid_url", f"{name} cannot be parsed: {exc}", "normalize")
    return None


def _normalize_nested(event: Mapping[str, Any], out: dict[str, Any]) -> None:
    filt, click = event["filter"], event["click"]
    out["filter"] = None if filt is None else {"name": filt["name"].strip(), "value": filt["value"].strip()}
    out["click"] = None if click is None else {**click, "element": _trim(click["element"])}
    out["consent"] = None if event["consent"] is None else dict(event["consent"])


def _normalize_items(event: Mapping[str, Any], cfg: IngestConfig, out: dict[str, Any]) -> Problem | None:
    """Product and cart lines in the base currency; the original codes go to the attributes."""
    originals: list[str] = []
    if event["product"] is not None:
        product = _normalize_product(event["product"], cfg, originals)
        if isinstance(product, Problem):
            return product
        out["product"] = product
    if event["cart"] is not None:
        cart = _normalize_cart(event["cart"], cfg, originals)
        if isinstance(cart, Problem):
            return cart
        out["cart"] = cart
    out["attributes"] = dict(event["attributes"])
    if originals:
        out["attributes"]["original_currency"] = ",".join(dict.fromkeys(originals))  # "USD,GBP"
    return None


def normalize_event(event: Mapping[str, Any], cfg: IngestConfig) -> dict[str, Any] | Problem:
    """The normalized copy of a validated event, or the Problem that prevents it."""
    out = dict(event)
    out["event_id"] = None if event["event_id"] is None else event["event_id"].strip().lower()
    out["anonymous_id"] = event["anonymous_id"].strip()
    for name in _TRIMMED:
        out[name] = _trim(event[name])
    problem = _normalize_urls(event, out) or _normalize_items(event, cfg, out)
    if problem:
        return problem
    _normalize_nested(event, out)
    return out
