"""Public dataset sessions as behavior_event records, in event order (pure, no Kafka).

The project's importers (``models.data``: session-rec TSV, REES46 CSV, OTTO JSONL, DIGINETICA
CSV, Avro) already map each source's event types onto the ``EventType`` enum and name the file
and line of a bad row (``DataFormatError``). Here every step becomes a complete record:

- ``anonymous_id`` = ``<source>-<session id>`` (the datasets have no stable device id), user id
  null, channel web; ``event_id`` a UUID derived from source, session and position, so a second
  replay of the same file is recognised by the job's dedup;
- ``product`` from the item (price null when the source has none; currency only with a price);
  cart events add or remove one unit; a purchase gets an order id;
- consent flags as captured (``granted``: analytics and personalization) or none at all.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from models.data.sessions import Session, Step

_NS = uuid.UUID("0b7e3c55-5d0f-4c2e-9a51-7a1f3f0e2d10")
CONSENT = {"granted": {"analytics": True, "personalization": True, "marketing": False}, "none": None}
CART_TYPES = ("add_to_cart", "remove_from_cart")


def ordered_steps(sessions: list[Session]) -> list[tuple[Session, int, Step]]:
    """(session, index, step) of every step, by event time, then session id, then position."""
    rows = [(s, i, step) for s in sessions for i, step in enumerate(s.steps)]
    rows.sort(key=lambda r: (r[2]["event_time"], r[0].session_id, r[1]))
    return rows


def _product(step: Step, currency: str) -> dict[str, Any] | None:
    if step["item_id"] is None:
        return None
    price = step["price"]
    return {"product_id": step["item_id"], "category": step["category"], "price": price,
            "currency": currency if price is not None else None, "brand": None}


def to_event(source: str, session: Session, index: int, step: Step, currency: str = "EUR",
             consent: str = "granted") -> dict[str, Any]:
    """The behavior_event record of one dataset step."""
    sid, etype, t = session.session_id, step["event_type"], step["event_time"]
    product = _product(step, currency)
    return {
        "event_id": str(uuid.uuid5(_NS, f"{source}|{sid}|{index}")), "event_type": etype, "user_id": None,
        "anonymous_id": f"{source}-{sid}", "session_id": sid, "channel": "web", "event_time": t,
        "received_time": t, "page_path": f"/p/{step['item_id']}" if product else "/", "referrer": None,
        "product": product, "quantity": 1 if etype in CART_TYPES else None, "cart": None,
        "order_id": f"o-{sid}-{index}" if etype == "purchase" else None, "search_query": None,
        "filter": None, "click": None, "scroll_depth": None, "rating": None, "device": None,
        "consent": CONSENT[consent], "attributes": {"source": source}}


def dataset_events(sessions: list[Session], source: str, currency: str = "EUR",
                   consent: str = "granted") -> Iterator[dict[str, Any]]:
    """Every step of ``sessions`` as a behavior_event record, in event order."""
    if consent not in CONSENT:
        raise ValueError(f"consent {consent!r}: expected one of {', '.join(CONSENT)}")
    for session, index, step in ordered_steps(sessions):
        yield to_event(source, session, index, step, currency, consent)
