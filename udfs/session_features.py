"""Steps -> model input tensors: the one featurization shared by training and the stream.

Torch-free (numpy only): ``models.train`` builds its batches with it and the ONNX scorer in the
streaming job builds its inputs with it, so the model sees the same numbers in both places.

Each step (the dict format of ``udfs.scoring``) becomes five small integers, index 0 = padding:

- ``items``: item vocabulary index; 1 = out of vocabulary (unseen at training, or no item id).
  A vocabulary, not hashing: the stream needs the index -> item id table anyway to turn the
  next-item head back into item ids, and a vocabulary has no collisions, a learned OOV row and
  an output layer only as wide as the items actually seen.
- ``event_types``: index in the event-type list frozen at training; 1 = unknown type.
- ``gaps``: seconds since the previous step, log2-bucketed; 1 = first step given.
- ``prices``: price band, 2 per doubling of (1 + price); 1 = no price.
- ``categories``: category vocabulary index; 1 = unknown or none.

Only the last ``max_len`` steps are used. Batches are LEFT-padded, so a session's newest step is
always the last column and the model reads its "last" output at index -1.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

PAD, OOV = 0, 1
FEATURES = ("items", "event_types", "gaps", "prices", "categories")
INPUT_NAMES = (*FEATURES, "mask")
OUTPUT_NAMES = ("next_item_logits", "purchase_intent")
# The exporter's ranking outputs: the best item-table rows (B, K), best first, padding and OOV
# never among them, and their logits (B, K); K is model.json's "ranking_k".
RANKING_NAMES = ("top_item_rows", "top_item_logits")
_SCHEMA = Path(__file__).resolve().parent.parent / "avro_schemas" / "behavior_event.avsc"


def schema_event_types() -> tuple[str, ...]:
    """The behavior_event EventType symbols from the Avro contract."""
    fields = json.loads(_SCHEMA.read_text())["fields"]
    return tuple(next(f["type"]["symbols"] for f in fields if f["name"] == "event_type"))


@dataclass(frozen=True)
class FeatureSpec:
    """Sizes and vocabularies of the inputs; saved with every model so serving rebuilds them."""

    max_len: int = 50
    gap_buckets: int = 24
    price_bands: int = 32
    event_types: tuple[str, ...] = field(default_factory=schema_event_types)
    items: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def n_items(self) -> int:
        """Rows of the item table (padding + OOV + vocabulary)."""
        return len(self.items) + 2

    @property
    def n_categories(self) -> int:
        return len(self.categories) + 2

    @property
    def n_event_types(self) -> int:
        return len(self.event_types) + 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureSpec:
        values: dict[str, Any] = {k: tuple(d[k]) for k in ("event_types", "items", "categories") if k in d}
        values.update({k: int(d[k]) for k in ("max_len", "gap_buckets", "price_bands") if k in d})
        return cls(**values)


def build_spec(sessions: Iterable[Sequence[Mapping[str, Any]]], max_len: int = 50, min_count: int = 1,
               max_items: int = 200_000, max_categories: int = 2_000) -> FeatureSpec:
    """A spec whose vocabularies hold the items/categories seen ``min_count`` times, most frequent first."""
    items: Counter[str] = Counter()
    cats: Counter[str] = Counter()
    for steps in sessions:
        items.update(s["item_id"] for s in steps if s.get("item_id") is not None)
        cats.update(s["category"] for s in steps if s.get("category"))
    keep_items = [k for k, n in sorted(items.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_count]
    keep_cats = [k for k, _ in sorted(cats.items(), key=lambda kv: (-kv[1], kv[0]))]
    return FeatureSpec(max_len=max_len, items=tuple(keep_items[:max_items]),
                       categories=tuple(keep_cats[:max_categories]))


def _gap_bucket(gap_ms: int, n: int) -> int:
    return 2 + min(int(math.log2(1.0 + max(gap_ms, 0) / 1000.0)), n - 3)


def _price_band(price: float | None, n: int) -> int:
    if price is None or price != price or price < 0:
        return OOV
    return 2 + min(int(2.0 * math.log2(1.0 + price)), n - 3)


class Featurizer:
    """Turns step lists into left-padded int64 arrays; build once per spec (holds lookup dicts)."""

    def __init__(self, spec: FeatureSpec) -> None:
        self.spec = spec
        self.item_index = {k: i + 2 for i, k in enumerate(spec.items)}
        self.category_index = {k: i + 2 for i, k in enumerate(spec.categories)}
        self.type_index = {k: i + 2 for i, k in enumerate(spec.event_types)}

    def encode(self, steps: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The last ``max_len`` steps as a (5, T) int64 array, rows in ``FEATURES`` order."""
        spec, start = self.spec, max(0, len(steps) - self.spec.max_len)
        out = np.empty((len(FEATURES), len(steps) - start), dtype=np.int64)  # (5, T)
        prev: int | None = None
        for col, step in enumerate(steps[start:]):
            when = int(step["event_time"])
            out[0, col] = self.item_index.get(step.get("item_id"), OOV)  # type: ignore[arg-type]
            out[1, col] = self.type_index.get(step.get("event_type"), OOV)  # type: ignore[arg-type]
            out[2, col] = OOV if prev is None else _gap_bucket(when - prev, spec.gap_buckets)
            out[3, col] = _price_band(step.get("price"), spec.price_bands)
            out[4, col] = self.category_index.get(step.get("category"), OOV)  # type: ignore[arg-type]
            prev = when
        return out

    def batch(self, encoded: Sequence[np.ndarray], length: int | None = None) -> dict[str, np.ndarray]:
        """Left-pad encoded sessions to ``length`` (default: the longest) -> named (B, T) inputs."""
        t = length if length is not None else max(e.shape[1] for e in encoded)
        arr = np.zeros((len(encoded), len(FEATURES), t), dtype=np.int64)  # (B, 5, T)
        mask = np.zeros((len(encoded), t), dtype=bool)  # (B, T)
        for row, e in enumerate(encoded):
            n = min(e.shape[1], t)
            if n:
                arr[row, :, t - n:] = e[:, e.shape[1] - n:]
                mask[row, t - n:] = True
        inputs = {name: arr[:, i, :] for i, name in enumerate(FEATURES)}  # each (B, T)
        inputs["mask"] = mask
        return inputs

    def inputs(self, steps: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        """One session's inputs at batch 1, unpadded: what the scorer feeds ONNX Runtime."""
        return self.batch([self.encode(steps)])

    def decode_items(self, indices: Iterable[int]) -> list[str]:
        """Item ids for item-table rows, skipping padding and OOV."""
        items = self.spec.items
        return [items[i - 2] for i in indices if 2 <= i < len(items) + 2]
