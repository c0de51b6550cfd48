"""Evaluation metrics in numpy: next-item ranking metrics and binary-classifier areas.

Ranking metrics take ``ranks``: the 1-based position of each target in its recommendation list,
0 when the target is missing from the list (a miss at every k). Build them with
``target_ranks`` (from recommendation lists) or ``ranks_from_scores`` (from a score matrix,
e.g. model logits). The session-rec definitions, averaged over all predictions:

- ``recall_at_k``: share of predictions whose target is in the top k (session-rec "HitRate",
  called Recall@k in the GRU4Rec line of work: one target per prediction).
- ``mrr_at_k``: mean of 1/rank for targets in the top k, 0 otherwise.

``roc_auc`` is the Mann-Whitney probability that a random positive scores above a random
negative (ties count one half); ``pr_auc`` is average precision, ``sum_n (R_n - R_{n-1}) P_n``
over the distinct score thresholds, highest first (the step-wise area, no interpolation).
Both raise ValueError unless the labels have both classes.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def target_ranks(recommendations: Sequence[Sequence[str]], targets: Sequence[str]) -> np.ndarray:
    """1-based rank of each target in its list, 0 when absent; shape (n_predictions,)."""
    if len(recommendations) != len(targets):
        raise ValueError(f"{len(recommendations)} recommendation lists for {len(targets)} targets")
    ranks = np.zeros(len(targets), np.int64)
    for n, (recs, target) in enumerate(zip(recommendations, targets, strict=True)):
        for position, item in enumerate(recs, start=1):
            if item == target:
                ranks[n] = position
                break
    return ranks


def ranks_from_scores(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Rank of each target column in its score row; ties count against the target.

    ``scores`` (n, n_items), ``targets`` (n,) column indices; returns (n,) ranks >= 1.
    """
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    if scores.ndim != 2 or targets.shape != (scores.shape[0],):
        raise ValueError(f"need scores (n, n_items) and targets (n,), got {scores.shape} and {targets.shape}")
    own = scores[np.arange(len(targets)), targets][:, None]  # (n, 1)
    return (scores >= own).sum(axis=1).astype(np.int64)  # (n,)


def _check_ranks(ranks: np.ndarray, k: int) -> np.ndarray:
    ranks = np.asarray(ranks, dtype=np.int64)
    if ranks.size == 0:
        raise ValueError("no predictions to score")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    return ranks


def recall_at_k(ranks: np.ndarray, k: int) -> float:
    """Share of predictions whose target ranks in the top ``k``."""
    ranks = _check_ranks(ranks, k)
    return float(np.mean((ranks >= 1) & (ranks <= k)))


def mrr_at_k(ranks: np.ndarray, k: int) -> float:
    """Mean reciprocal rank, counting 0 for targets outside the top ``k``."""
    ranks = _check_ranks(ranks, k)
    hit = (ranks >= 1) & (ranks <= k)  # (n,)
    return float(np.mean(np.where(hit, 1.0 / np.maximum(ranks, 1), 0.0)))


def _binary(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray,
            ) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError(f"labels and scores must be 1-d of one length, got {y.shape} and {s.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    if y.min(initial=1) == y.max(initial=0):
        raise ValueError("labels need both a positive and a negative case")
    return y.astype(bool), s


def roc_auc(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Area under the ROC curve, ties counted one half (average ranks)."""
    y, s = _binary(labels, scores)
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)  # ascending groups
    ends = np.cumsum(counts)  # (n_groups,) 1-based rank of each group's last member
    avg_rank = (ends - (counts - 1) / 2.0)[inverse]  # (n,)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    return float((avg_rank[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def pr_auc(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Average precision: precision at each distinct threshold weighted by the recall it adds."""
    y, s = _binary(labels, scores)
    order = np.argsort(-s, kind="stable")  # highest score first
    y, s = y[order], s[order]
    last = np.r_[s[1:] != s[:-1], True]  # (n,) last member of each distinct score
    tp = np.cumsum(y)[last]  # (n_thresholds,)
    seen = (np.arange(len(y)) + 1)[last]  # (n_thresholds,)
    precision, recall = tp / seen, tp / y.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
