"""One erasure confirmation per request, once every key it names has been erased.

An erasure request names a user and its devices. The per-user stage erases each of those keys
separately (``udfs.controls.fan_out_erasure``), and above parallelism 1 the keys live on
different subtasks. Each erased key therefore sends an acknowledgement (``ack``): the request,
the key, whether its cache deletes reached Redis, and when. ``Pending`` collects them, keyed by
request id, and ``add_ack`` returns the confirmation (erasure_confirmation.avsc) once the last
key has acknowledged: its ``completed_at`` is the last key's erasure time, so a trigger
emitted for any of the keys before it is one the delivery services and the storefront skip.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from udfs.controls import erased_ids, erasure_confirmation

Ack = dict[str, Any]  # {"request": the erasure request, "key": str, "redis": bool, "at": epoch ms}


def ack(request: dict[str, Any], key: str, redis_wiped: bool, at_ms: int) -> tuple[str, str, Ack]:
    """The acknowledgement of one erased key, as (kind, request id, ack) for the keyed join."""
    return "ack", str(request["request_id"]), {"request": request, "key": key, "redis": redis_wiped, "at": at_ms}


def expected_keys(request: dict[str, Any]) -> set[str]:
    """Every key the request erases: its user and its devices."""
    return erased_ids(request["user_id"], request.get("anonymous_ids") or ())


@dataclass
class Pending:
    """The acknowledgements of one request so far."""

    request: dict[str, Any]
    acked: set[str] = field(default_factory=set)
    redis_wiped: bool = True
    first_at: int = 0
    last_at: int = 0

    def add(self, one: Ack) -> None:
        at = int(one["at"])
        self.acked.add(str(one["key"]))
        self.redis_wiped = self.redis_wiped and bool(one["redis"])
        self.first_at = min(self.first_at, at) if self.first_at else at
        self.last_at = max(self.last_at, at)

    def complete(self) -> bool:
        return not self.missing()

    def missing(self) -> set[str]:
        """The keys of the request not erased yet."""
        return expected_keys(self.request) - self.acked

    def overdue(self, waited_ms: int) -> str:
        """What an operator needs to know of a request still incomplete after ``waited_ms``."""
        expected = expected_keys(self.request)
        return (f"erasure {self.request['request_id']} overdue: {len(expected) - len(self.missing())} of "
                f"{len(expected)} keys erased {waited_ms // 1000} s after the first; still waiting for "
                f"{', '.join(sorted(self.missing()))}")

    def confirmation(self) -> bytes:
        """Stores wiped: Flink state and timers always; Redis only if every key's deletes reached it."""
        stores = ["flink_state", "timers", *(["redis"] if self.redis_wiped else [])]
        return erasure_confirmation(self.request, stores, self.last_at)


def add_ack(pending: Pending | None, one: Ack) -> tuple[Pending | None, bytes | None]:
    """Fold ``one`` into the request's pending acks: (what to keep, the confirmation once complete).
    A complete request keeps nothing; a replayed request starts over and is confirmed again."""
    current = pending or Pending(one["request"])
    current.add(one)
    if current.complete():
        return None, current.confirmation()
    return current, None
