"""Erasure in the delivery services: forget an erased shopper, and contact them no more.

The job wipes its own stores when an erasure request arrives and confirms on ``erasure.done``.
Three things of the delivery services' own outlive that unless they act too:

- their journals (``{prefix}:deliveries``, ``{prefix}:deliveries:failed`` and the optional JSONL
  file) name the user, and the failures keep the whole trigger;
- the address directory's Redis key (``address_key``, e.g. ``sp:contact:{user}``);
- triggers the job wrote before it processed the erasure, still unread in the triggers topic:
  sending those would contact a shopper who asked to be forgotten.

So each service also reads ``erasure`` and ``erasure.done``. A request (user id and device
ids) is acted on at once: its ids are cut off at the moment it is read (``{prefix}:erased:{id}``,
a one-member sorted set whose score is the newest erasure time of that id) and purged from the
journals and the directory. The request's ids wait under ``{prefix}:erasure:{request_id}`` for
the job's confirmation (which names the devices too since its version 2; the stored ids cover
a version 1 confirmation), which raises their cut-off to the job's completion time: every trigger
the job emitted before it forgot the shopper is then skipped, journalled without the id
(``Delivery`` in ``core``). Triggers emitted later (after a newer consent) go out as usual.
Markers expire after ``claim_ttl_s``, as the claims do.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from udfs.controls import erased_ids

log = logging.getLogger(__name__)
CUTOFF = "cutoff"  # the one member of an id's sorted set; its score is the cut-off


def erased_key(prefix: str, some_id: str) -> str:
    """The cut-off of one erased id: triggers for it emitted at or before this time are skipped."""
    return f"{prefix}:erased:{some_id}"


def request_key(prefix: str, request_id: str) -> str:
    """The ids of one request, kept until the job confirms it."""
    return f"{prefix}:erasure:{request_id}"


class Forgetting(Protocol):
    """A store that can drop every entry naming one of ``ids``; returns how many it dropped."""

    def forget(self, ids: set[str]) -> int: ...


@dataclass(frozen=True)
class Purged:
    """What one erasure record did: the ids it covers, their cut-off, entries and keys removed."""

    request_id: str
    ids: tuple[str, ...]
    cutoff_ms: int
    journal_entries: int
    directory_keys: int


class Erasures:
    """Cut-offs and pending requests in Redis, plus the purge of the service's own stores."""

    def __init__(self, client: Any, prefix: str, ttl_s: int, journal: Forgetting,
                 directory_keys: Callable[[str], list[str]] | None = None) -> None:
        self._client, self._prefix, self._ttl_s = client, prefix, ttl_s
        self._journal = journal
        self._directory_keys = directory_keys or (lambda _id: [])

    def cutoff(self, some_id: str) -> int | None:
        """The newest erasure time of ``some_id`` (epoch ms), or None if it was never erased."""
        score = self._client.zscore(erased_key(self._prefix, some_id), CUTOFF)
        return int(score) if score is not None else None

    def suppressed(self, trigger: dict[str, Any]) -> bool:
        """True when the trigger's user was erased at or after the trigger was emitted."""
        cut = self.cutoff(str(trigger.get("user_id") or ""))
        return cut is not None and int(trigger.get("emitted_at") or 0) <= cut

    def on_request(self, request: dict[str, Any], now_ms: int) -> Purged:
        """An erasure request: cut its ids off now, remember them for the confirmation, purge."""
        ids = erased_ids(request.get("user_id"), request.get("anonymous_ids") or ())
        self._client.set(request_key(self._prefix, request["request_id"]), json.dumps(sorted(ids)), ex=self._ttl_s)
        return self._cut_and_purge(request["request_id"], ids, now_ms)

    def on_confirmation(self, done: dict[str, Any]) -> Purged:
        """The job's confirmation: raise the request's ids' cut-off to its completion, purge again."""
        key = request_key(self._prefix, done["request_id"])
        raw = self._client.get(key)
        bridged = json.loads(raw) if raw is not None else []
        ids = erased_ids(done.get("user_id"), [*bridged, *(done.get("anonymous_ids") or ())])
        purged = self._cut_and_purge(done["request_id"], ids, int(done["completed_at"]))
        self._client.delete(key)
        return purged

    def _cut_and_purge(self, request_id: str, ids: set[str], at_ms: int) -> Purged:
        for some_id in ids:
            self._raise_cutoff(some_id, at_ms)
        keys = [k for some_id in sorted(ids) for k in self._directory_keys(some_id)]
        removed = int(self._client.delete(*keys)) if keys else 0
        purged = Purged(request_id, tuple(sorted(ids)), at_ms, self._journal.forget(ids), removed)
        log.info("erasure %s: %d id(s) cut off at %d; %d journal entries and %d directory keys removed",
                 request_id, len(ids), at_ms, purged.journal_entries, removed)
        return purged

    def _raise_cutoff(self, some_id: str, at_ms: int) -> None:
        """Keep the later of the stored and the new cut-off, atomically (``ZADD GT``): a replayed
        request, or the other channel's service acting on the same erasure, never lowers it."""
        key = erased_key(self._prefix, some_id)
        pipe = self._client.pipeline(transaction=True)
        pipe.zadd(key, {CUTOFF: at_ms}, gt=True)
        pipe.expire(key, self._ttl_s)
        pipe.execute()

