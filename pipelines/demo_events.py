"""A small, seeded stream of shopper journeys for the demo, with the dirt real traffic has.

Journeys: browsers, product viewers, cart abandoners and buyers; then a share of the events is
delivered twice (retries) and a few records are broken (random bytes, truncated Avro, a future
timestamp, a negative price) so the demo shows validation, dedup and the dead-letter topic.
"""
from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from typing import Any

from udfs.avro_codec import registry

CATEGORIES = {
    "electronics/smartphone": (180.0, 1200.0), "electronics/audio/headphone": (30.0, 400.0),
    "appliances/kitchen/coffee_machine": (60.0, 900.0), "apparel/shoes": (25.0, 220.0),
    "furniture/living_room/sofa": (300.0, 2500.0), "kids/toys": (5.0, 80.0),
}


def _event(rng: random.Random, user: dict[str, Any], etype: str, t: int, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "event_type": etype,
        "user_id": user["user_id"], "anonymous_id": user["anonymous_id"], "session_id": user["session_id"],
        "channel": "web", "event_time": t, "received_time": t + 40, **extra,
    }


Products = Sequence[tuple[str, str, float]]  # (product id, category, price in the base currency)


def _product(rng: random.Random, products: Products | None) -> dict[str, Any]:
    if products:
        pid, category, price = rng.choice(products)
        return {"product_id": pid, "category": category, "price": price, "currency": "EUR", "brand": None}
    category = rng.choice(sorted(CATEGORIES))
    low, high = CATEGORIES[category]
    return {"product_id": f"p{rng.randrange(1000, 1200)}", "category": category,
            "price": round(rng.uniform(low, high), 2), "currency": rng.choice(["EUR", "EUR", "USD"]), "brand": None}


def shop_products() -> list[tuple[str, str, float]]:
    """The storefront's catalogue (its ``SP_STOREFRONT_CATALOG_*`` settings) as ``Products``."""
    from services.storefront.catalog import configured_catalog

    return configured_catalog().offers()


def journey(rng: random.Random, idx: int, start_ms: int, products: Products | None = None) -> list[dict[str, Any]]:
    """One shopper's session: views, maybe a cart, maybe a purchase; of ``products`` when given,
    else of a synthetic catalogue (ids p1000-p1199)."""
    user = {"user_id": f"u_{idx:032x}" if idx % 3 else None, "anonymous_id": f"anon-{idx}",
            "session_id": f"s-{idx}"}
    t = start_ms + rng.randrange(0, 60_000)
    events = [_event(rng, user, "page_view", t, page_path="/")]
    viewed = [_product(rng, products) for _ in range(rng.randint(1, 5))]
    for product in viewed:
        t += rng.randrange(2_000, 30_000)
        events.append(_event(rng, user, "product_view", t, product=product, page_path=f"/p/{product['product_id']}"))
    kind = idx % 4
    if kind >= 2:
        product = viewed[-1]
        line = {"product_id": product["product_id"], "quantity": 1, "price": product["price"],
                "currency": product["currency"], "category": product["category"]}
        t += rng.randrange(2_000, 20_000)
        events.append(_event(rng, user, "add_to_cart", t, product=product, quantity=1, cart=[line]))
        if kind == 3:
            t += rng.randrange(5_000, 60_000)
            events.append(_event(rng, user, "purchase", t, cart=[line], order_id=f"o-{idx}"))
    return events


def demo_stream(shoppers: int, start_ms: int, seed: int = 7, dup_share: float = 0.3,
                products: Products | None = None) -> list[bytes]:
    """Encoded events of ``shoppers`` journeys, with duplicates and broken records mixed in."""
    rng = random.Random(seed)
    reg = registry()
    events = sorted((e for i in range(shoppers) for e in journey(rng, i, start_ms, products)),
                    key=lambda e: e["event_time"])
    stream = []
    for event in events:  # in event-time order; a retried delivery follows its original closely
        stream.append(reg.encode("behavior_event", event))
        if rng.random() < dup_share:
            stream.append(stream[-1])
    for bad in _broken(rng, reg, shoppers, start_ms, products):
        stream.insert(rng.randrange(len(stream)), bad)
    return stream


def _broken(rng: random.Random, reg: Any, shoppers: int, start_ms: int, products: Products | None) -> list[bytes]:
    good = reg.encode("behavior_event", journey(rng, shoppers, start_ms, products)[0])
    future = journey(rng, shoppers + 1, start_ms + 86_400_000, products)[0]
    negative = journey(rng, shoppers + 2, start_ms, products)[1]
    negative["product"]["price"] = -5.0
    return [bytes(rng.getrandbits(8) for _ in range(40)), good[: len(good) // 2],
            reg.encode("behavior_event", future), reg.encode("behavior_event", negative)]


def demo_consents(shoppers: int, at_ms: int) -> list[tuple[bytes, bytes]]:
    """(key, consent record) for the signed-in demo shoppers (two in three; every fifth says no)."""
    reg = registry()
    records = []
    for idx in range(shoppers):
        if idx % 3:
            yes = idx % 5 != 0
            user = f"u_{idx:032x}"
            records.append((user.encode(), reg.encode("consent_record", {
                "user_id": user, "email": yes, "push": yes, "personalization": yes,
                "analytics": True, "source": "demo", "updated_at": at_ms})))
    return records
