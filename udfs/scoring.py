"""The narrow interface between the trigger engine and the session model.

The trigger engine calls a ``SessionScorer`` at decision points with the session's recent
steps; the ONNX-backed scorer (models exported by ``models/``) and ``NullScorer`` (rules only,
used when no model is present) both implement it, so the model plugs in without changing rules.

A step is a plain dict, oldest first, with keys:
``item_id`` (str | None), ``event_type`` (behavior_event EventType symbol), ``event_time``
(epoch millis), ``price`` (float | None, base currency) and ``category`` (str | None).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class SessionScores:
    """What the model says about a session; every trigger carries these as its scores."""

    purchase_intent: float
    abandonment_risk: float
    next_items: tuple[str, ...] = ()
    model_version: str | None = None
    extra: Mapping[str, float] = field(default_factory=dict)

    def as_map(self) -> dict[str, float]:
        """Scores for the trigger's ``scores`` map."""
        return {"purchase_intent": self.purchase_intent, "abandonment_risk": self.abandonment_risk, **self.extra}


class SessionScorer(Protocol):
    """Scores one session from its steps; returns None when it has nothing to say."""

    def score(self, steps: Sequence[Mapping[str, Any]]) -> SessionScores | None: ...


class NullScorer:
    """No model: the engine runs on rules alone."""

    def score(self, steps: Sequence[Mapping[str, Any]]) -> SessionScores | None:
        return None


class ScoreMemo:
    """Scores of short sessions by their encoded inputs. A model's scores are a function of those
    inputs alone (relative gaps, price bands, ids; never the clock), so a repeat, such as every
    session that opens with the same landing page view, needs no second run. Holds sessions of
    at most ``max_steps`` steps, the ones that repeat; at ``entries`` it starts over, and the
    common openings come straight back. ``entries`` 0 turns it off."""

    def __init__(self, entries: int = 1024, max_steps: int = 2) -> None:
        self.entries, self.max_steps = entries, max_steps
        self.saved: dict[tuple[int, bytes], SessionScores] = {}
        self.hits = self.misses = 0

    def keeps(self, steps: int) -> bool:
        """Whether a session of ``steps`` steps is looked up and kept (its key is then
        (top_k, the encoded inputs' bytes))."""
        return bool(self.entries) and steps <= self.max_steps

    def get(self, key: tuple[int, bytes] | None) -> SessionScores | None:
        found = self.saved.get(key) if key is not None else None
        if key is not None:
            self.hits, self.misses = self.hits + (found is not None), self.misses + (found is None)
        return found

    def put(self, key: tuple[int, bytes] | None, scores: SessionScores) -> None:
        if key is None:
            return
        if len(self.saved) >= self.entries:
            self.saved.clear()
        self.saved[key] = scores
