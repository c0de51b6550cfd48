"""Turn one JSON object from a client into a behavior_event dict, or the list of its problems.

Input uses the behavior_event field names plus conveniences: ``timestamp`` (ISO 8601 with an
offset, or epoch millis) for ``event_time``; ``url`` for ``page_path``; a raw ``user_id`` and/or
``email``, which become the keyed-HMAC ``user_id`` (the raw values are dropped here, a raw
``user_id`` wins over ``email``). ``received_time`` is the collector's. The result has exactly the
fields of behavior_event.avsc and is checked to encode with the schema.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from udfs.avro_codec import registry
from udfs.privacy import normalize_email, pseudonymize, strip_url_pii

from . import records
from .checks import Checker, Problem, redact_emails
from .config import CollectorConfig

SCHEMA = "behavior_event"
_FIELDS = {f["name"]: f for f in registry().schema(SCHEMA)["fields"]}
EVENT_FIELDS = tuple(_FIELDS)
EVENT_TYPES = frozenset(_FIELDS["event_type"]["type"]["symbols"])
CHANNELS = frozenset(_FIELDS["channel"]["type"]["symbols"])
DEVICES = frozenset({"desktop", "mobile", "tablet"})
INPUT_FIELDS = frozenset(EVENT_FIELDS) - {"received_time"} | {"timestamp", "url", "email"}
NEEDS = {
    "product_view": "product", "add_to_cart": "product", "remove_from_cart": "product",
    "favorite": "product", "review": "product", "rating": "rating", "search": "search_query",
    "filter_applied": "filter", "scroll": "scroll_depth",
}


@dataclass(frozen=True)
class Limits:
    """Bounds on input values, from the collector config."""

    max_string_len: int = 2048
    max_attributes: int = 32
    future_skew_ms: int = 300_000
    max_age_ms: int = 30 * 86_400_000

    @classmethod
    def from_config(cls, cfg: CollectorConfig) -> Limits:
        skew_ms, age_ms = int(cfg.future_skew_s * 1000), int(cfg.max_age_s * 1000)
        return cls(cfg.max_string_len, cfg.max_attributes, skew_ms, age_ms)


@dataclass(frozen=True)
class Context:
    """What the collector adds to every event of a request: receive time, key and source defaults."""

    received_ms: int
    key: bytes
    limits: Limits = Limits()
    channel: str = "web"
    device: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)


def validate_event(obj: Any, ctx: Context) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The behavior_event dict for ``obj`` and no problems, or None and every problem found."""
    check = Checker(ctx.limits.max_string_len)
    if not isinstance(obj, dict):
        check.wrong_type("(event)", "a JSON object", obj)
        return None, check.problems
    for name in obj:
        if name == "received_time":
            check.add(name, "set by the collector; do not send it")
        elif name not in INPUT_FIELDS:
            check.add(str(name), "unknown field")
    event = _assemble(check, obj, ctx)
    _check_needs(check, obj, event)
    if not check.problems:
        _check_encodable(check, event)
    return (None, check.problems) if check.problems else (event, [])


def _assemble(check: Checker, raw: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    return {
        "event_id": check.uuid(raw.get("event_id"), "event_id"),
        "event_type": check.choice(raw.get("event_type"), "event_type", EVENT_TYPES, required=True),
        "user_id": _user_id(check, raw, ctx.key),
        "anonymous_id": check.string(raw.get("anonymous_id"), "anonymous_id", required=True),
        "session_id": check.string(raw.get("session_id"), "session_id"),
        "channel": check.choice(raw.get("channel", ctx.channel), "channel", CHANNELS, required=True),
        "event_time": _event_time(check, raw, ctx),
        "received_time": ctx.received_ms,
        "page_path": _page_path(check, raw),
        "referrer": _referrer(check, raw.get("referrer")),
        "product": records.product(check, raw.get("product")),
        "quantity": check.integer(raw.get("quantity"), "quantity", 1, records.MAX_QUANTITY),
        "cart": records.cart(check, raw.get("cart")),
        "order_id": check.string(_as_text(raw.get("order_id")), "order_id"),
        "search_query": _redacted(check, raw.get("search_query"), "search_query"),
        "filter": records.search_filter(check, raw.get("filter")),
        "click": records.click(check, raw.get("click")),
        "scroll_depth": check.integer(raw.get("scroll_depth"), "scroll_depth", 0, 100),
        "rating": check.integer(raw.get("rating"), "rating", 1, 5),
        "device": check.choice(raw.get("device", ctx.device), "device", DEVICES),
        "consent": records.consent(check, raw.get("consent")),
        "attributes": {**ctx.attributes,
                       **records.attributes(check, raw.get("attributes"), ctx.limits.max_attributes)},
    }


def _redacted(check: Checker, value: Any, name: str) -> str | None:
    """Free text a shopper typed: e-mail addresses in it are replaced."""
    checked = check.string(value, name)
    return redact_emails(checked) if checked else None


def _as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _user_id(check: Checker, raw: Mapping[str, Any], key: bytes) -> str | None:
    """Keyed pseudonym of the raw user id, else of the normalized e-mail; the raw values stop here."""
    user = check.string(_as_text(raw.get("user_id")), "user_id")
    email = check.string(raw.get("email"), "email")
    if email is not None and not records.looks_like_email(email):
        check.add("email", "not an e-mail address")
        email = None
    if user is not None:
        return pseudonymize(user.strip(), key)
    return pseudonymize(normalize_email(email), key) if email is not None else None


def _event_time(check: Checker, raw: Mapping[str, Any], ctx: Context) -> int | None:
    given = [name for name in ("event_time", "timestamp") if raw.get(name) is not None]
    if not given:
        check.add("event_time", "missing (send event_time or timestamp)")
        return None
    if len(given) == 2:
        check.add("timestamp", "both event_time and timestamp given; send one")
        return None
    name = given[0]
    millis = check.timestamp(raw[name], name)
    if millis is None:
        return None
    ahead = millis - ctx.received_ms
    if ahead > ctx.limits.future_skew_ms:
        check.add(name, f"{ahead / 1000:.0f}s in the future (limit {ctx.limits.future_skew_ms / 1000:.0f}s)")
    elif -ahead > ctx.limits.max_age_ms:
        unit_hint = " (expected epoch milliseconds)" if isinstance(raw[name], int) else ""
        limit_days = ctx.limits.max_age_ms / 86_400_000
        check.add(name, f"{-ahead / 86_400_000:.1f} days old (limit {limit_days:.1f}){unit_hint}")
    return millis


def _page_path(check: Checker, raw: Mapping[str, Any]) -> str | None:
    if raw.get("url") is not None and raw.get("page_path") is not None:
        check.add("url", "both url and page_path given; send one")
        return None
    name = "url" if raw.get("url") is not None else "page_path"
    text = check.string(raw.get(name), name)
    return strip_url_pii(text) if text is not None else None


def _referrer(check: Checker, value: Any) -> str | None:
    """Referring site and path, without user info, personal query parameters or fragment."""
    text = check.string(value, "referrer")
    if text is None:
        return None
    parts = urlsplit(text.strip())
    host = parts.hostname or ""
    origin = f"{parts.scheme}://{host}" if parts.scheme and host else host
    return origin + (strip_url_pii(text) or "/")


def _check_needs(check: Checker, raw: Mapping[str, Any], event: Mapping[str, Any]) -> None:
    needed = NEEDS.get(str(event.get("event_type")))
    if needed and raw.get(needed) is None:
        check.add(needed, f"missing; a {event['event_type']} event needs it")


def _check_encodable(check: Checker, event: dict[str, Any]) -> None:
    try:
        registry().encode(SCHEMA, event)
    except Exception as exc:  # fastavro raises several types; any of them means "not encodable"
        check.add("(event)", f"does not encode with the {SCHEMA} schema: {type(exc).__name__}: {exc}")
