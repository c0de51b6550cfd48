"""Which predictions the evaluation protocol asks for, shared by evaluation and training.

Next item (session-rec protocol): in each test session, every step ``i >= 1`` that has an item
is a target, predicted from the prefix ``steps[:i]``. Recall@k counts a hit when the target is
among the top k; MRR@k adds 1/rank (0 beyond k); both average over all targets of all sessions.

Purchase intent: every prefix ``steps[:n]`` (``n >= 1``) that contains no purchase yet is a
case; its label is 1 when a purchase follows later in the session, else 0. So a session that
ends in a purchase contributes positives up to the step before its first purchase, and a session
without one contributes a negative for each of its prefixes.
"""
from __future__ import annotations

from collections.abc import Iterator

from models.data.sessions import Session


def next_item_targets(session: Session) -> Iterator[tuple[int, str]]:
    """(prefix length, target item id) for every next-item prediction in ``session``."""
    for i in range(1, len(session.steps)):
        item = session.steps[i]["item_id"]
        if item is not None:
            yield i, item


def first_purchase(session: Session) -> int | None:
    """Index of the first purchase step, None when the session has none."""
    for i, step in enumerate(session.steps):
        if step["event_type"] == "purchase":
            return i
    return None


def intent_targets(session: Session) -> Iterator[tuple[int, int]]:
    """(prefix length, label) for every purchase-free prefix; label 1 if a purchase follows."""
    first = first_purchase(session)
    end = len(session.steps) if first is None else first
    label = 0 if first is None else 1
    for n in range(1, end + 1):
        yield n, label


def count_targets(sessions: list[Session]) -> tuple[int, int, int]:
    """(next-item targets, intent cases, positive intent cases) over ``sessions``."""
    items = sum(1 for s in sessions for _ in next_item_targets(s))
    cases = [label for s in sessions for _, label in intent_targets(s)]
    return items, len(cases), sum(cases)
