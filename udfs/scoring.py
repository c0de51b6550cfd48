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
