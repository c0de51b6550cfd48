"""Train/validation/test splits and the session-rec filtering conventions.

``temporal_split`` orders sessions by start time and cuts them 70/15/15 (by count), so every
validation and test session starts no earlier than every training session: the model never
trains on the future. ``filter_sessionrec`` then applies the session-rec conventions to a
train/test pair: drop sessions with fewer than two items, drop test steps whose item never
occurs in training, and drop test sessions that fall under two items after that. It says how
much it dropped in a ``FilterReport``.
"""
from __future__ import annotations

from dataclasses import dataclass

from models.data.sessions import Session, sort_sessions

DEFAULT_FRACTIONS = (0.70, 0.15, 0.15)


def temporal_split(sessions: list[Session], fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
                   ) -> tuple[list[Session], list[Session], list[Session]]:
    """(train, valid, test): sessions by start time, cut at the cumulative ``fractions``."""
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    ordered = sort_sessions(sessions)
    n = len(ordered)
    cut1 = round(n * fractions[0])
    cut2 = round(n * (fractions[0] + fractions[1]))
    return ordered[:cut1], ordered[cut1:cut2], ordered[cut2:]


def min_items(sessions: list[Session], minimum: int = 2) -> list[Session]:
    """Sessions with at least ``minimum`` steps that carry an item."""
    return [s for s in sessions if len(s.item_ids) >= minimum]


@dataclass(frozen=True)
class FilterReport:
    """What ``filter_sessionrec`` dropped."""

    train_sessions_short: int
    test_sessions_short: int
    test_steps_unseen: int
    test_sessions_emptied: int

    def describe(self) -> str:
        return (f"dropped {self.train_sessions_short} train and {self.test_sessions_short} test sessions "
                f"with fewer than 2 items; {self.test_steps_unseen} test events whose item is not in "
                f"training; then {self.test_sessions_emptied} test sessions left with fewer than 2 items")


def drop_unseen(sessions: list[Session], known: set[str]) -> tuple[list[Session], int]:
    """Sessions without the item steps whose item is not in ``known``, and how many steps went."""
    kept: list[Session] = []
    dropped = 0
    for s in sessions:
        steps = [st for st in s.steps if st["item_id"] is None or st["item_id"] in known]
        dropped += len(s.steps) - len(steps)
        kept.append(Session(s.session_id, steps))
    return kept, dropped


def filter_sessionrec(train: list[Session], test: list[Session],
                      ) -> tuple[list[Session], list[Session], FilterReport]:
    """Apply the session-rec conventions to a train/test pair (see the module docstring)."""
    train_kept = min_items(train)
    test_long = min_items(test)
    known = {item for s in train_kept for item in s.item_ids}
    test_seen, unseen = drop_unseen(test_long, known)
    test_kept = min_items(test_seen)
    report = FilterReport(len(train) - len(train_kept), len(test) - len(test_long), unseen,
                          len(test_seen) - len(test_kept))
    return train_kept, test_kept, report
