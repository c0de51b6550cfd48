"""Metrics against values computed by hand, and AUC against a brute-force pair count."""
from __future__ import annotations

import numpy as np
import pytest

from models.metrics import mrr_at_k, pr_auc, ranks_from_scores, recall_at_k, roc_auc, target_ranks


def test_target_ranks_and_ranking_metrics() -> None:
    ranks = target_ranks([["a", "b", "c"], ["b"], ["c", "a"]], ["b", "a", "c"])
    assert ranks.tolist() == [2, 0, 1]
    assert recall_at_k(ranks, 1) == pytest.approx(1 / 3)
    assert recall_at_k(ranks, 2) == pytest.approx(2 / 3)
    assert mrr_at_k(ranks, 1) == pytest.approx(1 / 3)  # only the rank-1 hit counts
    assert mrr_at_k(ranks, 20) == pytest.approx((1 / 2 + 0 + 1) / 3)


def test_ranks_from_scores_counts_ties_against_the_target() -> None:
    scores = np.array([[0.1, 0.9, 0.5], [0.3, 0.3, 0.2], [0.7, 0.1, 0.2]])
    assert ranks_from_scores(scores, np.array([2, 0, 0])).tolist() == [2, 2, 1]
    with pytest.raises(ValueError, match="need scores"):
        ranks_from_scores(scores, np.array([0, 1]))


def test_ranking_metric_errors() -> None:
    with pytest.raises(ValueError, match="no predictions"):
        recall_at_k(np.array([], np.int64), 20)
    with pytest.raises(ValueError, match="k must be at least 1"):
        mrr_at_k(np.array([1]), 0)
    with pytest.raises(ValueError, match="2 recommendation lists for 1 targets"):
        target_ranks([["a"], ["b"]], ["a"])


def test_roc_auc_hand_values() -> None:
    # Positives .9 and .3, negatives .8 and .1: .9 beats both, .3 beats .1 only -> 3 of 4 pairs.
    assert roc_auc([1, 0, 1, 0], [0.9, 0.8, 0.3, 0.1]) == pytest.approx(0.75)
    # Positives .5 and .9, negatives .5 and .1: the .5/.5 tie counts one half -> 3.5 of 4.
    assert roc_auc([1, 0, 1, 0], [0.5, 0.5, 0.9, 0.1]) == pytest.approx(0.875)
    assert roc_auc([0, 1], [0.2, 0.8]) == 1.0 and roc_auc([1, 0], [0.2, 0.8]) == 0.0


def test_pr_auc_hand_values() -> None:
    # Ranked: pos (P 1, R 1/2), neg, pos (P 2/3, R 1): AP = 1/2 * 1 + 1/2 * 2/3.
    assert pr_auc([1, 0, 1, 0], [0.9, 0.8, 0.3, 0.1]) == pytest.approx(5 / 6)
    # Tied pos/neg at .5 form one threshold: after .9 (P 1, R 1/2), at .5 P 2/3, R 1.
    assert pr_auc([1, 0, 1, 0], [0.5, 0.5, 0.9, 0.1]) == pytest.approx(5 / 6)
    assert pr_auc([0, 0, 1], [0.9, 0.8, 0.1]) == pytest.approx(1 / 3)
    assert pr_auc([1, 1, 0], [0.9, 0.8, 0.1]) == pytest.approx(1.0)


def test_roc_auc_matches_pair_count_on_random_ties() -> None:
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, 300)  # (300,)
    scores = rng.integers(0, 10, 300) / 10.0  # (300,) many ties
    pos, neg = scores[labels == 1], scores[labels == 0]
    diff = pos[:, None] - neg[None, :]  # (n_pos, n_neg)
    expected = ((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size
    assert roc_auc(labels, scores) == pytest.approx(expected)
    assert roc_auc(labels, -scores) == pytest.approx(1 - expected)


def test_binary_metric_errors() -> None:
    with pytest.raises(ValueError, match="both a positive and a negative"):
        roc_auc([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="both a positive and a negative"):
        pr_auc([0, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="one length"):
        roc_auc([1, 0], [0.1])
    with pytest.raises(ValueError, match="0 or 1"):
        pr_auc([2, 0], [0.1, 0.2])
