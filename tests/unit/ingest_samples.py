"""Realistic behavior events for the ingestion tests, built from rows of the REES46 October 2019 sample.

REES46 rows have no event id (dedup falls back to the fingerprint), dotted category codes and
prices in USD; a "cart" row becomes add_to_cart and a "purchase" row a purchase of one line.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

# Rows 2, 3, 333, 164 and 381 of /work/shared/data/rees46-2019-oct-head.csv, without category_id:
# event_time, event_type, product_id, category_code, brand, price, user_id, user_session.
REES46_ROWS = [
    ("2019-10-01 00:00:00 UTC", "view", "44600062", "", "shiseido", "35.79", "541312140",
     "72d76fde-8bb3-4e00-8c23-a032dfed738c"),
    ("2019-10-01 00:00:00 UTC", "view", "3900821", "appliances.environment.water_heater", "aqua", "33.20",
     "554748717", "9333dfbd-b87a-4708-9857-6336556b0fcc"),
    ("2019-10-01 00:05:14 UTC", "cart", "5100816", "", "xiaomi", "29.51", "550121407",
     "6f623695-9581-4633-813f-825b8760c7ae"),
    ("2019-10-01 00:02:14 UTC", "purchase", "1004856", "electronics.smartphone", "samsung", "130.76",
     "543272936", "8187d148-3c41-46d4-b0c0-9c08cd9dc564"),
    ("2019-10-01 00:06:02 UTC", "purchase", "5100816", "", "xiaomi", "29.51", "514591159",
     "0e5dfc4b-2a55-43e6-8c05-97e1f07fbb56"),
]
_COLUMNS = ("event_time", "event_type", "product_id", "category_code", "brand", "price", "user_id",
            "user_session")
SAMPLE_NOW_MS = 1_569_888_600_000  # 2019-10-01 00:10:00 UTC, just after the rows above
_TYPES = {"view": "product_view", "cart": "add_to_cart", "purchase": "purchase"}


def base_event(**fields: Any) -> dict[str, Any]:
    """A complete behavior_event dict (every schema field present) with ``fields`` overriding."""
    event: dict[str, Any] = {
        "event_id": None, "event_type": "page_view", "user_id": None, "anonymous_id": "anon-1",
        "session_id": "sess-1", "channel": "web", "event_time": SAMPLE_NOW_MS - 60_000,
        "received_time": SAMPLE_NOW_MS - 59_000, "page_path": "/", "referrer": None, "product": None,
        "quantity": None, "cart": None, "order_id": None, "search_query": None, "filter": None,
        "click": None, "scroll_depth": None, "rating": None, "device": "desktop", "consent": None,
        "attributes": {},
    }
    event.update(fields)
    return event


def product(product_id: str = "p-1", price: float | None = 10.0, currency: str | None = "EUR",
            category: str | None = None, brand: str | None = None) -> dict[str, Any]:
    return {"product_id": product_id, "category": category, "price": price, "currency": currency,
            "brand": brand}


def line(product_id: str = "p-1", quantity: int = 1, price: float = 10.0, currency: str | None = "EUR",
         category: str | None = None) -> dict[str, Any]:
    return {"product_id": product_id, "quantity": quantity, "price": price, "currency": currency,
            "category": category}


def _millis(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S %Z").replace(tzinfo=UTC).timestamp() * 1000)


def rees46_event(row: dict[str, str]) -> dict[str, Any]:
    """One REES46 row as the collector would send it (USD prices, raw dotted category code)."""
    item = product(row["product_id"], float(row["price"]), "USD", row["category_code"] or None,
                   row["brand"] or None)
    ts = _millis(row["event_time"])
    event = base_event(event_type=_TYPES[row["event_type"]], anonymous_id=f"rees46-{row['user_id']}",
                       session_id=row["user_session"], event_time=ts, received_time=ts + 150,
                       page_path=f"/product/{row['product_id']}", product=item)
    if row["event_type"] == "cart":
        event["quantity"] = 1
    if row["event_type"] == "purchase":
        event["cart"] = [line(item["product_id"], 1, item["price"], "USD", item["category"])]
        event["order_id"] = f"order-{row['user_session'][:8]}"
    return event


def rees46_events() -> list[dict[str, Any]]:
    return [rees46_event(dict(zip(_COLUMNS, row, strict=True))) for row in REES46_ROWS]
