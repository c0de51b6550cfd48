"""The one training format: sessions of steps, shared by the model offline and the stream.

A ``Session`` is a ``session_id`` and its ``steps``, oldest first. Each step is a plain dict with
exactly the keys of the "step" format in ``udfs/scoring.py``, so the sequence the model is trained
on is the one the streaming scorer sees:

- ``item_id`` (str | None): product id; None for steps without a product (search, page_view).
- ``event_type`` (str): a behavior_event ``EventType`` symbol (product_view, add_to_cart, ...).
- ``event_time`` (int): UTC epoch millis.
- ``price`` (float | None): unit price in the shop's base currency, when known.
- ``category`` (str | None): category path, lower-case segments joined by '/'.

Bad input raises ``DataFormatError``, whose message names the file and line.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

_SCHEMA = Path(__file__).resolve().parents[2] / "avro_schemas" / "behavior_event.avsc"


def _event_types() -> tuple[str, ...]:
    fields = json.loads(_SCHEMA.read_text())["fields"]
    return tuple(next(f["type"]["symbols"] for f in fields if f["name"] == "event_type"))


EVENT_TYPES: tuple[str, ...] = _event_types()
"""The behavior_event EventType symbols, read from the Avro contract (the one copy)."""


class Step(TypedDict):
    """One event of a session, in the scorer's step format."""

    item_id: str | None
    event_type: str
    event_time: int
    price: float | None
    category: str | None


class DataFormatError(ValueError):
    """Input that does not parse; the message reads ``path:line: what is wrong``."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line
        self.detail = message


def make_step(item_id: str | None, event_type: str, event_time: int,
              price: float | None = None, category: str | None = None) -> Step:
    """Build a step, checking the event type and the types of its values."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}; expected one of {', '.join(EVENT_TYPES)}")
    if item_id is not None and not isinstance(item_id, str):
        raise ValueError(f"item_id must be a string or None, got {item_id!r}")
    if isinstance(event_time, bool) or not isinstance(event_time, int):
        raise ValueError(f"event_time must be epoch millis (int), got {event_time!r}")
    if category is not None and not isinstance(category, str):
        raise ValueError(f"category must be a string or None, got {category!r}")
    if price is not None and (not isinstance(price, (int, float)) or price != price or price < 0):
        raise ValueError(f"price must be a non-negative number or None, got {price!r}")
    return {"item_id": item_id, "event_type": event_type, "event_time": event_time,
            "price": None if price is None else float(price), "category": category}


@dataclass
class Session:
    """A shopper session: its id and its steps, oldest first."""

    session_id: str
    steps: list[Step] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def start_time(self) -> int:
        """Event time of the first step (epoch millis); 0 for an empty session."""
        return self.steps[0]["event_time"] if self.steps else 0

    @property
    def item_ids(self) -> list[str]:
        """Item ids of the steps that have one, in order (repeats kept)."""
        return [s["item_id"] for s in self.steps if s["item_id"] is not None]

    @property
    def has_purchase(self) -> bool:
        return any(s["event_type"] == "purchase" for s in self.steps)

    def sorted_by_time(self) -> Session:
        """The same session with steps in event-time order (stable for equal times)."""
        return Session(self.session_id, sorted(self.steps, key=lambda s: s["event_time"]))


def sort_sessions(sessions: Iterable[Session]) -> list[Session]:
    """Sessions ordered by start time, then id: the deterministic order every importer returns."""
    return sorted(sessions, key=lambda s: (s.start_time, s.session_id))


def session_from_json(obj: Any) -> Session:
    """A session from its columnar JSON form (see ``store``); raises ValueError when malformed."""
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        raise ValueError("expected an object with a string 'id'")
    cols: list[list[Any]] = []
    for key in ("items", "types", "times", "prices", "categories"):
        col = obj.get(key)
        if not isinstance(col, list):
            raise ValueError(f"expected a list {key!r}")
        cols.append(col)
    if len({len(c) for c in cols}) != 1:
        raise ValueError("lists items/types/times/prices/categories differ in length")
    return Session(obj["id"], [make_step(i, t, ts, p, c) for i, t, ts, p, c in zip(*cols, strict=True)])


def session_to_json(session: Session) -> dict[str, Any]:
    """The columnar JSON form of a session: one list per step key."""
    st = session.steps
    return {"id": session.session_id, "items": [s["item_id"] for s in st],
            "types": [s["event_type"] for s in st], "times": [s["event_time"] for s in st],
            "prices": [s["price"] for s in st], "categories": [s["category"] for s in st]}
