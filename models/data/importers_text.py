"""Importers for the delimited-text formats: session-rec TSV, DIGINETICA CSV and REES46 CSV.

Each ``read_*`` function takes a path (plain or gzip) and returns sessions in the training format
(``models.data.sessions``), sorted by start time then id. A malformed row raises
``DataFormatError`` naming the file and line.

- session-rec TSV: header with ``SessionId``, ``ItemId``, ``Time`` (seconds, float) in any order;
  optional ``EventType``, ``Price``, ``Category`` columns (written by ``export``) are read back.
- DIGINETICA: ``session_id;user_id;item_id;timeframe;eventdate`` (or the original camelCase
  names); event time = ``eventdate`` at 00:00 UTC + ``timeframe`` ms from the session start.
- REES46: ``event_time,event_type,product_id,category_id,category_code,brand,price,user_id,
  user_session``; view/cart/remove_from_cart/purchase; category_code dots become '/'.
"""
from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from models.data.sessions import DataFormatError, Session, Step, make_step
from models.data.textio import SessionBuilder, numbered_lines, split_by_gap

Row = dict[str, str]
T = TypeVar("T")

REES46_EVENT_TYPES = {"view": "product_view", "cart": "add_to_cart",
                      "remove_from_cart": "remove_from_cart", "purchase": "purchase"}
REES46_COLUMNS = ("event_time", "event_type", "product_id", "category_id", "category_code",
                  "brand", "price", "user_id", "user_session")


def _rows(path: str | Path, label: str, sep: str, required: tuple[str, ...],
          rename: Callable[[str], str] = str) -> Iterator[tuple[int, Row]]:
    """(line number, row keyed by header name) for each data row; checks the header and widths."""
    lines = numbered_lines(path, label)
    first = next(lines, None)
    if first is None:
        raise DataFormatError(path, 1, f"empty file, expected a {label} header")
    header = [rename(h.strip()) for h in next(csv.reader([first[1]], delimiter=sep))]
    missing = [c for c in required if c not in header]
    if missing:
        raise DataFormatError(path, 1, f"{label} header lacks column(s) {', '.join(missing)}; got {header}")
    for lineno, line in lines:
        if not line.strip():
            continue
        values = next(csv.reader([line], delimiter=sep))
        if len(values) != len(header):
            raise DataFormatError(path, lineno, f"expected {len(header)} fields, got {len(values)}: "
                                                f"{line[:120]!r}")
        yield lineno, dict(zip(header, values, strict=True))


def _parse(path: str | Path, lineno: int, what: str, conv: Callable[[str], T], text: str) -> T:
    try:
        return conv(text)
    except ValueError as exc:
        raise DataFormatError(path, lineno, f"bad {what} {text!r}: {exc}") from None


def _step(path: str | Path, lineno: int, item_id: str, event_type: str, event_time: int,
          price: float | None = None, category: str | None = None) -> Step:
    try:
        return make_step(item_id, event_type, event_time, price, category)
    except ValueError as exc:
        raise DataFormatError(path, lineno, str(exc)) from None


def read_sessionrec(path: str | Path) -> list[Session]:
    """Sessions from a session-rec TSV file (``SessionId\\tItemId\\tTime``, Time in seconds)."""
    builder = SessionBuilder()
    for lineno, row in _rows(path, "session-rec TSV", "\t", ("SessionId", "ItemId", "Time")):
        seconds = _parse(path, lineno, "Time", float, row["Time"])
        price = _parse(path, lineno, "Price", float, row["Price"]) if row.get("Price") else None
        kind = row.get("EventType") or "product_view"
        category = row.get("Category") or None
        step = _step(path, lineno, row["ItemId"], kind, round(seconds * 1000), price, category)
        builder.add(row["SessionId"], step)
    return builder.sessions()


def _diginetica_name(name: str) -> str:
    return {"sessionId": "session_id", "userId": "user_id", "itemId": "item_id"}.get(name, name)


def _midnight_ms(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC).timestamp() * 1000)


def read_diginetica(path: str | Path) -> list[Session]:
    """Sessions from a DIGINETICA item-views CSV (``;``-separated, product views only)."""
    builder = SessionBuilder()
    required = ("session_id", "item_id", "timeframe", "eventdate")
    for lineno, row in _rows(path, "DIGINETICA CSV", ";", required, _diginetica_name):
        offset = _parse(path, lineno, "timeframe", int, row["timeframe"])
        day = _parse(path, lineno, "eventdate", _midnight_ms, row["eventdate"])
        builder.add(row["session_id"], _step(path, lineno, row["item_id"], "product_view", day + offset))
    return builder.sessions()


def _rees46_time(text: str) -> int:
    stamp = datetime.fromisoformat(text.removesuffix(" UTC")).replace(tzinfo=UTC)
    return int(stamp.timestamp() * 1000)


def _rees46_step(path: str | Path, lineno: int, row: Row) -> Step:
    kind = REES46_EVENT_TYPES.get(row["event_type"])
    if kind is None:
        raise DataFormatError(path, lineno, f"unknown REES46 event_type {row['event_type']!r}; "
                                            f"expected one of {', '.join(REES46_EVENT_TYPES)}")
    when = _parse(path, lineno, "event_time", _rees46_time, row["event_time"])
    price = _parse(path, lineno, "price", float, row["price"]) if row["price"] else None
    category = row["category_code"].replace(".", "/").lower() or None
    return _step(path, lineno, row["product_id"], kind, when, price, category)


def read_rees46(path: str | Path) -> list[Session]:
    """Sessions from a REES46 CSV; rows without ``user_session`` are cut by 30-minute gaps per user."""
    builder = SessionBuilder()
    orphans: dict[str, list[Step]] = {}
    for lineno, row in _rows(path, "REES46 CSV", ",", REES46_COLUMNS):
        step = _rees46_step(path, lineno, row)
        if row["user_session"]:
            builder.add(row["user_session"], step)
        elif row["user_id"]:
            orphans.setdefault(f"user-{row['user_id']}", []).append(step)
        else:
            raise DataFormatError(path, lineno, "row has neither user_session nor user_id")
    for key, steps in orphans.items():
        for session in split_by_gap(key, steps):
            for step in session.steps:
                builder.add(session.session_id, step)
    return builder.sessions()
