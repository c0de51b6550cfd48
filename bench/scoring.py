"""Scoring latency: ONNX Runtime (fp32, int8) against torch eager on the same model, one thread.

The bench model (``bench.model``) scores sessions of 50 steps (the longest the job keeps, the
worst case) and the pool's own sessions (a few steps each, the common case), at batch 1 (the
job's path: one session per decision point) and batch 32. Latency per session includes
featurization (``Featurizer.encode``/``batch``), as in the job; each configuration is run in
rounds interleaved with the others, so machine noise hits them alike. Reported: p50, p99 per
session (a batch's time divided by its size).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

from bench.measure import percentiles
from bench.model import build_export, long_sessions, pool_sessions
from models.adapters import OnnxSessionModel, TorchSessionModel
from models.model import load_checkpoint
from udfs.session_features import FeatureSpec, Featurizer
from udfs.session_scorer import LoadedModel

Steps = list[dict[str, Any]]


def models() -> dict[str, Any]:
    out = build_export()
    torch.set_num_threads(1)
    model, meta = load_checkpoint(str(out / "model.pt"))
    return {"onnx-fp32": OnnxSessionModel(LoadedModel.from_dir(out, "fp32", threads=1)),
            "onnx-int8": OnnxSessionModel(LoadedModel.from_dir(out, "int8", threads=1)),
            "torch-eager": TorchSessionModel(model, Featurizer(FeatureSpec.from_dict(meta["feature_spec"])))}


def _time(run: Callable[[list[Steps]], Any], batches: list[list[Steps]]) -> list[float]:
    """Milliseconds per session of each batch."""
    out = []
    for batch in batches:
        start = time.perf_counter()
        run(batch)
        out.append((time.perf_counter() - start) * 1000 / len(batch))
    return out


def measure(sessions: list[Steps], batch: int, rounds: int, per_round: int) -> dict[str, dict[str, float]]:
    """Per-session latency of every model on ``sessions`` at ``batch``, rounds interleaved."""
    ms = models()
    batches = [sessions[i:i + batch] for i in range(0, per_round * batch, batch)]
    times: dict[str, list[float]] = {name: [] for name in ms}
    for m in ms.values():  # warm-up
        _time(m.run, batches[:5])
    for _ in range(rounds):
        for name, m in ms.items():
            times[name] += _time(m.run, batches)
    return {name: percentiles(t) for name, t in times.items()}


def run(quick: bool = False) -> dict[str, Any]:
    print("==> scoring: ONNX Runtime fp32/int8 vs torch eager, one thread ...", flush=True)
    short = [s for s in pool_sessions(40) if len(s) >= 2]
    long = long_sessions(short, 2_000)
    rounds, per_round = (2, 20) if quick else (5, 60)
    result: dict[str, Any] = {}
    for label, sessions in (("50 steps", long), ("pool sessions", short)):
        for batch in (1, 32):
            pool = (sessions * (1 + per_round * batch // len(sessions)))[: per_round * batch]
            key = f"{label}, batch {batch}"
            result[key] = measure(pool, batch, rounds, per_round)
            line = ", ".join(f"{n} p50 {v['p50']:.3f} p99 {v['p99']:.3f}" for n, v in result[key].items())
            print(f"    {key}: {line} ms/session", flush=True)
    result["mean_pool_steps"] = sum(map(len, short)) / len(short)
    return result
