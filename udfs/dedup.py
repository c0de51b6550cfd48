"""Deduplication of behavior events delivered more than once (retries, several SDKs).

``dedup_key(event)`` names an event: ``"id:" + event_id`` when the source set one, else
``"fp:" + hash(session or anonymous id, event_type, item, event_time)``. The Flink job keeps the
keys in keyed state with a TTL; ``TtlDedup`` is the same rule in plain Python (TTL in event time,
bounded memory) for tests, replays and offline tools.
"""
from __future__ import annotations

import hashlib
import heapq
from collections.abc import Mapping
from typing import Any

_SEP = "\x1f"  # unit separator: cannot occur in the ids, so fields never run into each other


def _item(event: Mapping[str, Any]) -> str:
    """The item an event is about: the product id, else the order id (purchases), else ""."""
    product = event.get("product")
    if product and product.get("product_id"):
        return str(product["product_id"])
    return event.get("order_id") or ""


def fingerprint(event: Mapping[str, Any]) -> str:
    """Stable across processes and runs (not Python's salted ``hash``): 32 hex chars of BLAKE2b."""
    parts = (event.get("session_id") or event["anonymous_id"], event["event_type"], _item(event),
             str(event["event_time"]))
    return hashlib.blake2b(_SEP.join(parts).encode("utf-8"), digest_size=16).hexdigest()


def dedup_key(event: Mapping[str, Any]) -> str:
    """"id:<event_id>" when the event has an id, else "fp:<fingerprint>"."""
    event_id = event.get("event_id")
    return f"id:{event_id}" if event_id else f"fp:{fingerprint(event)}"


class TtlDedup:
    """Remembers keys for ``ttl_ms`` of event time; at most ``max_entries`` keys at once.

    Time is the largest event time seen so far (like a watermark without out-of-orderness). A key
    is a duplicate while its first sighting is younger than the TTL. When full, the key closest to
    expiry is forgotten first and counted in ``evicted_early`` (a later copy of it passes as new).
    """

    def __init__(self, ttl_ms: int, max_entries: int = 1_000_000) -> None:
        if ttl_ms <= 0 or max_entries <= 0:
            raise ValueError("ttl_ms and max_entries must be positive")
        self.ttl_ms = ttl_ms
        self.max_entries = max_entries
        self.now_ms: int | None = None
        self.evicted_early = 0
        self._expiry: dict[str, int] = {}
        self._heap: list[tuple[int, str]] = []  # (expiry, key), same entries as _expiry

    def __len__(self) -> int:
        return len(self._expiry)

    def _expire(self, now_ms: int) -> None:
        while self._heap and self._heap[0][0] <= now_ms:
            _, key = heapq.heappop(self._heap)
            del self._expiry[key]

    def _evict_one(self) -> None:
        _, key = heapq.heappop(self._heap)
        del self._expiry[key]
        self.evicted_early += 1

    def seen(self, key: str, ts: int) -> bool:
        """True if ``key`` was seen within the TTL (a duplicate); else remembers it and returns False."""
        self.now_ms = ts if self.now_ms is None else max(self.now_ms, ts)
        self._expire(self.now_ms)
        if key in self._expiry:
            return True
        expiry = ts + self.ttl_ms
        if expiry <= self.now_ms:
            return False  # already older than the TTL: state would have expired it at once
        if len(self._expiry) >= self.max_entries:
            self._evict_one()
        self._expiry[key] = expiry
        heapq.heappush(self._heap, (expiry, key))
        return False
