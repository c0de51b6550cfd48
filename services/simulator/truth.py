"""Ground truth of a simulation: one JSON line per shopper, written as the shopper arrives.

    {"user": "u_...", "anonymous_id": "anon-...", "persona": "abandoner", "declined": false,
     "expected": ["abandoned_cart", "ui_personalization"], "forbidden": ["repeated_browse_offer"],
     "start_ms": 1767261600000, "events": 7}

``user`` is the key the job keys the shopper by and its triggers carry (user id, else anonymous
id). Trigger types in neither list are not scored for that shopper.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from services.simulator.schedule import Shopper


@dataclass(frozen=True)
class Truth:
    """What one shopper should (``expected``) and should not (``forbidden``) earn."""

    user: str
    persona: str
    expected: frozenset[str]
    forbidden: frozenset[str]
    anonymous_id: str = ""
    declined: bool = False

    @staticmethod
    def of(shopper: Shopper) -> Truth:
        return Truth(shopper.key, shopper.persona, shopper.expected, shopper.forbidden,
                     shopper.anonymous_id, shopper.declined)

    def to_json(self, **extra: Any) -> str:
        return json.dumps({"user": self.user, "anonymous_id": self.anonymous_id, "persona": self.persona,
                           "declined": self.declined, "expected": sorted(self.expected),
                           "forbidden": sorted(self.forbidden), **extra}, sort_keys=False)


def truth_line(shopper: Shopper) -> str:
    """The JSONL line of ``shopper`` (with its start time and event count)."""
    return Truth.of(shopper).to_json(start_ms=shopper.events[0]["event_time"], events=len(shopper.events))


def write_truth(out: IO[str], shopper: Shopper) -> None:
    out.write(truth_line(shopper) + "\n")


def _parse(obj: Any) -> Truth:
    if not isinstance(obj, dict) or not isinstance(obj.get("user"), str) or not isinstance(obj.get("persona"), str):
        raise ValueError("expected an object with string 'user' and 'persona'")
    lists = [obj.get("expected", []), obj.get("forbidden", [])]
    if not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in lists):
        raise ValueError("'expected' and 'forbidden' must be lists of trigger types")
    return Truth(obj["user"], obj["persona"], frozenset(lists[0]), frozenset(lists[1]),
                 str(obj.get("anonymous_id", "")), bool(obj.get("declined", False)))


def parse_truth(lines: Iterable[str], source: str = "<truth>") -> list[Truth]:
    """Truth records from JSONL lines; ValueError naming ``source`` and the line when one is bad."""
    out = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(_parse(json.loads(line)))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise ValueError(f"{source}:{lineno}: bad ground truth line: {exc}") from None
    return out


def read_truth(path: str | Path) -> list[Truth]:
    with open(path, encoding="utf-8") as f:
        return parse_truth(f, str(path))
