"""Live push: which triggers a page may show, and fan-out to the pages connected per user key.

``page_message`` turns a trigger (trigger.avsc) into what a page renders, or None when the
shopper must not see it: holdout (control group) triggers and triggers without the ``onsite``
channel are never shown. ``Hub`` routes a message to every connection subscribed to the
trigger's user key (a page subscribes with its anonymous id and, after login, the pseudonym)
and keeps the last few messages per key for a short time, so a page opened just after a
trigger (the shopper navigated) still shows it. ``Router`` also acts on erasures (``erasure``):
an erased key's replay is dropped, and its triggers emitted before the erasure are not shown.
Everything here runs on the event loop.
"""
from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .catalog import Catalog, category_name
from .erasure import Cutoffs

Message = dict[str, Any]
CLOSE: Message = {"type": "close"}


def hints_view(hints: Mapping[str, str], catalog: Catalog) -> Message | None:
    """The personalized banner a page shows for UI hints (text and link), or None."""
    banner = hints.get("banner", "")
    if banner.startswith("category:"):
        cid = banner.split(":", 1)[1]
        url = catalog.categories[cid].url if cid in catalog.categories else "/"
        return {"text": f"Picked for you: {category_name(cid)}", "url": url, "kind": "category"}
    if hints.get("highlight") == "cart_reminder":
        return {"text": "Your cart is waiting for you", "url": "/cart", "kind": "cart_reminder"}
    if hints.get("highlight") == "new_arrivals":
        return {"text": "New here? Have a look at what just arrived", "url": "/", "kind": "new_arrivals"}
    return None


def offer_view(category: str, catalog: Catalog, pct: int) -> Message:
    known = catalog.categories.get(category)
    name = known.name if known else category_name(category)
    return {"category": category, "name": name, "pct": pct, "url": known.url if known else "/",
            "text": f"{pct}% off {name} today, just for you"}


def sellable(items: Iterable[Any] | None, catalog: Catalog) -> list[dict[str, object]]:
    """The recommended products the shop sells, in the model's order, as the shop's API shows them
    (``Product.as_json``: id, name, brand, category, price, link); unknown ids are left out."""
    found = (catalog.products.get(str(item)) for item in items or ())
    return [p.as_json() for p in found if p is not None]


def page_message(trigger: Mapping[str, Any], catalog: Catalog, offer_pct: int) -> Message | None:
    """What a page renders for ``trigger``; None for holdout or non-onsite triggers."""
    if trigger.get("holdout") or "onsite" not in (trigger.get("channels") or ()):
        return None
    hints = dict(trigger.get("hints") or {})
    message: Message = {"trigger_id": trigger["trigger_id"], "type": trigger["trigger_type"],
                        "emitted_at": trigger.get("emitted_at"), "hints": hints,
                        "banner": hints_view(hints, catalog),
                        "recommended": sellable(trigger.get("recommended_items"), catalog)}
    if trigger["trigger_type"] == "repeated_browse_offer" and trigger.get("category"):
        message["offer"] = offer_view(str(trigger["category"]), catalog, offer_pct)
    return message


@dataclass(eq=False)
class Subscriber:
    """One connected page: the user keys it listens on and its bounded message queue."""

    keys: tuple[str, ...]
    queue: asyncio.Queue[Message] = field(default_factory=lambda: asyncio.Queue(64))

    def offer(self, message: Message) -> None:
        """Queue ``message``; a page that does not keep up loses its oldest message."""
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(message)


class Hub:
    """Fan-out by user key, with a short replay buffer per key."""

    def __init__(self, queue_size: int = 64, recent_s: float = 120.0, recent_keys: int = 10_000,
                 per_key: int = 8, clock: Callable[[], float] = time.monotonic) -> None:
        self.queue_size, self.recent_s, self.recent_keys, self.per_key = queue_size, recent_s, recent_keys, per_key
        self.clock = clock
        self.subscribers: dict[str, set[Subscriber]] = {}
        self.recent: OrderedDict[str, deque[tuple[float, Message]]] = OrderedDict()

    def subscribe(self, keys: Iterable[str]) -> Subscriber:
        sub = Subscriber(tuple(dict.fromkeys(keys)), asyncio.Queue(self.queue_size))
        for key in sub.keys:
            self.subscribers.setdefault(key, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        for key in sub.keys:
            subs = self.subscribers.get(key)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self.subscribers[key]

    def publish(self, key: str, message: Message) -> int:
        """Send ``message`` to every page of ``key`` and remember it; returns the pages reached."""
        self._remember(key, message)
        subs = self.subscribers.get(key, ())
        for sub in subs:
            sub.offer(message)
        return len(subs)

    def _remember(self, key: str, message: Message) -> None:
        kept = self.recent.pop(key, None) or deque(maxlen=self.per_key)
        kept.append((self.clock(), message))
        self.recent[key] = kept
        while len(self.recent) > self.recent_keys:
            self.recent.popitem(last=False)

    def recent_for(self, keys: Iterable[str]) -> list[Message]:
        """Messages of ``keys`` from the last ``recent_s`` seconds, oldest first."""
        since = self.clock() - self.recent_s
        found = [(t, m) for k in keys for t, m in self.recent.get(k, ()) if t >= since]
        return [m for _, m in sorted(found, key=lambda tm: tm[0])]

    def forget(self, keys: Iterable[str]) -> int:
        """Drop the replay buffer of ``keys`` (an erasure); returns the messages dropped."""
        return sum(len(self.recent.pop(key, ())) for key in keys)

    def close(self) -> None:
        """Tell every connected page's stream to end (server shutdown)."""
        for sub in {s for subs in self.subscribers.values() for s in subs}:
            sub.offer(CLOSE)


@dataclass
class Router:
    """Turns decoded triggers into page messages and publishes the visible ones; acts on erasures."""

    hub: Hub
    catalog: Catalog
    offer_pct: int
    cutoffs: Cutoffs = field(default_factory=Cutoffs)
    counts: dict[str, int] = field(default_factory=lambda: {"routed": 0, "hidden": 0, "erased": 0})

    def handle(self, schema: str, record: Mapping[str, Any]) -> int:
        """One decoded record of the feed: a trigger (``trigger``), an erasure request
        (``erasure_request``) or the job's confirmation (``erasure_confirmation``). Returns the
        pages a trigger reached, or the replayable messages an erasure dropped."""
        if schema == "trigger":
            return self.route(record)
        if schema == "erasure_request":
            ids = self.cutoffs.on_request(record, int(time.time() * 1000))
        else:
            ids = self.cutoffs.on_confirmation(record)
        return self.hub.forget(ids)

    def route(self, trigger: Mapping[str, Any]) -> int:
        """Publish ``trigger`` to its user's pages; returns the pages reached (0 when hidden)."""
        if self.cutoffs.suppressed(trigger):
            self.counts["erased"] += 1
            return 0
        message = page_message(trigger, self.catalog, self.offer_pct)
        if message is None:
            self.counts["hidden"] += 1
            return 0
        self.counts["routed"] += 1
        return self.hub.publish(str(trigger["user_id"]), message)
