"""Baselines on a hand-made dataset whose answers are worked out by hand in the comments."""
from __future__ import annotations

import math

import pytest

from models.baselines import IntentRate, ItemKNN, Popularity
from models.data import Session, make_step


def session(sid: str, items: str, kinds: str = "") -> Session:
    """Items are single letters; kinds: v=product_view, c=add_to_cart, p=purchase (default all v)."""
    names = {"v": "product_view", "c": "add_to_cart", "p": "purchase", "r": "remove_from_cart"}
    kinds = kinds or "v" * len(items)
    pairs = enumerate(zip(items, kinds, strict=True))
    return Session(sid, [make_step(i, names[k], 1000 * n) for n, (i, k) in pairs])


# Sessions as item sets: {A,B,C}, {A,B}, {B,D}, {C,D}. Support: A 2, B 3, C 2, D 2.
# Co-occurrence: AB 2, AC 1, BC 1, BD 1, CD 1. Cosine = co / sqrt(support product):
# AB 2/sqrt(6) = .8165, AC 1/2 = .5, BC 1/sqrt(6) = .4082, BD .4082, CD .5.
TRAIN = [session("s1", "ABC"), session("s2", "AB"), session("s3", "BD"), session("s4", "CD")]
AB, AC, BC, BD, CD = 2 / math.sqrt(6), 0.5, 1 / math.sqrt(6), 1 / math.sqrt(6), 0.5


def test_popularity_counts_events_and_breaks_ties_by_id() -> None:
    pop = Popularity().fit([*TRAIN, session("s5", "DD")])  # counts: D 4, B 3, A 2, C 2
    assert pop.recommend(["A"], 3) == ["D", "B", "A"]
    assert pop.recommend([], 10) == ["D", "B", "A", "C"]
    assert pop.recommend_batch([["A"], ["C", "D"]], 1) == [["D"], ["D"]]


def test_knn_cosine_neighbours() -> None:
    knn = ItemKNN().fit(TRAIN)
    got = {item: [(n, round(s, 4)) for n, s in knn.neighbours_of(item)] for item in "ABCD"}
    assert got["A"] == [("B", round(AB, 4)), ("C", round(AC, 4))]
    assert got["B"] == [("A", round(AB, 4)), ("C", round(BC, 4)), ("D", round(BD, 4))]  # C/D tie: by id
    assert got["C"] == [("A", 0.5), ("D", 0.5), ("B", round(BC, 4))]
    assert knn.neighbours_of("Z") == []


def test_knn_weights_recent_items_more() -> None:
    knn = ItemKNN().fit(TRAIN)
    # prefix C, D: D (weight 1) gives C .5, B .4082; C (weight 1/2) gives A .25, D .25, B .2041.
    # B .6124 > C .5 > A .25 = D .25 (tie by id).
    assert knn.recommend(["C", "D"], 4) == ["B", "C", "A", "D"]
    # prefix D, C: C (weight 1) gives A .5, D .5, B .4082; D (1/2) gives C .25, B .2041.
    # B .6124 > A .5 = D .5 > C .25.
    assert knn.recommend(["D", "C"], 4) == ["B", "A", "D", "C"]
    _, scores = knn.scores(["C", "D"])
    assert sorted(scores.round(4)) == sorted([round(BD + BC / 2, 4), CD, AC / 2, CD / 2])
    assert knn.recommend(["D", "C"], 2) == ["B", "A"]


def test_knn_limits_neighbours_window_and_unknown_items() -> None:
    assert ItemKNN(neighbours=1).fit(TRAIN).recommend(["C"], 5) == ["A"]  # C keeps only A (A/D tie)
    assert ItemKNN(window=1).fit(TRAIN).recommend(["A", "D"], 4) == ["C", "B"]  # only D counts
    knn = ItemKNN().fit(TRAIN)
    assert knn.recommend(["Z"], 5) == [] and knn.recommend([], 5) == []
    assert knn.recommend(["Z", "A"], 5) == knn.recommend(["A"], 5) == ["B", "C"]
    assert knn.recommend_batch([["A"], ["Z"]], 1) == [["B"], []]


def test_knn_caps_items_per_session() -> None:
    # With max_session_items=2 the session ABC only links its two most recent items B and C.
    knn = ItemKNN(max_session_items=2).fit([session("s1", "ABC")])
    assert knn.neighbours_of("A") == [] and [n for n, _ in knn.neighbours_of("B")] == ["C"]


def test_intent_rate_by_last_event_and_cart() -> None:
    # Cases (last event type, cart seen) -> label: p1 (view,F)->1, (cart,T)->1; n1 (view,F)->0,
    # (cart,T)->0; n2 (view,F)->0 twice. view/F: 1 of 4, cart/T: 1 of 2, overall 2 of 6.
    train = [session("p1", "XXX", "vcp"), session("n1", "YY", "vc"), session("n2", "ZW", "vv")]
    rate = IntentRate().fit(train)
    base = 2 / 6
    assert rate.intent(session("q", "A", "v").steps) == pytest.approx((1 + base) / 5)
    assert rate.intent(session("q", "AB", "vc").steps) == pytest.approx((1 + base) / 3)
    assert rate.intent(session("q", "AB", "cr").steps) == pytest.approx(base)  # unseen key
    assert rate.intent([]) == pytest.approx(base)
