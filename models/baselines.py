"""Baselines the session model must beat: popularity, item-kNN, and a purchase-intent rate.

Next-item baselines share one interface (``ItemRecommender``): ``fit(train_sessions)`` then
``recommend(prefix_item_ids, k) -> list[str]`` (best first, at most k, no duplicates) and the
batched ``recommend_batch(prefixes, k)``.

- ``Popularity``: the k items with the most events in training (ties by item id).
- ``ItemKNN``: items as binary session vectors; cosine similarity
  ``|S_i & S_j| / sqrt(|S_i| |S_j|)``; each item keeps its ``neighbours`` most similar items.
  A prefix scores a candidate as ``sum_d w(d) * sim(prefix item, candidate)`` over the last
  ``window`` prefix items, ``d`` = 0 for the most recent, ``w(d) = 1 / (1 + d)``. Items unknown
  in training contribute nothing; a prefix with no known item gets an empty list (as in
  session-rec, no popularity fill-in).
- ``IntentRate``: purchase intent as the training rate of "a purchase follows" among prefixes
  with the same last event type and cart state (``models.data.protocol.intent_targets``).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from models.data.protocol import intent_targets
from models.data.sessions import Session


class ItemRecommender(Protocol):
    """A next-item recommender over item ids."""

    def fit(self, train_sessions: Iterable[Session]) -> Any: ...

    def recommend(self, prefix_item_ids: Sequence[str], k: int) -> list[str]: ...


class Popularity:
    """Most frequent items in training, the same list for every prefix."""

    def __init__(self) -> None:
        self.ranking: list[str] = []

    def fit(self, train_sessions: Iterable[Session]) -> Popularity:
        counts = Counter(item for s in train_sessions for item in s.item_ids)
        self.ranking = sorted(counts, key=lambda item: (-counts[item], item))
        return self

    def recommend(self, prefix_item_ids: Sequence[str], k: int) -> list[str]:
        return self.ranking[:k]

    def recommend_batch(self, prefixes: Sequence[Sequence[str]], k: int) -> list[list[str]]:
        return [self.ranking[:k] for _ in prefixes]


@lru_cache(maxsize=512)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Position pairs (a, b) with a < b among n positions (cached: sessions repeat lengths)."""
    return np.triu_indices(n, 1)  # each (n * (n - 1) / 2,)


def _cooccurrence(sessions: list[np.ndarray], n_items: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, col, count) of item pairs sharing sessions, both directions, from unique-item arrays."""
    codes = []
    for items in sessions:
        a, b = _pairs(len(items))
        codes.append(items[a] * n_items + items[b])
    if not codes:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    pairs, counts = np.unique(np.concatenate(codes), return_counts=True)  # (n_pairs,)
    rows, cols = pairs // n_items, pairs % n_items
    return np.concatenate([rows, cols]), np.concatenate([cols, rows]), np.concatenate([counts, counts])


class ItemKNN:
    """Item-to-item cosine kNN on session co-occurrence, recent prefix items weighted more."""

    def __init__(self, neighbours: int = 100, window: int = 20, max_session_items: int = 200) -> None:
        self.neighbours, self.window, self.max_session_items = neighbours, window, max_session_items
        self.items: list[str] = []
        self.index: dict[str, int] = {}
        self.indptr = np.zeros(1, np.int64)  # (n_items + 1,) CSR row starts
        self.nbr = np.zeros(0, np.int64)  # (n_links,) neighbour item indices
        self.sim = np.zeros(0, np.float64)  # (n_links,) cosine similarities

    def _session_arrays(self, train: list[Session]) -> list[np.ndarray]:
        """Unique item indices of each session (the last ``max_session_items`` distinct ones)."""
        out = []
        for s in train:
            distinct = list(dict.fromkeys(reversed(s.item_ids)))[: self.max_session_items]
            out.append(np.array([self.index[i] for i in distinct], np.int64))
        return out

    def fit(self, train_sessions: Iterable[Session]) -> ItemKNN:
        train = list(train_sessions)
        self.items = sorted({i for s in train for i in s.item_ids})
        self.index = {item: n for n, item in enumerate(self.items)}
        arrays = self._session_arrays(train)
        n = len(self.items)
        support = np.bincount(np.concatenate(arrays), minlength=n) if arrays else np.zeros(n)  # (n_items,)
        rows, cols, counts = _cooccurrence(arrays, n)
        sim = counts / np.sqrt(support[rows] * support[cols])  # (n_links,)
        order = np.lexsort((cols, -sim, rows))  # by row, then best first, ties by index
        rows, cols, sim = rows[order], cols[order], sim[order]
        starts = np.searchsorted(rows, np.arange(n + 1))  # (n_items + 1,)
        keep = np.arange(len(rows)) - starts[rows] < self.neighbours  # (n_links,)
        self.nbr, self.sim = cols[keep], sim[keep]
        self.indptr = np.searchsorted(rows[keep], np.arange(n + 1))  # (n_items + 1,)
        return self

    def neighbours_of(self, item: str) -> list[tuple[str, float]]:
        """The kept neighbours of ``item`` with their similarity, best first."""
        i = self.index.get(item)
        if i is None:
            return []
        lo, hi = self.indptr[i], self.indptr[i + 1]
        return [(self.items[j], float(s)) for j, s in zip(self.nbr[lo:hi], self.sim[lo:hi], strict=True)]

    def scores(self, prefix_item_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(candidate indices, scores) for a prefix, candidates unique and unsorted."""
        idx, val = [], []
        for d, item in enumerate(reversed(prefix_item_ids[-self.window:])):
            i = self.index.get(item)
            if i is not None:
                lo, hi = self.indptr[i], self.indptr[i + 1]
                idx.append(self.nbr[lo:hi])
                val.append(self.sim[lo:hi] / (1.0 + d))
        if not idx:
            return np.zeros(0, np.int64), np.zeros(0)
        cand, inverse = np.unique(np.concatenate(idx), return_inverse=True)  # (n_cand,)
        return cand, np.bincount(inverse, weights=np.concatenate(val))  # (n_cand,)

    def recommend(self, prefix_item_ids: Sequence[str], k: int) -> list[str]:
        cand, score = self.scores(prefix_item_ids)
        best = np.lexsort((cand, -score))[:k]  # best first, ties by item index
        return [self.items[j] for j in cand[best]]

    def recommend_batch(self, prefixes: Sequence[Sequence[str]], k: int) -> list[list[str]]:
        return [self.recommend(p, k) for p in prefixes]


def _intent_key(steps: Sequence[Mapping[str, Any]]) -> tuple[str, bool]:
    return steps[-1]["event_type"], any(s["event_type"] == "add_to_cart" for s in steps)


class IntentRate:
    """P(purchase follows) by (last event type, cart seen), smoothed toward the overall rate."""

    def __init__(self, smoothing: float = 1.0) -> None:
        self.smoothing = smoothing
        self.base = 0.0
        self.counts: dict[tuple[str, bool], tuple[int, int]] = {}

    def fit(self, train_sessions: Iterable[Session]) -> IntentRate:
        counts: dict[tuple[str, bool], tuple[int, int]] = {}
        for s in train_sessions:
            for n, label in intent_targets(s):
                pos, tot = counts.get(_intent_key(s.steps[:n]), (0, 0))
                counts[_intent_key(s.steps[:n])] = (pos + label, tot + 1)
        self.counts = counts
        total = sum(t for _, t in counts.values())
        self.base = sum(p for p, _ in counts.values()) / total if total else 0.0
        return self

    def intent(self, prefix_steps: Sequence[Mapping[str, Any]]) -> float:
        pos, tot = self.counts.get(_intent_key(prefix_steps), (0, 0)) if prefix_steps else (0, 0)
        return (pos + self.smoothing * self.base) / (tot + self.smoothing)
