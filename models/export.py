"""Export a trained checkpoint to ONNX (fp32, plus int8 where it helps) and check parity.

    python -m models.export --checkpoint OUT/model.pt [--out OUT] [--data FILE [--format F]]

Writes ``model.onnx`` (TorchScript exporter, opset 17, dynamic batch and sequence axes, plus
the ranking outputs: the best ``RANKING_K`` item rows by a TopK node, so serving need not rank
the whole vocabulary's logits in numpy),
``model.int8.onnx`` (ONNX Runtime dynamic quantization of the weights, when available) and
``model.json``: model config, feature spec (vocabularies), input/output names, variants, the
preferred variant, parity and latency numbers. Parity: torch and ONNX Runtime must agree within
``--tol`` (default 1e-4, max abs difference of logits and intent) on random sessions and on real
ones (``--data``, or the sessions ``models.train`` passes in), both unpadded at batch 1 (the
serving path) and left-padded in batches; export fails otherwise. The int8 variant becomes the
preferred one only when asked (``prefer_int8`` / ``--prefer-int8``) and it is faster at batch 1
and keeps the fp32 top-20 and intent; a latency measured on a busy machine never decides alone.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch

from models.adapters import OnnxSessionModel, TorchSessionModel, load_session_model
from models.model import SessionTransformer, load_checkpoint
from udfs.session_features import INPUT_NAMES, OOV, OUTPUT_NAMES, RANKING_NAMES, FeatureSpec, Featurizer
from udfs.session_scorer import LoadedModel, top_items

__all__ = ["export_checkpoint", "load_session_model"]
Steps = Sequence[Mapping[str, Any]]
OPSET = 17
RANKING_K = 20  # item rows the graph ranks; a scorer asking for more ranks the logits itself


def export_onnx(model: SessionTransformer, featurizer: Featurizer, path: Path) -> None:
    """Trace ``model.forward`` to ONNX with dynamic batch and sequence axes."""
    example = featurizer.batch([featurizer.encode(s) for s in random_sessions(featurizer.spec, 2, 0)])
    axes = {name: {0: "batch", 1: "steps"} for name in INPUT_NAMES}
    axes.update({name: {0: "batch"} for name in OUTPUT_NAMES})
    with torch.no_grad():
        torch.onnx.export(model.eval(), tuple(torch.from_numpy(example[k]) for k in INPUT_NAMES), str(path),
                          input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES),
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    k = ranking_k(featurizer.spec)
    if k:  # a vocabulary without items has nothing to rank
        add_ranking(path, k)


def ranking_k(spec: FeatureSpec) -> int:
    """How many item rows the graph ranks: ``RANKING_K``, or every item of a smaller vocabulary."""
    return min(RANKING_K, spec.n_items - OOV - 1)


def add_ranking(path: Path, k: int) -> None:
    """Append Slice -> TopK -> Add to the logits: the ``k`` best item rows past padding and OOV,
    best first (ties: the lower row first, as a stable sort), as outputs ``RANKING_NAMES``."""
    graph = onnx.load(str(path))
    const = {"rank_start": OOV + 1, "rank_end": 2**62, "rank_axis": 1, "rank_k": k}
    graph.graph.initializer.extend(
        onnx.helper.make_tensor(name, onnx.TensorProto.INT64, [1], [v]) for name, v in const.items())
    rows, logits = RANKING_NAMES
    graph.graph.node.extend([
        onnx.helper.make_node("Slice", [OUTPUT_NAMES[0], "rank_start", "rank_end", "rank_axis"], ["rank_items"]),
        onnx.helper.make_node("TopK", ["rank_items", "rank_k"], [logits, "rank_index"], axis=1, largest=1, sorted=1),
        onnx.helper.make_node("Add", ["rank_index", "rank_start"], [rows])])  # (B, k) item-table rows
    graph.graph.output.extend([
        onnx.helper.make_tensor_value_info(rows, onnx.TensorProto.INT64, ["batch", k]),
        onnx.helper.make_tensor_value_info(logits, onnx.TensorProto.FLOAT, ["batch", k])])
    onnx.checker.check_model(graph)
    onnx.save(graph, str(path))


def random_sessions(spec: FeatureSpec, n: int, seed: int) -> list[list[dict[str, Any]]]:
    """Random sessions (1..max_len+5 steps) over the vocabulary, unseen items and odd values."""
    rng = np.random.default_rng(seed)
    items = [*spec.items[:1000], "never-seen-item", None]
    types = [*spec.event_types, "not-a-type"]
    cats = [*spec.categories[:100], "never-seen-category", None]
    out = []
    for _ in range(n):
        t = int(rng.integers(1_500_000_000_000, 1_700_000_000_000))
        steps = []
        for _ in range(int(rng.integers(1, spec.max_len + 6))):
            t += int(rng.choice([0, 1_000, 30_000, 600_000, 86_400_000]) * rng.random())
            price = None if rng.random() < 0.2 else float(rng.lognormal(3, 1.5))
            steps.append({"item_id": items[rng.integers(len(items))], "event_time": t, "price": price,
                          "event_type": types[rng.integers(len(types))],
                          "category": cats[rng.integers(len(cats))]})
        out.append(steps)
    return out


def parity(torch_model: TorchSessionModel, onnx_model: OnnxSessionModel, sessions: Sequence[Steps],
           ) -> dict[str, float]:
    """Max abs torch-vs-ONNX difference of logits and intent, at batch 1 and in padded batches."""
    diffs = {"batch1_logits": 0.0, "batch1_intent": 0.0, "batched_logits": 0.0, "batched_intent": 0.0}
    for s in sessions[:200]:
        (tl, ti), (ol, oi) = torch_model.run([s]), onnx_model.run([s])
        diffs["batch1_logits"] = max(diffs["batch1_logits"], float(np.abs(tl - ol).max()))
        diffs["batch1_intent"] = max(diffs["batch1_intent"], float(np.abs(ti - oi).max()))
    for i in range(0, len(sessions), 64):
        (tl, ti), (ol, oi) = torch_model.run(sessions[i:i + 64]), onnx_model.run(sessions[i:i + 64])
        diffs["batched_logits"] = max(diffs["batched_logits"], float(np.abs(tl - ol).max()))
        diffs["batched_intent"] = max(diffs["batched_intent"], float(np.abs(ti - oi).max()))
    return diffs


def ranking_mismatches(model: LoadedModel, sessions: Sequence[Steps]) -> int:
    """Sessions whose graph-ranked items differ from ranking the same run's logits in numpy."""
    bad = 0
    if not model.ranking_k:
        return bad
    for i in range(0, len(sessions), 64):
        chunk = sessions[i:i + 64]
        logits, _ = model.run(chunk)  # (B, V)
        ranked, _ = model.recommend(chunk, model.ranking_k)
        bad += sum(a != b for a, b in zip(ranked, top_items(logits, model.featurizer, model.ranking_k), strict=True))
    return bad


def latency_ms(model: OnnxSessionModel | TorchSessionModel, sessions: Sequence[Steps], rounds: int = 3,
               ) -> dict[str, float]:
    """Per-session latency at batch 1 (featurize + run), p50 and p99 in milliseconds."""
    times = []
    for _ in range(rounds):
        for s in sessions:
            start = time.perf_counter()
            model.run([s])
            times.append((time.perf_counter() - start) * 1000)
    return {"p50": float(np.percentile(times, 50)), "p99": float(np.percentile(times, 99)), "n": len(times)}


def quantize_int8(src: Path, dst: Path) -> str | None:
    """Dynamic int8 quantization of the weights; returns why not when it cannot run."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        return f"onnxruntime.quantization unavailable ({exc})"
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
    return None


def _agreement(fp32: OnnxSessionModel, int8: OnnxSessionModel, sessions: Sequence[Steps]) -> dict[str, float]:
    """Mean top-20 overlap and max intent difference of int8 against fp32."""
    a, b = fp32.recommend_batch(sessions, 20), int8.recommend_batch(sessions, 20)
    overlap = float(np.mean([len(set(x) & set(y)) / max(len(x), 1) for x, y in zip(a, b, strict=True)]))
    gap = float(np.max(np.abs(np.array(fp32.intent_batch(sessions)) - np.array(int8.intent_batch(sessions)))))
    return {"top20_overlap": overlap, "intent_max_diff": gap}


def _int8_variant(out: Path, fp32: OnnxSessionModel, sessions: Sequence[Steps], fp32_ms: float,
                  prefer_int8: bool) -> dict[str, Any]:
    reason = quantize_int8(out / "model.onnx", out / "model.int8.onnx")
    if reason is not None:
        return {"used": False, "reason": reason}
    int8 = OnnxSessionModel(LoadedModel("int8", out / "model.int8.onnx", _meta_stub(fp32)))
    report: dict[str, Any] = _agreement(fp32, int8, sessions)
    report["latency_ms"] = latency_ms(int8, sessions[:100])
    faster = report["latency_ms"]["p50"] < 0.9 * fp32_ms
    helps = faster and report["top20_overlap"] >= 0.9 and report["intent_max_diff"] <= 0.05
    report["used"] = prefer_int8 and helps
    report["reason"] = ("faster, agrees with fp32" if helps else "not faster or disagrees with fp32") + (
        "" if prefer_int8 else "; fp32 kept (int8 not requested)")
    return report


def _meta_stub(model: OnnxSessionModel) -> dict[str, Any]:
    return {"feature_spec": model.featurizer.spec.to_dict(), "intent_trained": model.loaded.intent_trained}


def export_checkpoint(checkpoint: str | Path, out: str | Path, real_sessions: Sequence[Steps] = (),
                      tol: float = 1e-4, prefer_int8: bool = False) -> dict[str, Any]:
    """Export, check parity (raises ValueError beyond ``tol``), quantize; returns model.json's content."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model, meta = load_checkpoint(str(checkpoint))
    featurizer = Featurizer(FeatureSpec.from_dict(meta["feature_spec"]))
    export_onnx(model, featurizer, out / "model.onnx")
    info: dict[str, Any] = {"format": "shoppulse-session-model", "format_version": 1, "opset": OPSET,
                            "model_config": model.cfg.to_dict(), "feature_spec": featurizer.spec.to_dict(),
                            "intent_trained": bool(meta.get("intent_trained", True)),
                            "inputs": list(INPUT_NAMES), "outputs": [*OUTPUT_NAMES, *RANKING_NAMES],
                            "ranking_k": ranking_k(featurizer.spec),
                            "variants": {"fp32": "model.onnx"}, "preferred": "fp32",
                            "train": meta.get("train", {}), "exported_at": time.time(),
                            "torch": torch.__version__, "onnxruntime": ort.__version__}
    fp32 = OnnxSessionModel(LoadedModel("fp32", out / "model.onnx", info))
    sessions = [*random_sessions(featurizer.spec, 200, 1), *[s for s in real_sessions if s][:300]]
    info["parity"] = {"tolerance": tol, "sessions": len(sessions), "real_sessions": len(sessions) - 200,
                      **parity(TorchSessionModel(model, featurizer), fp32, sessions)}
    worst = max(v for k, v in info["parity"].items() if k.endswith(("_logits", "_intent")))
    if worst > tol:
        raise ValueError(f"ONNX parity failed: max abs difference {worst:.3g} > {tol:g} ({info['parity']})")
    info["parity"]["ranking_mismatches"] = bad = ranking_mismatches(fp32.loaded, sessions)
    if bad:
        raise ValueError(f"the graph's ranking differs from its logits' ranking on {bad} sessions")
    info["latency_ms"] = {"fp32": latency_ms(fp32, sessions[:100]),
                          "torch_eager": latency_ms(TorchSessionModel(model, featurizer), sessions[:100])}
    info["quantization"] = _int8_variant(out, fp32, sessions, info["latency_ms"]["fp32"]["p50"], prefer_int8)
    if (out / "model.int8.onnx").exists():
        info["variants"]["int8"] = "model.int8.onnx"
        info["preferred"] = "int8" if info["quantization"]["used"] else "fp32"
    (out / "model.json").write_text(json.dumps(info, indent=1, sort_keys=True))
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.export", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True, help="model.pt written by models.train")
    parser.add_argument("--out", help="output directory (default: the checkpoint's)")
    parser.add_argument("--data", help="sessions file for the real-session parity check")
    parser.add_argument("--format", help="format of --data (default: detected)")
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--prefer-int8", action="store_true", help="serve int8 when it is faster and agrees")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # latency is compared with ONNX Runtime on one thread
    real: list[Steps] = []
    if args.data:
        from models.data import read_sessions
        real = [s.steps for s in read_sessions(args.data, args.format)]
    info = export_checkpoint(args.checkpoint, args.out or Path(args.checkpoint).parent, real, args.tol,
                             args.prefer_int8)
    print(json.dumps({k: info[k] for k in ("parity", "latency_ms", "quantization", "preferred")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
