"""Checks of an event's nested records: product, cart lines, filter, click, consent, attributes.

Each function converts the JSON value into the behavior_event record shape (every field of the
Avro record present), recording problems on the ``Checker`` and returning None when it is unusable.
"""
from __future__ import annotations

import re
from typing import Any

from .checks import Checker, redact_emails

MAX_QUANTITY = 10_000
MAX_CART_LINES = 500
MAX_COORDINATE = 100_000
_CURRENCY = re.compile(r"^[A-Z]{3}$")

PRODUCT_FIELDS = ("product_id", "category", "price", "currency", "brand")
CART_FIELDS = ("product_id", "quantity", "price", "currency", "category")
CONSENT_FIELDS = ("analytics", "personalization", "marketing")


def currency(check: Checker, value: Any, field: str) -> str | None:
    """An ISO 4217 code; lower case is accepted and upper-cased."""
    text = check.string(value, field)
    if text is None:
        return None
    code = text.strip().upper()
    if not _CURRENCY.match(code):
        check.add(field, f"{text[:16]!r} is not an ISO 4217 currency code (e.g. EUR)")
        return None
    return code


def product(check: Checker, value: Any, field: str = "product") -> dict[str, Any] | None:
    raw = check.obj(value, field, PRODUCT_FIELDS)
    if raw is None:
        return None
    return {
        "product_id": check.string(_id_text(raw.get("product_id")), f"{field}.product_id", required=True),
        "category": check.string(raw.get("category"), f"{field}.category"),
        "price": check.number(raw.get("price"), f"{field}.price"),
        "currency": currency(check, raw.get("currency"), f"{field}.currency"),
        "brand": check.string(raw.get("brand"), f"{field}.brand"),
    }


def cart(check: Checker, value: Any, field: str = "cart") -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        check.wrong_type(field, "an array of cart lines", value)
        return None
    if len(value) > MAX_CART_LINES:
        check.add(field, f"{len(value)} lines, more than {MAX_CART_LINES}")
        return None
    return [line for i, item in enumerate(value) if (line := cart_line(check, item, f"{field}[{i}]"))]


def cart_line(check: Checker, value: Any, field: str) -> dict[str, Any] | None:
    if value is None:
        check.add(field, "null instead of a cart line")
        return None
    raw = check.obj(value, field, CART_FIELDS)
    if raw is None:
        return None
    line = {
        "product_id": check.string(_id_text(raw.get("product_id")), f"{field}.product_id", required=True),
        "quantity": check.integer(raw.get("quantity"), f"{field}.quantity", 1, MAX_QUANTITY),
        "price": check.number(raw.get("price"), f"{field}.price"),
        "currency": currency(check, raw.get("currency"), f"{field}.currency"),
        "category": check.string(raw.get("category"), f"{field}.category"),
    }
    for required in ("quantity", "price"):
        if raw.get(required) is None:
            check.add(f"{field}.{required}", "missing")
    return line


def search_filter(check: Checker, value: Any, field: str = "filter") -> dict[str, Any] | None:
    raw = check.obj(value, field, ("name", "value"))
    if raw is None:
        return None
    filter_value = raw.get("value")
    if isinstance(filter_value, int | float) and not isinstance(filter_value, bool):
        filter_value = str(filter_value)
    text = check.string(filter_value, f"{field}.value", required=True)
    return {
        "name": check.string(raw.get("name"), f"{field}.name", required=True),
        "value": redact_emails(text) if text else text,
    }


def click(check: Checker, value: Any, field: str = "click") -> dict[str, Any] | None:
    raw = check.obj(value, field, ("x", "y", "element"))
    if raw is None:
        return None
    for axis in ("x", "y"):
        if raw.get(axis) is None:
            check.add(f"{field}.{axis}", "missing")
    element = check.string(raw.get("element"), f"{field}.element")
    return {
        "x": check.integer(raw.get("x"), f"{field}.x", 0, MAX_COORDINATE),
        "y": check.integer(raw.get("y"), f"{field}.y", 0, MAX_COORDINATE),
        "element": redact_emails(element) if element else None,
    }


def consent(check: Checker, value: Any, field: str = "consent") -> dict[str, bool] | None:
    raw = check.obj(value, field, CONSENT_FIELDS)
    if raw is None:
        return None
    return {name: bool(check.boolean(raw.get(name), f"{field}.{name}")) for name in CONSENT_FIELDS}


def attributes(check: Checker, value: Any, limit: int, field: str = "attributes") -> dict[str, str]:
    """Free-form non-personal context: string keys to strings (numbers and booleans are stringified)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        check.wrong_type(field, "an object of strings", value)
        return {}
    if len(value) > limit:
        check.add(field, f"{len(value)} entries, more than {limit}")
        return {}
    out: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, bool):
            item = "true" if item else "false"
        elif isinstance(item, int | float):
            item = str(item)
        text = check.string(item, f"{field}.{key}", required=True)
        if text is not None and check.string(key, f"{field} key", required=True) is not None:
            out[key] = redact_emails(text)
    return out


def _id_text(value: Any) -> Any:
    """Product ids may arrive as JSON integers; they are strings on the topic."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def looks_like_email(text: str) -> bool:
    return bool(_EMAIL_SHAPE.match(text.strip()))
