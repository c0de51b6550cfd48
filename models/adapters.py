"""The evaluation hook of ``models.evaluate`` for trained models, torch or ONNX.

``load_session_model(path)`` (also importable from ``models.export``, where ``models.evaluate``
looks first) accepts a training checkpoint (``model.pt``), an export directory (``model.json`` +
ONNX files), or a registry root (its current version). The returned object has
``recommend(prefix_steps, k)``, ``intent(prefix_steps)`` and their batched forms, computed with
the same featurization and top-k decoding as the streaming scorer (``udfs.session_scorer``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.model import SessionTransformer, load_checkpoint
from udfs.model_store import MODEL_META, POINTER, current_version
from udfs.session_features import INPUT_NAMES, FeatureSpec, Featurizer
from udfs.session_scorer import LoadedModel, top_items

Steps = Sequence[Mapping[str, Any]]


class SessionModelAdapter:
    """Batched next-item and intent predictions from ``run(prefixes) -> (logits, intent)``."""

    featurizer: Featurizer
    batch_size = 128

    def run(self, prefixes: Sequence[Steps]) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _chunks(self, prefixes: Sequence[Steps]) -> list[tuple[np.ndarray, np.ndarray]]:
        return [self.run(prefixes[i:i + self.batch_size]) for i in range(0, len(prefixes), self.batch_size)]

    def recommend_batch(self, prefixes: Sequence[Steps], k: int) -> list[list[str]]:
        chunks = self._chunks(prefixes)
        return [items for logits, _ in chunks for items in top_items(logits, self.featurizer, k)]

    def intent_batch(self, prefixes: Sequence[Steps]) -> list[float]:
        return [float(p) for _, intent in self._chunks(prefixes) for p in intent]

    def recommend(self, prefix_steps: Steps, k: int) -> list[str]:
        return self.recommend_batch([prefix_steps], k)[0]

    def intent(self, prefix_steps: Steps) -> float:
        return self.intent_batch([prefix_steps])[0]


class TorchSessionModel(SessionModelAdapter):
    """A SessionTransformer in torch (eval mode, no grad)."""

    def __init__(self, model: SessionTransformer, featurizer: Featurizer) -> None:
        self.model, self.featurizer = model.eval(), featurizer

    @torch.no_grad()
    def run(self, prefixes: Sequence[Steps]) -> tuple[np.ndarray, np.ndarray]:
        batch = self.featurizer.batch([self.featurizer.encode(p) for p in prefixes])
        logits, intent = self.model(*(torch.from_numpy(batch[k]) for k in INPUT_NAMES))  # (B, V), (B,)
        return logits.numpy(), intent.numpy()


class OnnxSessionModel(SessionModelAdapter):
    """An exported model in ONNX Runtime (the serving path)."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded, self.featurizer = loaded, loaded.featurizer

    def run(self, prefixes: Sequence[Steps]) -> tuple[np.ndarray, np.ndarray]:
        return self.loaded.run(prefixes)


def load_session_model(path: str, variant: str = "auto") -> SessionModelAdapter:
    """The model at ``path``: a ``.pt`` checkpoint, an export directory or a registry root."""
    p = Path(path)
    if p.is_file() and p.suffix == ".pt":
        model, meta = load_checkpoint(str(p))
        return TorchSessionModel(model, Featurizer(FeatureSpec.from_dict(meta["feature_spec"])))
    if (p / MODEL_META).is_file():
        return OnnxSessionModel(LoadedModel.from_dir(p, variant))
    if (p / POINTER).is_file():
        found = current_version(p)
        if found is not None:
            return OnnxSessionModel(LoadedModel.from_version(found, variant))
    raise FileNotFoundError(f"{path}: not a model.pt checkpoint, an export directory or a registry with a "
                            "current version")
