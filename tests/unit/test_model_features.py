"""Featurization shared by training and serving: indices, truncation, padding, spec round trip."""
from __future__ import annotations

import numpy as np

from udfs.session_features import FEATURES, OOV, PAD, FeatureSpec, Featurizer, build_spec, schema_event_types


def step(item: str | None, t: int, kind: str = "product_view", price: float | None = 10.0,
         category: str | None = "shoes") -> dict:
    return {"item_id": item, "event_type": kind, "event_time": t, "price": price, "category": category}


SESSIONS = [[step("a", 0), step("b", 1_000), step("a", 2_000)], [step("c", 0, category="hats")]]


def test_vocabulary_is_most_frequent_first_and_min_count_filters() -> None:
    spec = build_spec(SESSIONS, max_len=8)
    assert spec.items == ("a", "b", "c")
    assert spec.categories == ("shoes", "hats")
    assert build_spec(SESSIONS, min_count=2).items == ("a",)
    assert spec.event_types == schema_event_types()


def test_encode_maps_each_feature_and_unknowns_to_oov() -> None:
    f = Featurizer(build_spec(SESSIONS))
    unknown = step("zzz", 5_000, kind="not-a-type", price=None, category=None)
    steps = [step("a", 0), unknown, step(None, 5_000)]
    enc = f.encode(steps)
    assert enc.shape == (len(FEATURES), 3) and enc.dtype == np.int64
    items, kinds, gaps, prices, cats = enc
    assert items.tolist() == [2, OOV, OOV]
    assert kinds[0] == 2 + schema_event_types().index("product_view") and kinds[1] == OOV
    assert gaps[0] == OOV and gaps[1] > gaps[2] >= 2  # 5 s gap above a zero gap
    assert prices[1] == OOV and prices[0] >= 2
    assert cats.tolist() == [2, OOV, 2]
    assert PAD not in enc


def test_gap_and_price_buckets_grow_with_the_value_and_are_capped() -> None:
    spec = build_spec(SESSIONS)
    f = Featurizer(spec)
    times = [0, 1, 1_000, 60_000, 3_600_000, 10**12]
    gaps = f.encode([step("a", sum(times[:i + 1])) for i in range(len(times))])[2]
    assert list(gaps[1:]) == sorted(gaps[1:]) and gaps[-1] == spec.gap_buckets - 1
    prices = [f.encode([step("a", 0, price=p)])[3, 0] for p in (0.0, 1.0, 100.0, 1e12)]
    assert prices == sorted(prices) and prices[-1] == spec.price_bands - 1


def test_encode_keeps_the_newest_max_len_steps() -> None:
    f = Featurizer(FeatureSpec(max_len=4, items=tuple(str(i) for i in range(10))))
    enc = f.encode([step(str(i), i * 1000) for i in range(10)])
    assert enc.shape[1] == 4
    assert f.decode_items(enc[0]) == ["6", "7", "8", "9"]
    assert enc[2, 0] == OOV  # the first step given has no gap


def test_batch_left_pads_and_masks() -> None:
    f = Featurizer(build_spec(SESSIONS))
    batch = f.batch([f.encode(SESSIONS[0]), f.encode(SESSIONS[1])])
    assert batch["mask"].tolist() == [[True, True, True], [False, False, True]]
    assert batch["items"][1].tolist() == [PAD, PAD, 4]
    assert batch["items"][0, -1] == 2  # newest step always in the last column
    assert set(batch) == {*FEATURES, "mask"}


def test_spec_round_trips_through_dict() -> None:
    spec = build_spec(SESSIONS, max_len=12)
    again = FeatureSpec.from_dict(spec.to_dict())
    assert again == spec and again.n_items == 5 and again.n_categories == 4


def test_decode_items_skips_padding_and_oov() -> None:
    f = Featurizer(build_spec(SESSIONS))
    assert f.decode_items([PAD, OOV, 3, 4, 99]) == ["b", "c"]
