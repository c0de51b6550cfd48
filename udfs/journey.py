"""Scripted shopper journeys in event time: complete behavior_event dicts for tests, demos, benchmarks.

    j = Journey(user_id="u1", start_ms=T0)
    j.view("p1", "shoes/running", 120.0).wait(minutes=2).add("p1", "shoes/running", 120.0)
    events = j.events

Every event has exactly the fields of ``avro_schemas/behavior_event.avsc`` (so it encodes with
``registry().encode("behavior_event", e)``), a deterministic event_id, and ``event_time`` from the
journey's clock, which each action advances by about ``step_ms`` (see ``next_step``; ``wait``
adds more).
"""
from __future__ import annotations

import uuid
from typing import Any

_NS = uuid.UUID("6f1c2a4e-3b1d-4c55-9a0e-5e7d2c1b9f00")


class Journey:
    """One shopper's event-time script; the actions return ``self`` for chaining."""

    def __init__(self, user_id: str | None = None, anonymous_id: str = "anon-1", start_ms: int = 0,
                 step_ms: int = 10_000, session_id: str | None = "s1",
                 personalization: bool | None = None, channel: str = "web", jitter: bool = True) -> None:
        self.user_id, self.anonymous_id, self.session_id = user_id, anonymous_id, session_id
        self.now, self.step_ms, self.channel = start_ms, step_ms, channel
        self.personalization, self.jitter = personalization, jitter
        self.cart: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    def wait(self, ms: int = 0, seconds: float = 0, minutes: float = 0, hours: float = 0) -> Journey:
        self.now += int(ms + seconds * 1000 + minutes * 60_000 + hours * 3_600_000)
        return self

    def event(self, event_type: str, **fields: Any) -> Journey:
        """Append an event of ``event_type`` with ``fields`` over the schema's defaults."""
        key = f"{self.user_id}|{self.anonymous_id}|{len(self.events)}|{self.now}|{event_type}"
        consent = None if self.personalization is None else {
            "analytics": True, "personalization": self.personalization, "marketing": False}
        e: dict[str, Any] = {
            "event_id": str(uuid.uuid5(_NS, key)), "event_type": event_type, "user_id": self.user_id,
            "anonymous_id": self.anonymous_id, "session_id": self.session_id, "channel": self.channel,
            "event_time": self.now, "received_time": self.now + 50, "page_path": "/", "referrer": None,
            "product": None, "quantity": None, "cart": None, "order_id": None, "search_query": None,
            "filter": None, "click": None, "scroll_depth": None, "rating": None, "device": "desktop",
            "consent": consent, "attributes": {}}
        e.update(fields)
        self.events.append(e)
        self.now += self.next_step()
        return self

    def next_step(self) -> int:
        """The gap to the next action: ``step_ms`` scaled by a deterministic factor in [0.5, 1.5)
        (people are irregular; a fixed beat would look automated to the bot score)."""
        if not self.jitter:
            return self.step_ms
        u = (len(self.events) * 2654435761 + 97) % 1000 / 1000
        return int(self.step_ms * (0.5 + u))

    @staticmethod
    def product(product_id: str, category: str | None, price: float | None) -> dict[str, Any]:
        return {"product_id": product_id, "category": category, "price": price, "currency": "EUR",
                "brand": None}

    def view(self, product_id: str, category: str | None = None, price: float | None = None) -> Journey:
        return self.event("product_view", product=self.product(product_id, category, price))

    def add(self, product_id: str, category: str | None = None, price: float = 10.0,
            quantity: int = 1) -> Journey:
        for line in self.cart:
            if line["product_id"] == product_id:
                line["quantity"] += quantity
                break
        else:
            self.cart.append({"product_id": product_id, "quantity": quantity, "price": price,
                              "currency": "EUR", "category": category})
        return self.event("add_to_cart", product=self.product(product_id, category, price), quantity=quantity,
                          cart=[dict(line) for line in self.cart])

    def remove(self, product_id: str, quantity: int | None = None) -> Journey:
        line = next(ln for ln in self.cart if ln["product_id"] == product_id)
        line["quantity"] -= quantity or line["quantity"]
        self.cart = [ln for ln in self.cart if ln["quantity"] > 0]
        product = self.product(product_id, line["category"], line["price"])
        return self.event("remove_from_cart", product=product, quantity=quantity,
                          cart=[dict(ln) for ln in self.cart])

    def checkout(self) -> Journey:
        return self.event("checkout_start", cart=[dict(line) for line in self.cart])

    def purchase(self, order_id: str = "o1") -> Journey:
        bought, self.cart = self.cart, []
        return self.event("purchase", order_id=order_id, cart=[dict(line) for line in bought])

    def login(self, user_id: str) -> Journey:
        self.user_id = user_id
        return self.event("login")

    def filter(self, name: str, value: str) -> Journey:
        return self.event("filter_applied", filter={"name": name, "value": value})

    def page(self, path: str = "/") -> Journey:
        return self.event("page_view", page_path=path)
