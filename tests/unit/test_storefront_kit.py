"""Shared stand-ins for the storefront unit tests (no tests here): a tiny catalogue, a fake Redis, a client."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from services.storefront.app import create_app
from services.storefront.catalog import Catalog, build_catalog
from services.storefront.config import load_config

KEY = b"storefront-unit-key"
ROWS = [  # REES46 shape: two phones (high value), three keds (low value), a row without a category
    {"product_id": "p1", "category_code": "electronics.smartphone", "brand": "samsung", "price": "300.00"},
    {"product_id": "p1", "category_code": "electronics.smartphone", "brand": "samsung", "price": "310.00"},
    {"product_id": "p1", "category_code": "electronics.smartphone", "brand": "samsung", "price": "320.00"},
    {"product_id": "p2", "category_code": "electronics.smartphone", "brand": "apple", "price": "900.00"},
    {"product_id": "k1", "category_code": "apparel.shoes.keds", "brand": "nike", "price": "60.00"},
    {"product_id": "k1", "category_code": "apparel.shoes.keds", "brand": "nike", "price": "60.00"},
    {"product_id": "k2", "category_code": "apparel.shoes.keds", "brand": "puma", "price": "40.00"},
    {"product_id": "k3", "category_code": "apparel.shoes.keds", "brand": "", "price": "50.00"},
    {"product_id": "x9", "category_code": "", "brand": "acme", "price": "10.00"},
]


def small_catalog() -> Catalog:
    return build_catalog(ROWS, categories=5, per_category=10)


class FakeRedis:
    """``mget`` over a dict; can fail or hang to exercise the fallback."""

    def __init__(self, data: dict[str, Any] | None = None, fail: bool = False, delay_s: float = 0.0) -> None:
        self.data = {k: json.dumps(v) for k, v in (data or {}).items()}
        self.fail, self.delay_s = fail, delay_s
        self.calls: list[list[str]] = []

    async def mget(self, keys: Sequence[str]) -> list[Any]:
        self.calls.append(list(keys))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail:
            raise ConnectionError("redis is down")
        return [self.data.get(k) for k in keys]


@asynccontextmanager
async def client_for(store: Any = None, **cfg: Any) -> AsyncIterator[TestClient]:
    config = load_config({}, collector_url="http://collector.test:8088", **cfg)
    app = create_app(config, small_catalog(), KEY, store or FakeRedis())
    async with TestClient(TestServer(app)) as client:
        yield client


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


def trigger(user: str, trigger_type: str = "repeated_browse_offer", **extra: Any) -> dict[str, Any]:
    """A decoded trigger.avsc record."""
    base = {"trigger_id": f"t-{user}-{trigger_type}", "trigger_type": trigger_type, "user_id": user,
            "session_id": "s1", "channels": ["onsite"], "event_time": 1, "emitted_at": 2, "holdout": False,
            "cart": [], "cart_value": None, "currency": "EUR", "category": "electronics/smartphone",
            "recommended_items": ["p2"], "hints": {}, "rule": "r", "features": {}, "scores": {},
            "model_version": None}
    return {**base, **extra}
