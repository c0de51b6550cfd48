"""The training report: learning curves (``curves.png``) and a Markdown summary (``report.md``).

Built from the ``metrics.json`` content that ``models.train`` writes, so a report can be
re-drawn from a metrics file alone; ``append_export`` adds the export's parity and latency.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from models.plot import line_charts

CURVES = (("TRAIN LOSS", "train_loss"), ("VALID LOSS", "loss"), ("VALID MRR@20", "MRR@20"),
          ("VALID RECALL@20", "Recall@20"), ("VALID INTENT AUC", "AUC"))


Panel = tuple[str, dict[str, tuple[list[float], list[float]]]]


def curve_panels(search: Sequence[Mapping[str, Any]]) -> list[Panel]:
    """One panel per metric present in the histories, one series per configuration."""
    panels = []
    for title, key in CURVES:
        series = {r["name"]: ([h["epoch"] for h in r["history"] if key in h],
                              [h[key] for h in r["history"] if key in h]) for r in search}
        if any(xs for xs, _ in series.values()):
            panels.append((title, series))
    return panels


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    def cell(v: Any) -> str:
        return f"{v:.4f}" if isinstance(v, float) else str(v)
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(cell(v) for v in row) + " |" for row in rows)]


def _search_rows(search: Sequence[Mapping[str, Any]], chosen: str) -> list[list[Any]]:
    rows = []
    for r in search:
        b = r["best"]
        seconds = sum(h["seconds"] for h in r["history"])
        rows.append([r["name"] + (" (chosen)" if r["name"] == chosen else ""), r["n_params"], r["best_epoch"],
                     len(r["history"]), b.get("Recall@20", "-"), b.get("MRR@20", "-"), b.get("AUC", "-"),
                     b["score"], f"{seconds:.0f}"])
    return rows


def _test_rows(test: Mapping[str, Mapping[str, float]]) -> tuple[list[str], list[list[Any]]]:
    keys = list(dict.fromkeys(k for m in test.values() for k in m))
    return ["method", *keys], [[name, *(m.get(k, "-") for k in keys)] for name, m in test.items()]


def write_report(out: Path, metrics: Mapping[str, Any]) -> None:
    """Write ``curves.png`` and ``report.md`` into ``out``."""
    line_charts(out / "curves.png", curve_panels(metrics["search"]))
    sizes = metrics["data"]["sizes"]
    lines = ["# Session model training report", "",
             f"Data: {metrics['data'].get('data') or metrics['data'].get('train')} "
             f"({metrics['data']['split']}), fingerprint `{metrics['data']['fingerprint'][:16]}`.", "",
             *_table(["split", "sessions", "events", "fingerprint"],
                     [[k, v["sessions"], v["events"], v["fingerprint"][:16]] for k, v in sizes.items()]), "",
             f"Item vocabulary: {metrics['n_items']} items. Intent head trained: "
             f"{'yes' if metrics['intent_trained'] else 'no (no purchases in the training data)'}.", "",
             "## Search (validation, early stopping on score = MRR@20 + (AUC - 0.5))", "",
             *_table(["config", "params", "best epoch", "epochs", "Recall@20", "MRR@20", "AUC", "score", "s"],
                     _search_rows(metrics["search"], metrics["chosen"])), "",
             "![learning curves](curves.png)", "", "## Test (models.evaluate protocol)", "",
             *_table(*_test_rows(metrics["test"])), "",
             *(f"- {n}" for n in metrics.get("test_notes", [])), ""]
    (out / "report.md").write_text("\n".join(lines))


def append_export(out: Path, info: Mapping[str, Any]) -> None:
    """Add the ONNX export's parity, latency and quantization outcome to ``report.md``."""
    par, lat, q = info["parity"], info["latency_ms"], info["quantization"]
    worst = max(v for k, v in par.items() if k.endswith(("_logits", "_intent")))
    lines = ["", "## ONNX export", "",
             f"- parity torch vs ONNX Runtime: max abs difference {worst:.2e} (tolerance "
             f"{par['tolerance']:g}) over {par['sessions']} sessions ({par['real_sessions']} real), "
             "at batch 1 and in padded batches",
             "- latency per session at batch 1, one thread (featurize + run): "
             f"p50 {lat['fp32']['p50']:.3f} ms, p99 {lat['fp32']['p99']:.3f} ms (fp32); "
             f"torch eager on the same sessions p50 {lat['torch_eager']['p50']:.3f} ms",
             f"- int8 dynamic quantization: {'used' if q['used'] else 'not used'}: {q['reason']}",
             f"- preferred variant: {info['preferred']}", ""]
    with open(out / "report.md", "a") as f:
        f.write("\n".join(lines))
