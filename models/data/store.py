"""Save and load session datasets: gzip JSONL with a content fingerprint.

File layout (``*.sessions.jsonl.gz`` by convention), one JSON object a line:

- line 1, the header: ``{"format": "shoppulse-sessions", "version": 1, "n_sessions": N,
  "n_steps": M, "fingerprint": "<sha256 hex>", "meta": {...}}``;
- then one session a line in columnar form: ``{"id": ..., "items": [...], "types": [...],
  "times": [...], "prices": [...], "categories": [...]}`` (lists indexed by step).

The fingerprint is the sha256 of the canonical session lines (keys sorted, no spaces, '\\n' after
each line) in stored order: it names the data, not the file, so the same sessions give the same
fingerprint whatever the gzip level or header ``meta``. Files are written with gzip mtime 0, so
the same data also gives the same bytes. ``load_dataset`` verifies the fingerprint.
"""
from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from models.data.sessions import DataFormatError, Session, session_from_json, session_to_json

FORMAT_NAME = "shoppulse-sessions"
FORMAT_VERSION = 1


def _canonical_line(session: Session) -> bytes:
    return json.dumps(session_to_json(session), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode() + b"\n"


def fingerprint(sessions: Iterable[Session]) -> str:
    """sha256 hex of the canonical content of ``sessions`` (order matters)."""
    digest = hashlib.sha256()
    for session in sessions:
        digest.update(_canonical_line(session))
    return digest.hexdigest()


def save_dataset(path: str | Path, sessions: list[Session], meta: Mapping[str, Any] | None = None) -> str:
    """Write ``sessions`` to ``path`` (gzip JSONL); returns the data fingerprint.

    ``meta`` is free-form provenance (source file, format, split) kept in the header.
    """
    lines = [_canonical_line(s) for s in sessions]
    digest = hashlib.sha256(b"".join(lines)).hexdigest()
    header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "n_sessions": len(sessions),
              "n_steps": sum(len(s) for s in sessions), "fingerprint": digest, "meta": dict(meta or {})}
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
        out.write(json.dumps(header, sort_keys=True).encode() + b"\n")
        out.writelines(lines)
    return digest


def read_header(path: str | Path) -> dict[str, Any]:
    """The header of a dataset file; raises DataFormatError when it is not one."""
    try:
        with gzip.open(path, "rb") as f:
            first = f.readline()
        header = json.loads(first)
    except (OSError, EOFError, ValueError) as exc:
        raise DataFormatError(path, 1, f"not a {FORMAT_NAME} file: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise DataFormatError(path, 1, f"not a {FORMAT_NAME} file (header {first[:80]!r})")
    if header.get("version") != FORMAT_VERSION:
        raise DataFormatError(path, 1, f"unsupported version {header.get('version')!r}, "
                                       f"this code reads version {FORMAT_VERSION}")
    return header


def load_dataset(path: str | Path, verify: bool = True) -> list[Session]:
    """Read a dataset written by ``save_dataset``; checks the count and the fingerprint."""
    header = read_header(path)
    sessions: list[Session] = []
    digest = hashlib.sha256()
    with gzip.open(path, "rb") as f:
        f.readline()
        for lineno, line in enumerate(f, start=2):
            try:
                sessions.append(session_from_json(json.loads(line)))
            except ValueError as exc:
                raise DataFormatError(path, lineno, f"bad session: {exc}") from None
            digest.update(line)
    if len(sessions) != header.get("n_sessions"):
        raise DataFormatError(path, None, f"header says {header.get('n_sessions')} sessions, "
                                          f"file has {len(sessions)} (truncated?)")
    if verify and digest.hexdigest() != header.get("fingerprint"):
        raise DataFormatError(path, None, "content does not match the header fingerprint (file modified?)")
    return sessions
