"""Redis-backed claims and delivery journal (plus an optional JSONL copy of the journal).

- ``{prefix}:delivered:{channel}:{trigger_id}``: the claim, ``SET NX EX claim_ttl_s``; its value
  goes from ``claimed`` to the outcome (``sent``, ``skipped``, ``failed``) once known.
- ``{prefix}:deliveries``: a stream with one entry per outcome (trigger_id, channel, user_id,
  trigger_type, outcome, detail, attempts, at_ms), capped near ``journal_maxlen``.
- ``{prefix}:deliveries:failed``: the same fields plus the trigger as JSON, for every failure:
  the dead letters of delivery, kept for inspection or a manual resend.

The optional JSONL copy gets one line per outcome and is capped like the streams: once it holds
more than 1.5 x ``journal_maxlen`` lines it is rewritten with its newest ``journal_maxlen`` lines
(replaced atomically, as an erasure purge rewrites it).
"""
from __future__ import annotations

import json
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .core import Outcome


class RedisClaims:
    """First-writer-wins claims with ``SET NX EX``; the winner later stores the outcome."""

    def __init__(self, client: Any, ttl_s: int) -> None:
        self._client = client
        self._ttl_s = ttl_s

    def claim(self, key: str) -> bool:
        """True for the first caller only, until the TTL expires."""
        return bool(self._client.set(key, "claimed", nx=True, ex=self._ttl_s))

    def settle(self, key: str, outcome: str) -> None:
        """Keep the claim, now with the outcome as its value (TTL unchanged)."""
        self._client.set(key, outcome, xx=True, keepttl=True)


def stream_key(prefix: str) -> str:
    return f"{prefix}:deliveries"


def failed_key(prefix: str) -> str:
    return f"{prefix}:deliveries:failed"


class RedisJournal:
    """Outcomes to a Redis stream, failures with their trigger to a second one, both optionally to JSONL."""

    def __init__(self, client: Any, prefix: str, maxlen: int, path: str = "") -> None:
        self._client = client
        self._prefix = prefix
        self._maxlen = maxlen
        self._path = Path(path) if path else None
        self._lock = threading.Lock()
        self._lines: int | None = None  # the JSONL copy's line count, once counted

    def record(self, outcome: Outcome, trigger: dict[str, Any]) -> None:
        """Append ``outcome``; for a failure also the trigger, to the failed stream."""
        fields = outcome.as_record()
        pipe = self._client.pipeline(transaction=False)
        pipe.xadd(stream_key(self._prefix), fields, maxlen=self._maxlen, approximate=True)
        if outcome.outcome == "failed":
            failed = {**fields, "trigger": json.dumps(trigger, sort_keys=True)}
            pipe.xadd(failed_key(self._prefix), failed, maxlen=self._maxlen, approximate=True)
        pipe.execute()
        if self._path is not None:
            self._append(outcome, trigger)

    def forget(self, ids: set[str], page: int = 1000) -> int:
        """Drop every entry of both streams (and of the JSONL copy) whose user is in ``ids``."""
        if not ids:
            return 0
        removed = sum(self._forget_stream(key, ids, page) for key in (stream_key(self._prefix),
                                                                        failed_key(self._prefix)))
        return removed + (self._forget_lines(ids) if self._path is not None else 0)

    def _forget_stream(self, key: str, ids: set[str], page: int) -> int:
        """XRANGE page by page, XDEL the matching entries of each page."""
        removed, start = 0, "-"
        wanted = {i.encode() for i in ids}
        while entries := self._client.xrange(key, min=start, count=page):
            doomed = [eid for eid, fields in entries if fields.get(b"user_id") in wanted]
            removed += int(self._client.xdel(key, *doomed)) if doomed else 0
            if len(entries) < page:
                break
            start = "(" + _text(entries[-1][0])
        return removed

    def _forget_lines(self, ids: set[str]) -> int:
        """Rewrite the JSONL copy without the lines of ``ids``; how many were dropped."""
        assert self._path is not None
        with self._lock:
            if not self._path.exists():
                self._lines = 0
                return 0
            lines = self._path.read_text(encoding="utf-8").splitlines(keepends=True)
            kept = [line for line in lines if json.loads(line).get("user_id") not in ids]
            self._rewrite(kept)
        return len(lines) - len(kept)

    def _append(self, outcome: Outcome, trigger: dict[str, Any]) -> None:
        """One JSON line per outcome (a failure with its trigger); trimmed once past the cap."""
        line: dict[str, Any] = asdict(outcome)
        if outcome.outcome == "failed":
            line["trigger"] = trigger
        assert self._path is not None
        with self._lock:
            count = self._line_count()
            with self._path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(line, sort_keys=True) + "\n")
            self._lines = count + 1
            if self._lines > self._maxlen + self._maxlen // 2:
                self._trim()

    def _line_count(self) -> int:
        """The JSONL copy's line count: counted once (0 without a file), then tracked."""
        assert self._path is not None
        if self._lines is None:
            self._lines = _count_lines(self._path) if self._path.exists() else 0
        return self._lines

    def _trim(self) -> None:
        """Keep the newest ``maxlen`` lines of the JSONL copy (the caller holds the lock)."""
        assert self._path is not None
        lines = self._path.read_text(encoding="utf-8").splitlines(keepends=True)
        self._rewrite(lines[max(len(lines) - self._maxlen, 0):])

    def _rewrite(self, lines: list[str]) -> None:
        """Replace the JSONL copy with ``lines`` atomically (a ``.tmp`` sibling, then ``replace``)."""
        assert self._path is not None
        tmp = self._path.with_name(self._path.name + ".tmp")
        tmp.write_text("".join(lines), encoding="utf-8")
        tmp.replace(self._path)
        self._lines = len(lines)


def read_journal(client: Any, prefix: str = "sp", failed: bool = False) -> list[dict[str, str]]:
    """Every entry of the journal (or of the failed stream), oldest first, as str fields."""
    entries = client.xrange(failed_key(prefix) if failed else stream_key(prefix))
    return [{_text(k): _text(v) for k, v in fields.items()} for _, fields in entries]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _count_lines(path: Path) -> int:
    """How many lines ``path`` holds (a last line without its newline counts too)."""
    with path.open("rb") as fh:
        return sum(1 for _ in fh)
