"""Shared plumbing of the importers: progress lines, (gzipped) text files, grouping steps.

``Progress("evaluate item-kNN", total=3000)`` then ``.update(n)`` prints at most one line a second
on stderr (``evaluate item-kNN: 1200/3000 (40%) 3.2 s``) and ``.done()`` the final line; on a
terminal the line is rewritten in place, in logs each update is its own line.
``open_text`` reads plain or gzip-compressed text transparently. ``SessionBuilder`` collects
steps under a session key and returns sessions sorted the way every importer returns them;
``split_by_gap`` cuts one shopper's time-ordered steps into sessions at inactivity gaps.
"""
from __future__ import annotations

import gzip
import io
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TextIO

from models.data.sessions import Session, Step, sort_sessions

SESSION_GAP_MS = 30 * 60 * 1000
"""Inactivity that ends a session when the source has no session ids (30 minutes)."""

GZIP_MAGIC = b"\x1f\x8b"


class Progress:
    """Counts work done and reports it on stderr, throttled to ``every_s`` seconds."""

    def __init__(self, label: str, total: int | None = None, unit: str = "",
                 every_s: float = 1.0, stream: TextIO | None = None) -> None:
        self.label, self.total, self.unit, self.every_s = label, total, unit, every_s
        self.stream = stream if stream is not None else sys.stderr
        self.count = 0
        self._start = self._last = time.monotonic()
        self._tty = self.stream.isatty()

    def _line(self) -> str:
        elapsed = time.monotonic() - self._start
        unit = f" {self.unit}" if self.unit else ""
        if self.total:
            return (f"{self.label}: {self.count}/{self.total}{unit} "
                    f"({100 * self.count // self.total}%) {elapsed:.1f} s")
        return f"{self.label}: {self.count}{unit} {elapsed:.1f} s"

    def update(self, n: int = 1) -> None:
        """Add ``n`` units of work; prints when ``every_s`` has passed since the last line."""
        self.count += n
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            self.stream.write(("\r" if self._tty else "") + self._line() + ("" if self._tty else "\n"))
            self.stream.flush()

    def done(self) -> None:
        """Print the final line."""
        self.stream.write(("\r" if self._tty else "") + self._line() + "\n")
        self.stream.flush()


def is_gzip(path: str | Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def open_text(path: str | Path) -> IO[str]:
    """Open ``path`` for reading text (UTF-8, BOM tolerated), decompressing gzip if needed."""
    if is_gzip(path):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def numbered_lines(path: str | Path, label: str) -> Iterator[tuple[int, str]]:
    """(line number, line without its newline) for each line, with a progress line on stderr."""
    progress = Progress(f"read {label} {Path(path).name}", unit="lines")
    with open_text(path) as f:
        for lineno, line in enumerate(f, start=1):
            progress.update()
            yield lineno, line.rstrip("\r\n")
    progress.done()


class SessionBuilder:
    """Collects steps per session id; ``sessions()`` sorts steps by time and sessions by start."""

    def __init__(self) -> None:
        self._steps: dict[str, list[Step]] = {}

    def add(self, session_id: str, step: Step) -> None:
        self._steps.setdefault(session_id, []).append(step)

    def __len__(self) -> int:
        return len(self._steps)

    def sessions(self) -> list[Session]:
        return sort_sessions(Session(sid, steps).sorted_by_time() for sid, steps in self._steps.items())


def split_by_gap(key: str, steps: list[Step], gap_ms: int = SESSION_GAP_MS) -> list[Session]:
    """Cut one shopper's steps into sessions ``key#1``, ``key#2``, ... at gaps over ``gap_ms``."""
    ordered = sorted(steps, key=lambda s: s["event_time"])
    sessions: list[Session] = []
    for step in ordered:
        if not sessions or step["event_time"] - sessions[-1].steps[-1]["event_time"] > gap_ms:
            sessions.append(Session(f"{key}#{len(sessions) + 1}"))
        sessions[-1].steps.append(step)
    return sessions
