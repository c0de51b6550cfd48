"""Erasure in live push: pages are not shown what the job emitted for a shopper before it forgot them.

The job wipes its stores when an erasure request arrives and confirms on ``erasure.done``. Live
push could still show that shopper two things of before:

- the hub's replay buffer (``push.Hub.recent``): a page opened within ``push_recent_s`` replays
  the key's recent triggers;
- triggers the job emitted between the request and its processing, read after the request.

So the storefront's feed also reads ``erasure`` and ``erasure.done``. A request drops its ids'
replay and cuts them off at the moment it is read; the job's confirmation raises the cut-off to
its completion time, for the user and the devices: the confirmation names the devices since its
version 2 (so a storefront started after the request still cuts them off), and the request's
ids are remembered for a version 1 confirmation. A trigger of an id emitted at or before its
cut-off is not shown. A trigger emitted later (after a newer consent) is shown as usual.

Cut-offs live in memory, bounded in number (``max_ids``) and in time (``keep_s``): the feed reads
triggers live, so the triggers they stop are read within moments of the erasure.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from udfs.controls import erased_ids

Record = Mapping[str, Any]


def ids_of(user_id: Any, others: Iterable[Any]) -> tuple[str, ...]:
    """The ids an erasure covers (``udfs.controls.erased_ids``), in a stable order."""
    return tuple(sorted(erased_ids(user_id, others)))


class Cutoffs:
    """Per-id erasure cut-offs (epoch ms) and the ids of requests awaiting confirmation."""

    def __init__(self, keep_s: float = 3600.0, max_ids: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.keep_s, self.max_ids, self.clock = keep_s, max_ids, clock
        self._cut: OrderedDict[str, tuple[int, float]] = OrderedDict()  # id -> (cut-off ms, kept until)
        self._requests: OrderedDict[str, tuple[str, ...]] = OrderedDict()  # request id -> ids

    def on_request(self, request: Record, now_ms: int) -> tuple[str, ...]:
        """Cut the request's user and devices off at ``now_ms``; returns their ids."""
        ids = ids_of(request.get("user_id"), request.get("anonymous_ids") or ())
        self._requests[str(request["request_id"])] = ids
        _bound(self._requests, self.max_ids)
        self._raise(ids, now_ms)
        return ids

    def on_confirmation(self, done: Record) -> tuple[str, ...]:
        """Raise the cut-off of the confirmed request's ids to the job's completion time."""
        seen = self._requests.pop(str(done["request_id"]), ())
        ids = ids_of(done.get("user_id"), [*seen, *(done.get("anonymous_ids") or ())])
        self._raise(ids, int(done["completed_at"]))
        return ids

    def suppressed(self, trigger: Record) -> bool:
        """True when the trigger's user key was erased at or after the trigger was emitted."""
        key = str(trigger.get("user_id") or "")
        entry = self._cut.get(key)
        if entry is None:
            return False
        if entry[1] < self.clock():
            del self._cut[key]
            return False
        return int(trigger.get("emitted_at") or 0) <= entry[0]

    def __len__(self) -> int:
        return len(self._cut)

    @property
    def pending(self) -> int:
        """Requests read whose confirmation has not been read yet."""
        return len(self._requests)

    def _raise(self, ids: Iterable[str], at_ms: int) -> None:
        """Keep the later of the known and the new cut-off of each id, renewed for ``keep_s``."""
        until = self.clock() + self.keep_s
        for some_id in ids:
            known = self._cut.pop(some_id, None)
            self._cut[some_id] = (max(at_ms, known[0]) if known else at_ms, until)
        _bound(self._cut, self.max_ids)


def _bound(entries: OrderedDict[str, Any], limit: int) -> None:
    """Drop the oldest entries beyond ``limit``."""
    while len(entries) > limit:
        entries.popitem(last=False)
