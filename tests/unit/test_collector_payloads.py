"""Request bodies of /v1/events, /v1/batch and /v1/logs, and all-or-nothing intake into records."""
from __future__ import annotations

import json
from typing import Any

import pytest

from services.collector.intake import context_for, take
from services.collector.payloads import RequestError, batch_payload, events_payload, log_payload
from services.collector.validation import Limits
from udfs.avro_codec import registry
from udfs.privacy import pseudonymize

KEY = b"unit-test-key"
NOW = 1_767_225_600_000

# Three rows of the REES46 sample (one shopper's view, purchase, view of product 1004856 at
# 00:01:46, 00:02:14 and 00:02:48), re-timed to the test clock and written as server-log lines.
_SESSION = "8187d148-3c41-46d4-b0c0-9c08cd9dc564"
_PRODUCT = {"product_id": "1004856", "category": "electronics/smartphone", "brand": "samsung",
            "price": 130.76, "currency": "USD"}
REES46_LOG = "\n".join(json.dumps(e) for e in [
    {"event_type": "product_view", "event_time": NOW - 62_000, "anonymous_id": _SESSION,
     "session_id": _SESSION, "user_id": "543272936", "product": _PRODUCT},
    {"event_type": "purchase", "event_time": NOW - 34_000, "anonymous_id": _SESSION, "session_id": _SESSION,
     "user_id": "543272936", "cart": [{"product_id": "1004856", "quantity": 1, "price": 130.76}]},
    {"event_type": "product_view", "event_time": NOW, "anonymous_id": _SESSION,
     "session_id": _SESSION, "user_id": "543272936", "product": _PRODUCT},
])


def minimal(i: int = 0, **extra: Any) -> dict[str, Any]:
    return {"event_type": "page_view", "anonymous_id": f"a{i}", "event_time": NOW - i, **extra}


def body(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def refused(fn: Any, *args: Any) -> RequestError:
    with pytest.raises(RequestError) as info:
        fn(*args)
    return info.value


def test_events_accepts_one_object_or_an_events_list() -> None:
    assert [pos for pos, _ in events_payload(body(minimal())).items] == [{"index": 0}]
    many = events_payload(body({"events": [minimal(0), minimal(1)]}))
    assert [pos["index"] for pos, _ in many.items] == [0, 1] and many.channel == "web"


@pytest.mark.parametrize(("raw", "status", "fragment"), [
    (b"", 400, "empty body"),
    (b"{not json", 400, "invalid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
    (b'{"events": [], "sdk": 1}', 400, "unexpected field(s) next to events: sdk"),
    (b'{"events": {}}', 400, "events must be an array"),
    (b"[1, 2]", 400, "body must be an event object"),
    (b'{"event_type": "page_view", "scroll_depth": NaN}', 400, "NaN is not valid JSON"),
    (b"\xff\xfe{}", 400, "not UTF-8"),
])
def test_events_body_errors_are_explained(raw: bytes, status: int, fragment: str) -> None:
    error = refused(events_payload, raw)
    assert error.status == status and fragment in error.message


def test_sdk_batch_device_fills_each_event() -> None:
    payload = batch_payload(body({
        "sdk": {"name": "shoppulse-ios", "version": "1.4.0"},
        "device": {"type": "mobile", "os": "iOS", "os_version": "17.2", "app_version": "5.1"},
        "events": [minimal(0), minimal(1, device="tablet")],
    }), 2048)
    intake = take(payload, context_for(payload, NOW, KEY, Limits()))
    events = [registry().decode(value, "behavior_event") for _, value in intake.records]
    assert [e["channel"] for e in events] == ["app", "app"]
    assert [e["device"] for e in events] == ["mobile", "tablet"]
    assert events[0]["attributes"] == {"sdk_name": "shoppulse-ios", "sdk_version": "1.4.0", "os": "iOS",
                                       "os_version": "17.2", "app_version": "5.1"}


def test_sdk_batch_envelope_problems_name_their_field() -> None:
    error = refused(batch_payload, body({"sdk": {"name": "x"}, "device": {"type": "toaster", "imei": "1"},
                                         "events": [], "extra": 1}), 2048)
    fields = {p["field"]: p["problem"] for p in error.problems}
    assert error.status == 400
    assert fields["sdk.version"] == "missing"
    assert "unknown value 'toaster'" in fields["device.type"]
    assert fields["device.imei"] == "unknown field" and fields["extra"] == "unknown field"
    assert refused(batch_payload, body({"sdk": {"name": "a", "version": "1"}}), 2048).problems == [
        {"field": "events", "problem": "missing"}]


def test_log_lines_are_numbered_and_blank_lines_skipped() -> None:
    payload = log_payload(("\n" + REES46_LOG + "\n\n").encode())
    assert [pos for pos, _ in payload.items] == [{"line": 2}, {"line": 3}, {"line": 4}]
    assert payload.channel == "server"
    error = refused(log_payload, f"{json.dumps(minimal())}\n{{oops\n{json.dumps(minimal(1))}\n[".encode())
    assert [(p["line"], p["field"]) for p in error.problems] == [(2, "(line)"), (4, "(line)")]


def test_rees46_log_lines_become_keyed_server_records() -> None:
    payload = log_payload(REES46_LOG.encode())
    intake = take(payload, context_for(payload, NOW, KEY, Limits()))
    assert intake.ok and len(intake.records) == 3
    user = pseudonymize("543272936", KEY)
    assert {key for key, _ in intake.records} == {user.encode()}
    events = [registry().decode(value, "behavior_event") for _, value in intake.records]
    assert [e["event_type"] for e in events] == ["product_view", "purchase", "product_view"]
    assert all(e["channel"] == "server" and e["user_id"] == user for e in events)
    assert not any(b"543272936" in value for _, value in intake.records)
    assert intake.timestamps == [min(e["event_time"], NOW) for e in events], "Kafka timestamp = event time"


def test_intake_is_all_or_nothing_and_positions_every_problem() -> None:
    payload = events_payload(body({"events": [minimal(0), minimal(1, rating=7), {"event_type": "x"}]}))
    intake = take(payload, context_for(payload, NOW, KEY, Limits()))
    assert intake.records == []
    where = {(p.get("index"), p["field"]) for p in intake.problems}
    assert {(1, "rating"), (2, "event_type"), (2, "anonymous_id"), (2, "event_time")} <= where
    assert all(p.get("index") != 0 for p in intake.problems)


def test_anonymous_events_are_keyed_by_anonymous_id() -> None:
    payload = events_payload(body({"events": [minimal(7), minimal(8, email="x@y.example")]}))
    intake = take(payload, context_for(payload, NOW, KEY, Limits()))
    assert [key for key, _ in intake.records] == [b"a7", pseudonymize("x@y.example", KEY).encode()]
    assert not any(b"x@y.example" in value for _, value in intake.records)
