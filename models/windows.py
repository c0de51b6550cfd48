"""Sessions -> training windows with per-step targets (numpy, no torch).

A window is up to ``max_len`` consecutive steps of one session, featurized exactly as the scorer
featurizes a live session (``udfs.session_features``), with two target rows aligned to its steps:

- ``item_target[t]``: vocabulary index of the item of the step after ``t`` (the session-rec
  next-item target for the prefix ending at ``t``); ``IGNORE`` when that step has no item or the
  item is out of vocabulary (nothing to learn: the head cannot name unseen items).
- ``intent_target[t]``: 1/0 for the intent case "prefix ending at ``t``" of
  ``models.data.protocol.intent_targets`` (purchase-free prefix; 1 if a purchase follows), and
  ``IGNORE`` where the prefix is not a case or the data has no purchase labels at all.

Sessions longer than ``max_len`` give overlapping windows (stride ``max_len // 2``); each later
window only keeps targets on the steps the previous one did not cover, so every target counts once
while still seeing up to ``max_len`` steps of context, as the scorer does.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from models.data import Session
from models.data.protocol import intent_targets
from udfs.session_features import OOV, Featurizer

IGNORE = -100


@dataclass(frozen=True)
class Window:
    """Features (5, T) and targets (T,) of consecutive steps of one session."""

    features: np.ndarray
    item_target: np.ndarray
    intent_target: np.ndarray


def _session_targets(session: Session, featurizer: Featurizer, with_intent: bool,
                     ) -> tuple[np.ndarray, np.ndarray]:
    n = len(session.steps)
    items = np.full(n, IGNORE, dtype=np.int64)  # (n,)
    for i in range(n - 1):
        idx = featurizer.item_index.get(session.steps[i + 1]["item_id"], OOV)  # type: ignore[arg-type]
        if idx != OOV:
            items[i] = idx
    intent = np.full(n, IGNORE, dtype=np.int64)  # (n,)
    if with_intent:
        for prefix_len, label in intent_targets(session):
            intent[prefix_len - 1] = label
    return items, intent


def session_windows(session: Session, featurizer: Featurizer, with_intent: bool) -> list[Window]:
    """The training windows of one session (none for a session with fewer than 2 steps)."""
    n, size = len(session.steps), featurizer.spec.max_len
    if n < 2:
        return []
    items, intent = _session_targets(session, featurizer, with_intent)
    stride = max(1, size // 2)
    windows, covered, start = [], 0, 0
    while True:
        end = min(start + size, n)
        keep = slice(covered - start, end - start)
        it, ii = np.full(end - start, IGNORE), np.full(end - start, IGNORE)
        it[keep], ii[keep] = items[start:end][keep], intent[start:end][keep]
        windows.append(Window(featurizer.encode(session.steps[start:end]), it, ii))
        covered = end
        if end == n:
            return windows
        start += stride


def make_windows(sessions: Iterable[Session], featurizer: Featurizer, with_intent: bool) -> list[Window]:
    """All windows of ``sessions``, in order, dropping those with no target at all."""
    out = []
    for s in sessions:
        for w in session_windows(s, featurizer, with_intent):
            if (w.item_target != IGNORE).any() or (w.intent_target != IGNORE).any():
                out.append(w)
    return out


def collate(windows: Sequence[Window], featurizer: Featurizer) -> dict[str, np.ndarray]:
    """Left-padded model inputs plus ``item_target`` / ``intent_target`` (B, T) for a batch."""
    batch = featurizer.batch([w.features for w in windows])
    t = batch["mask"].shape[1]
    for name in ("item_target", "intent_target"):
        arr = np.full((len(windows), t), IGNORE, dtype=np.int64)  # (B, T)
        for row, w in enumerate(windows):
            arr[row, t - len(getattr(w, name)):] = getattr(w, name)
        batch[name] = arr
    return batch


def count_targets(windows: Iterable[Window]) -> tuple[int, int, int]:
    """(item targets, intent cases, positive intent cases) across ``windows``."""
    items = cases = positives = 0
    for w in windows:
        items += int((w.item_target != IGNORE).sum())
        cases += int((w.intent_target != IGNORE).sum())
        positives += int((w.intent_target == 1).sum())
    return items, cases, positives
