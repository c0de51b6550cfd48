"""Trigger precision and recall against the simulator's ground truth (pure, no Kafka).

A shopper "earns" a trigger type when at least one trigger of that type carries its key (held-out
triggers included: the engine decided to fire; the holdout only withholds contact). For each
shopper and each type it has an opinion on:

- expected and earned: true positive;   expected, not earned: false negative;
- forbidden and earned: false positive; forbidden, not earned: true negative.

Precision = TP / (TP + FP), recall = TP / (TP + FN), None when the denominator is 0. Triggers for
users absent from the truth are counted apart (``unknown_users``), not as false positives.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.simulator.truth import Truth


@dataclass
class Score:
    """Confusion counts of one persona, trigger type, or both."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def add(self, expected: bool, forbidden: bool, earned: bool) -> None:
        if expected:
            self.tp, self.fn = self.tp + earned, self.fn + (not earned)
        elif forbidden:
            self.fp, self.tn = self.fp + earned, self.tn + (not earned)


@dataclass
class Accuracy:
    """Scores per persona, per trigger type and per (persona, type), plus what could not be matched."""

    by_persona: dict[str, Score] = field(default_factory=dict)
    by_type: dict[str, Score] = field(default_factory=dict)
    cells: dict[tuple[str, str], Score] = field(default_factory=dict)
    shoppers: Counter[str] = field(default_factory=Counter)
    unknown_users: int = 0
    triggers: int = 0


def earned_by_user(triggers: Iterable[Mapping[str, Any]]) -> dict[str, set[str]]:
    """User key -> trigger types it received at least once."""
    earned: dict[str, set[str]] = {}
    for trig in triggers:
        earned.setdefault(str(trig["user_id"]), set()).add(str(trig["trigger_type"]))
    return earned


def accuracy(truth: Iterable[Truth], triggers: Iterable[Mapping[str, Any]]) -> Accuracy:
    """Precision/recall per persona and per trigger type of ``triggers`` against ``truth``."""
    trigs = list(triggers)
    earned = earned_by_user(trigs)
    out = Accuracy(triggers=len(trigs))
    known: set[str] = set()
    for t in truth:
        known.add(t.user)
        out.shoppers[t.persona] += 1
        got = earned.get(t.user, set())
        for ttype in sorted(t.expected | t.forbidden):
            flags = (ttype in t.expected, ttype in t.forbidden, ttype in got)
            for score in (out.by_persona.setdefault(t.persona, Score()), out.by_type.setdefault(ttype, Score()),
                          out.cells.setdefault((t.persona, ttype), Score())):
                score.add(*flags)
    out.unknown_users = len(set(earned) - known)
    return out


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _row(name: str, s: Score, width: int) -> str:
    return (f"{name:<{width}} {_pct(s.precision):>9} {_pct(s.recall):>7} "
            f"{s.tp:>6} {s.fp:>6} {s.fn:>6} {s.tn:>6}")


def format_table(acc: Accuracy) -> str:
    """The report: per persona, per trigger type, then per persona and type."""
    names = [f"{p} ({acc.shoppers[p]})" for p in sorted(acc.by_persona)]
    width = max([len(n) for n in names] + [len(f"{p}/{t}") for p, t in acc.cells] + [24])
    head = f"{'':<{width}} {'precision':>9} {'recall':>7} {'tp':>6} {'fp':>6} {'fn':>6} {'tn':>6}"
    lines = [f"{acc.triggers} triggers, {sum(acc.shoppers.values())} shoppers in the ground truth, "
             f"{acc.unknown_users} users with triggers not in it", "", "by persona", head]
    lines += [_row(n, acc.by_persona[p], width) for n, p in zip(names, sorted(acc.by_persona), strict=True)]
    lines += ["", "by trigger type", head] + [_row(t, acc.by_type[t], width) for t in sorted(acc.by_type)]
    lines += ["", "by persona and trigger type", head]
    lines += [_row(f"{p}/{t}", acc.cells[(p, t)], width) for p, t in sorted(acc.cells)]
    return "\n".join(lines)
