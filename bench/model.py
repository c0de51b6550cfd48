"""The model the benchmarks score with: a session transformer over the pool's catalogue.

Its vocabularies come from the pool's own sessions, so the job scores real item ids; its weights
are seeded, not trained (latency depends on the shape, not the values). Shape: d_model 64,
2 layers, 2 heads, 50 steps: the default search point of ``models.train``. It is exported with
the project's exporter (ONNX fp32 + int8, torch parity checked) to ``.state/bench/model`` and
handed to the job as a ready ``bench.scorer.DirScorer``, so the benchmark does not depend on a
registry being set up.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch

from bench.pool import PoolSpec, chunk_events
from bench.settings import state_path
from models.data import make_step
from models.export import export_checkpoint
from models.fit import TrainConfig
from models.model import SessionTransformer, save_checkpoint
from udfs.session_features import build_spec

SHAPE = TrainConfig(d_model=64, n_layers=2, n_heads=2)
MAX_LEN = 50


def pool_sessions(chunks: int = 20) -> list[list[dict[str, Any]]]:
    """Scorer steps of the pool's sessions (first ``chunks`` chunks), oldest first."""
    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for chunk in range(chunks):
        for e in chunk_events(PoolSpec(), chunk, 0):
            product = e["product"] or {}
            by_session[e["session_id"]].append(dict(make_step(
                product.get("product_id"), e["event_type"], e["event_time"], product.get("price"),
                product.get("category"))))
    return list(by_session.values())


def long_sessions(sessions: list[list[dict[str, Any]]], n: int, length: int = MAX_LEN) -> list[list[dict[str, Any]]]:
    """``n`` sessions of exactly ``length`` steps, glued from pool sessions (the worst case)."""
    flat = [s for steps in sessions for s in steps]
    out = []
    for i in range(n):
        start = (i * 37) % max(1, len(flat) - length)
        out.append(flat[start:start + length])
    return out


def export_dir() -> Path:
    return state_path("model")


def build_export() -> Path:
    """Export the bench model (once; reused when present and exported with the graph's ranking);
    returns the export directory."""
    out = export_dir()
    meta = out / "model.json"
    if meta.exists() and "ranking_k" in json.loads(meta.read_text()):
        return out
    out.mkdir(parents=True, exist_ok=True)
    sessions = pool_sessions()
    spec = build_spec(sessions, max_len=MAX_LEN)
    torch.manual_seed(0)
    model = SessionTransformer(SHAPE.model_config(spec)).eval()
    save_checkpoint(str(out / "model.pt"), model, {"feature_spec": spec.to_dict(), "intent_trained": True})
    torch.set_num_threads(1)
    export_checkpoint(out / "model.pt", out, sessions[:300])
    return out
