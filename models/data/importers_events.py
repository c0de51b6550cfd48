"""Importers for event-level formats: OTTO JSONL and Avro files of behavior_event records.

- OTTO JSONL: one session a line, ``{"session": id, "events": [{"aid", "ts" (ms), "type"}]}``
  with type clicks -> product_view, carts -> add_to_cart, orders -> purchase.
- Avro: an object container file (``fastavro.writer``) of behavior_event records, read with the
  contract in ``avro_schemas/behavior_event.avsc`` as reader schema (older/newer writers resolve).
  Sessions are grouped by ``session_id``; events without one are cut per ``anonymous_id`` at
  30-minute gaps (ids ``<anonymous_id>#1``, ``#2``, ...). Steps take item, price and category
  from ``product``; events without a product keep ``item_id`` None.

Errors name the file and the line (OTTO) or the record number (Avro).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fastavro

from models.data.sessions import DataFormatError, Session, Step, make_step
from models.data.textio import Progress, SessionBuilder, numbered_lines, split_by_gap
from udfs.avro_codec import registry

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
OTTO_EVENT_TYPES = {"clicks": "product_view", "carts": "add_to_cart", "orders": "purchase"}


def _otto_step(event: Any) -> Step:
    if not isinstance(event, dict) or not {"aid", "ts", "type"} <= event.keys():
        raise ValueError(f"event needs aid, ts and type: {str(event)[:80]}")
    kind = OTTO_EVENT_TYPES.get(event["type"])
    if kind is None:
        known = ", ".join(OTTO_EVENT_TYPES)
        raise ValueError(f"unknown OTTO event type {event['type']!r}; expected one of {known}")
    if isinstance(event["aid"], bool) or not isinstance(event["aid"], (int, str)):
        raise ValueError(f"aid must be an integer or string, got {event['aid']!r}")
    return make_step(str(event["aid"]), kind, event["ts"])


def read_otto(path: str | Path) -> list[Session]:
    """Sessions from an OTTO JSONL file (one session a line)."""
    builder = SessionBuilder()
    for lineno, line in numbered_lines(path, "OTTO JSONL"):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict) or "session" not in obj or not isinstance(obj.get("events"), list):
                raise ValueError('expected {"session": id, "events": [...]}')
            steps = [_otto_step(e) for e in obj["events"]]
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise DataFormatError(path, lineno, f"bad OTTO session: {exc}") from None
        for step in steps:
            builder.add(str(obj["session"]), step)
    return builder.sessions()


def _epoch_ms(value: Any) -> Any:
    """Epoch millis from an int, or from the datetime fastavro makes of a timestamp-millis."""
    if isinstance(value, datetime):
        return (value - EPOCH) // timedelta(milliseconds=1)
    return value


def _avro_step(record: dict[str, Any]) -> Step:
    product = record.get("product") or {}
    return make_step(product.get("product_id"), record["event_type"], _epoch_ms(record["event_time"]),
                     product.get("price"), product.get("category"))


def _avro_records(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    reader_schema = registry().schema("behavior_event")
    progress = Progress(f"read Avro {Path(path).name}", unit="records")
    with open(path, "rb") as f:
        try:
            reader = fastavro.reader(f, reader_schema=reader_schema)
        except Exception as exc:  # fastavro raises several types for a bad header or schema
            raise DataFormatError(path, None, f"not a behavior_event Avro container file: {exc}") from None
        number = 0
        try:
            for number, record in enumerate(reader, start=1):  # noqa: B007 - number is used after the loop
                progress.update()
                yield number, record  # type: ignore[misc]
        except (ValueError, EOFError, fastavro.read.SchemaResolutionError) as exc:
            raise DataFormatError(path, None, f"record {number + 1}: unreadable: {exc}") from None
    progress.done()


def read_avro(path: str | Path) -> list[Session]:
    """Sessions from an Avro object container file of behavior_event records."""
    builder = SessionBuilder()
    anonymous: dict[str, list[Step]] = {}
    for number, record in _avro_records(path):
        try:
            step = _avro_step(record)
        except (ValueError, KeyError) as exc:
            raise DataFormatError(path, None, f"record {number}: {exc}") from None
        if record.get("session_id"):
            builder.add(record["session_id"], step)
        else:
            anonymous.setdefault(record["anonymous_id"], []).append(step)
    for key, steps in anonymous.items():
        for session in split_by_gap(key, steps):
            for step in session.steps:
                builder.add(session.session_id, step)
    return builder.sessions()
