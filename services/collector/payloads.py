"""Request bodies of the three intake endpoints, split into positioned raw events.

``/v1/events`` (storefront tag): one event object, or ``{"events": [...]}``.
``/v1/batch`` (mobile SDKs): ``{"sdk": {"name", "version"}, "device": {...}, "events": [...]}``;
the device fills in each event's ``device`` and context attributes, the channel is ``app``.
``/v1/logs`` (server logs): text, one JSON event per line, blank lines ignored, channel ``server``.
Problems carry the event's ``index`` (or log ``line``, 1-based) so a client can find the culprit.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .checks import Checker
from .validation import DEVICES

DEVICE_FIELDS = ("type", "os", "os_version", "app_version", "model")


class RequestError(Exception):
    """The request as a whole is refused: HTTP ``status``, a message and optional problems."""

    def __init__(self, status: int, message: str, problems: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = problems or []


@dataclass
class Payload:
    """Raw events with their position (``{"index": i}`` or ``{"line": n}``) and source defaults."""

    items: list[tuple[dict[str, int], Any]]
    channel: str
    device: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(text: str) -> Any:
    """Strict JSON (no NaN/Infinity); RequestError 400 saying where it broke."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise RequestError(400, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:
        raise RequestError(400, f"invalid JSON: {exc}") from None


def decode_text(body: bytes) -> str:
    if not body.strip():
        raise RequestError(400, "empty body: send at least one event")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError(400, f"body is not UTF-8 (byte {exc.start})") from None


def _event_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise RequestError(400, f"{where} must be an array of event objects")
    return value


def events_payload(body: bytes) -> Payload:
    """The tag's body: one event, or ``{"events": [...]}`` with nothing else beside it."""
    doc = parse_json(decode_text(body))
    if isinstance(doc, dict) and "events" in doc:
        extra = sorted(set(doc) - {"events"})
        if extra:
            raise RequestError(400, f"unexpected field(s) next to events: {', '.join(extra)}")
        events = _event_list(doc["events"], "events")
    elif isinstance(doc, dict):
        events = [doc]
    else:
        raise RequestError(400, "body must be an event object or {\"events\": [...]}")
    return Payload([({"index": i}, event) for i, event in enumerate(events)], channel="web")


def batch_payload(body: bytes, max_string_len: int) -> Payload:
    """A mobile SDK batch; envelope problems are reported with their field and no index."""
    doc = parse_json(decode_text(body))
    if not isinstance(doc, dict):
        raise RequestError(400, "body must be an object with sdk, device and events")
    check = Checker(max_string_len)
    for key in sorted(set(doc) - {"sdk", "device", "events"}):
        check.add(key, "unknown field")
    sdk = check.obj(doc.get("sdk"), "sdk", ("name", "version")) or {}
    if doc.get("sdk") is None:
        check.add("sdk", "missing")
    attributes = {
        "sdk_name": check.string(sdk.get("name"), "sdk.name", required=True),
        "sdk_version": check.string(sdk.get("version"), "sdk.version", required=True),
    }
    device = check.obj(doc.get("device"), "device", DEVICE_FIELDS) or {}
    for name in DEVICE_FIELDS[1:]:
        attributes[name] = check.string(device.get(name), f"device.{name}")
    device_type = check.choice(device.get("type"), "device.type", DEVICES)
    if "events" not in doc:
        check.add("events", "missing")
    if check.problems:
        raise RequestError(400, "invalid batch envelope", [p.as_dict() for p in check.problems])
    events = _event_list(doc["events"], "events")
    kept = {k: v for k, v in attributes.items() if v is not None}
    return Payload([({"index": i}, e) for i, e in enumerate(events)], "app", device_type, kept)


def log_payload(body: bytes) -> Payload:
    """Server-log lines; a line that is not JSON is reported by its 1-based line number."""
    items: list[tuple[dict[str, int], Any]] = []
    bad: list[dict[str, Any]] = []
    for number, line in enumerate(decode_text(body).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(({"line": number}, parse_json(line)))
        except RequestError as exc:
            bad.append({"line": number, "field": "(line)", "problem": exc.message})
    if bad:
        raise RequestError(400, f"{len(bad)} log line(s) are not JSON", bad)
    return Payload(items, channel="server")
