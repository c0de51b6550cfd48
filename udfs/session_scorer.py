"""ONNX Runtime session scorer: the registry's promoted model, hot-swapped without a restart.

``OnnxSessionScorer`` implements ``udfs.scoring.SessionScorer``. It holds only its config until
``open()`` (or the first ``score``), so it pickles cheaply for PyFlink. It then loads the
registry's promoted version (``udfs.model_store``: MLflow alias "champion"), with one intra-op
thread, and at most every ``reload_seconds`` asks the registry which version holds the alias (one
small query): when another version was promoted it downloads that one to the local cache,
verifies its checksums and swaps it in between two calls; if the new one fails to load it keeps
the old one (and does not retry that version). With no model it logs that once and returns None,
so the engine runs on its rules alone. Registry reads and model loading run on one Python-started
"model thread" (``on_model_thread``: native code hangs on a Flink operator's own thread); the
scoring itself runs on the caller's thread.

Scores: ``purchase_intent`` is the model's probability that a purchase still follows in the
session; ``abandonment_risk`` = 1 - purchase_intent (the engine reads it only for sessions with a
cart); ``next_items`` the top ``top_k`` item ids of the next-item head. A model trained on data
without purchases has no intent head to speak of: it reports 0.5 for both (no opinion) and
``extra["intent_trained"] = 0``.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from udfs.envconfig import env_field, from_env
from udfs.model_store import (
    MODEL_META,
    MODEL_NAME,
    ModelStoreError,
    ModelVersion,
    RegistryReader,
    read_json,
    resolve_root,
    version_label,
)
from udfs.scoring import ScoreMemo, SessionScores
from udfs.session_features import OOV, OUTPUT_NAMES, RANKING_NAMES, FeatureSpec, Featurizer

log = logging.getLogger(__name__)
T = TypeVar("T")
_MODEL_THREAD = "shoppulse-model"
_model_thread: list[ThreadPoolExecutor] = []
_model_thread_lock = threading.Lock()


@dataclass(frozen=True)
class ScorerConfig:
    """Where the scorer finds models and how it runs them (env prefix ``SP_SCORER``)."""

    registry: str = env_field("artifacts/registry", "Model registry directory (see models/registry.py); "
                              "a relative path is taken from the repository root.")
    model_name: str = env_field(MODEL_NAME, "Registered model name in the registry.")
    cache_dir: str = env_field("", "Local copies of downloaded versions (default: shoppulse-model-cache "
                               "in the temporary directory).")
    reload_seconds: float = env_field(10.0, "Look for a newly promoted version at most this often.")
    top_k: int = env_field(10, "Next-item candidates returned per session.")
    variant: str = env_field("auto", "ONNX variant: auto (the export's preferred one), fp32 or int8.")
    intra_op_threads: int = env_field(1, "ONNX Runtime intra-op threads per scorer.")
    memo_entries: int = env_field(1024, "Scores of short sessions kept by their inputs, so a repeated "
                                  "opening is not run again (udfs.scoring.ScoreMemo); 0: off.")
    memo_steps: int = env_field(2, "Longest session, in steps, that the memo keeps.")


class LoadedModel:
    """One model version in an ONNX Runtime session, with the featurizer it was trained with."""

    def __init__(self, version: str, onnx_path: str | Path, meta: Mapping[str, Any],
                 threads: int = 1, memo: ScoreMemo | None = None) -> None:
        ort = ort_module()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.version = version
        self.session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        self.featurizer = Featurizer(FeatureSpec.from_dict(meta["feature_spec"]))
        self.intent_trained = bool(meta.get("intent_trained", True))
        outputs = {o.name: o.shape for o in self.session.get_outputs()}
        ranked = outputs.get(RANKING_NAMES[0])  # [batch, k] when the export ranks (models.export)
        self.ranking_k = ranked[1] if ranked is not None and isinstance(ranked[1], int) else 0
        self.memo = memo if memo is not None else ScoreMemo()  # per version: a swapped-in model starts empty

    @classmethod
    def from_version(cls, found: ModelVersion, variant: str = "auto", threads: int = 1,
                     memo: ScoreMemo | None = None) -> LoadedModel:
        """Load a registry version (file checksums verified against its manifest)."""
        meta = found.meta()
        return cls(found.version, found.file(_variant_file(meta, variant)), meta, threads, memo)

    @classmethod
    def from_dir(cls, path: str | Path, variant: str = "auto", threads: int = 1) -> LoadedModel:
        """Load an export directory (no registry, no checksums): for evaluation and tests."""
        meta = read_json(Path(path) / MODEL_META)
        return cls(f"dir:{Path(path).name}", Path(path) / _variant_file(meta, variant), meta, threads)

    def run(self, prefixes: Sequence[Sequence[Mapping[str, Any]]]) -> tuple[np.ndarray, np.ndarray]:
        """(next-item logits (B, V), purchase intent (B,)) for non-empty step lists, left-padded."""
        return self._logits(self.featurizer.batch([self.featurizer.encode(p) for p in prefixes]))

    def _logits(self, inputs: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        logits, intent = self.session.run(list(OUTPUT_NAMES), inputs)  # (B, V), (B,)
        return logits, intent

    def recommend(self, prefixes: Sequence[Sequence[Mapping[str, Any]]], k: int) -> tuple[list[list[str]], np.ndarray]:
        """(the ``k`` best item ids per session, best first; purchase intent (B,)): ranked in the
        graph when the export has the ranking outputs and ``k`` fits, else from the logits."""
        return self._ranked([self.featurizer.encode(p) for p in prefixes], k)

    def _ranked(self, encoded: Sequence[np.ndarray], k: int) -> tuple[list[list[str]], np.ndarray]:
        inputs = self.featurizer.batch(encoded)
        if k > self.ranking_k:
            logits, intent = self._logits(inputs)  # (B, V), (B,)
            return top_items(logits, self.featurizer, k), intent
        rows, intent = self.session.run([RANKING_NAMES[0], OUTPUT_NAMES[1]], inputs)  # (B, K), (B,)
        return [self.featurizer.decode_items(r[:k]) for r in rows.tolist()], intent

    def score(self, steps: Sequence[Mapping[str, Any]], top_k: int) -> SessionScores:
        """SessionScores of one session at batch 1; a short session seen before comes from the memo."""
        encoded = self.featurizer.encode(steps)  # (5, T)
        key = (top_k, encoded.tobytes()) if self.memo.keeps(encoded.shape[1]) else None  # no copy when long
        found = self.memo.get(key)
        if found is not None:
            return found
        items, intent = self._ranked([encoded], top_k)
        p = float(intent[0])
        scores = (SessionScores(p, 1.0 - p, tuple(items[0]), self.version) if self.intent_trained else
                  SessionScores(0.5, 0.5, tuple(items[0]), self.version, {"intent_trained": 0.0}))
        self.memo.put(key, scores)
        return scores


def top_items(logits: np.ndarray, featurizer: Featurizer, k: int) -> list[list[str]]:
    """The ``k`` best item ids per row of ``logits`` (B, V), best first; padding/OOV never named."""
    items = logits[:, OOV + 1:]  # (B, V - 2): a view, padding and OOV left out
    k = min(k, items.shape[1])
    out = []
    for row in items:  # per row, on views: half the cost of the (B, V) copy-and-negate at batch 1
        top = np.argpartition(row, -k)[-k:]  # (k,) unordered
        out.append(featurizer.decode_items(top[np.argsort(-row[top], kind="stable")] + OOV + 1))
    return out


def _variant_file(meta: Mapping[str, Any], variant: str) -> str:
    variants: Mapping[str, str] = meta.get("variants", {"fp32": "model.onnx"})
    name = meta.get("preferred", "fp32") if variant == "auto" else variant
    if name not in variants:
        raise ModelStoreError(f"model has no {name!r} variant (has {', '.join(variants)})")
    return variants[name]


class OnnxSessionScorer:
    """SessionScorer over the registry's promoted model; reloads on promotion (see module doc)."""

    def __init__(self, config: ScorerConfig | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config if config is not None else from_env(ScorerConfig, "SP_SCORER")
        self.clock = clock
        self._reset()

    def _reset(self) -> None:
        self._model: LoadedModel | None = None
        self._reader: RegistryReader | None = None
        self._failed: str | None = None
        self._next_check = float("-inf")
        self._opened = self._said_missing = False

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config, "clock": self.clock}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.config, self.clock = state["config"], state["clock"]
        self._reset()

    @property
    def model_version(self) -> str | None:
        return self._model.version if self._model else None

    def open(self) -> None:
        """Load the promoted version now (called from the Flink function's ``open``)."""
        self._opened = True
        self._next_check = float("-inf")
        self.refresh()

    def close(self) -> None:
        self._reset()

    def score(self, steps: Sequence[Mapping[str, Any]]) -> SessionScores | None:
        """Scores of the session; None with no model or no steps."""
        if not self._opened:
            self.open()
        self.refresh()
        model = self._model
        if model is None or not steps:
            return None
        return model.score(steps, self.config.top_k)

    def refresh(self) -> None:
        """Swap in a newly promoted version; free (no I/O) until ``reload_seconds`` have passed."""
        now = self.clock()
        if now < self._next_check:
            return
        self._next_check = now + self.config.reload_seconds
        try:
            on_model_thread(self._follow_alias)
        except Exception as exc:  # a bad model or registry must never stop the job: keep what we have
            log.error("session scorer: cannot load the promoted model (%s); keeping %s", exc,
                      self.model_version or "rules only")

    def registry(self) -> RegistryReader:
        """The registry reader (created on first use, never pickled)."""
        if self._reader is None:
            cfg = self.config
            self._reader = RegistryReader(resolve_root(cfg.registry), cfg.model_name, cfg.cache_dir or None)
        return self._reader

    def _follow_alias(self) -> None:
        number = self.registry().promoted_number()
        if number is None:
            self._model = None
            self._say_missing()
            return
        if version_label(number) in (self.model_version, self._failed):
            return
        found = self.registry().get(number)
        self._failed = found.version  # until it has loaded: a broken version is tried once
        self._model = LoadedModel.from_version(found, self.config.variant, self.config.intra_op_threads,
                                               ScoreMemo(self.config.memo_entries, self.config.memo_steps))
        self._failed, self._said_missing = None, False
        log.info("session scorer: now scoring with model %s from %s", found.version, self.config.registry)

    def _say_missing(self) -> None:
        if not self._said_missing:
            log.warning("session scorer: no model promoted in %s; scoring off, rules only",
                        self.config.registry)
            self._said_missing = True


def resolved_config() -> ScorerConfig:
    """``SP_SCORER_*`` as this process sees them, the registry as an absolute path: the submitting
    client resolves it, since a cluster's task manager has its own environment and directory."""
    cfg = from_env(ScorerConfig, "SP_SCORER")
    return replace(cfg, registry=str(resolve_root(cfg.registry)))


def on_model_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` on the process's model thread (one, started by Python) and return its result.

    On a Flink worker in thread mode, native code that takes the GIL with ``PyGILState_Ensure``
    deadlocks on an operator's own thread: ONNX Runtime's module initialization and SQLite's
    connection setup (MLflow's store) hung there, in the mini-cluster and on the session cluster.
    On a thread started by Python both work. Registry reads, downloads and model loading go
    through here; scoring a loaded model stays on the caller's thread."""
    if threading.current_thread().name.startswith(_MODEL_THREAD):
        return fn()
    with _model_thread_lock:
        if not _model_thread:
            _model_thread.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix=_MODEL_THREAD))
    return _model_thread[0].submit(fn).result()


def _import_runtime() -> None:
    import mlflow.artifacts  # noqa: F401
    import onnxruntime  # noqa: F401
    from mlflow import MlflowClient  # noqa: F401


def preload() -> None:
    """Import ONNX Runtime and MLflow's client on the model thread: the engine calls this when its
    function is unpickled on a worker, so the first model load does not pay for the imports."""
    on_model_thread(_import_runtime)


def ort_module() -> Any:
    """The ``onnxruntime`` module, imported on the model thread the first time."""
    if "onnxruntime" not in sys.modules:
        preload()
    import onnxruntime as ort

    return ort
