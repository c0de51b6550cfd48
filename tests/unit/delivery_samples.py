"""Trigger records for the delivery tests, as the job writes them (they round-trip through Avro)."""
from __future__ import annotations

import hashlib
from typing import Any

T0 = 1_767_261_600_000  # 2026-01-01T10:00:00Z


def trigger_id(seed: str) -> str:
    """A deterministic id shaped like the job's (UUID-like hex groups)."""
    d = hashlib.sha256(seed.encode()).hexdigest()
    return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"


def abandoned_cart(user: str, seed: str | None = None, **overrides: Any) -> dict[str, Any]:
    """An abandoned_cart trigger for ``user`` with two cart lines and two recommendations."""
    record: dict[str, Any] = {
        "trigger_id": trigger_id(seed or f"cart-{user}"), "trigger_type": "abandoned_cart", "user_id": user,
        "session_id": f"s-{user}", "channels": ["email", "push", "onsite"], "event_time": T0, "emitted_at": T0 + 5,
        "holdout": False,
        "cart": [{"product_id": "p-kettle", "quantity": 2, "price": 39.5, "category": "kitchen"},
                 {"product_id": "p-toaster", "quantity": 1, "price": 41.0, "category": "kitchen"}],
        "cart_value": 120.0, "currency": "EUR", "category": "kitchen",
        "recommended_items": ["p-mug", "p-grinder"], "hints": {},
        "rule": "abandoned_cart: 2 cart line(s) worth 120.00 and no checkout for abandon_window_ms=1800000",
        "features": {"cart_value": 120.0}, "scores": {"abandon_risk": 0.8}, "model_version": None,
    }
    record.update(overrides)
    return record


def browse_offer(user: str, category: str = "electronics/cameras", **overrides: Any) -> dict[str, Any]:
    """A repeated_browse_offer trigger for ``user`` on ``category``."""
    record = abandoned_cart(user, seed=f"browse-{user}", trigger_type="repeated_browse_offer", cart=[],
                            cart_value=None, category=category, recommended_items=["p-lens"],
                            rule="repeated_browse_offer: 3 views of a high-price category in 24 h")
    record.update(overrides)
    return record


def ui_hint(user: str, **overrides: Any) -> dict[str, Any]:
    """A ui_personalization trigger (onsite only, as the job emits them by default)."""
    record = abandoned_cart(user, seed=f"ui-{user}", trigger_type="ui_personalization", channels=["onsite"],
                            cart=[], cart_value=None, hints={"banner": "new_arrivals"}, rule="ui_personalization")
    record.update(overrides)
    return record
