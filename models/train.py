"""Train the session transformer: split, small seeded search, early stopping, report, export.

    python -m models.train --data FILE [--format F] --out DIR [--register REGISTRY [--promote]]
    python -m models.train --train FILE --test FILE [--format F] --out DIR

``--data`` is split by session start time 70/15/15 (``models.data.temporal_split``); with
``--train/--test`` the latest 15% of the training sessions become the validation set. The
vocabularies come from the training sessions only. Each configuration of the search space is
trained from the same seed with early stopping on the validation score (``models.fit``); the
smallest one within ``--size-tolerance`` (relative) of the best validation score wins, because
the model runs per decision inside the stream. The winner is evaluated on the test split with
``models.evaluate`` next to the popularity, item-kNN and intent-rate baselines.

Writes to ``--out``: ``model.pt`` (weights + config + feature spec), ``metrics.json`` (data
fingerprints and sizes, every configuration's learning curve, the test table),
``curves.png``, ``report.md``; then, unless ``--no-export``, the ONNX files and ``model.json``
(``models.export``); with ``--register`` it adds the export to the registry as a new version.
Uses one torch thread by default: on a busy two-core machine more threads ran up to 8x slower.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from models import evaluate as ev
from models.adapters import TorchSessionModel
from models.data import Session, filter_sessionrec, fingerprint, read_sessions, temporal_split
from models.export import export_checkpoint
from models.fit import FitResult, TrainConfig, fit
from models.model import save_checkpoint
from models.registry import ModelRegistry
from models.report import append_export, write_report
from models.windows import count_targets, make_windows
from udfs.session_features import Featurizer, build_spec

SEARCH_SPACE = (
    TrainConfig(d_model=32, n_layers=1, n_heads=1, dropout=0.2, lr=5e-3),
    TrainConfig(d_model=64, n_layers=1, n_heads=2, dropout=0.3, lr=3e-3),
    TrainConfig(d_model=64, n_layers=2, n_heads=2, dropout=0.3, lr=3e-3),
    TrainConfig(d_model=128, n_layers=2, n_heads=2, dropout=0.3, lr=2e-3),
)


@dataclass
class Splits:
    """Train/valid/test sessions and where they came from."""

    train: list[Session]
    valid: list[Session]
    test: list[Session]
    source: dict[str, Any]


def load_splits(args: argparse.Namespace) -> Splits:
    """Read and split the input named on the command line."""
    if args.data:
        sessions = read_sessions(args.data, args.format)
        train, valid, test = temporal_split(sessions)
        source = {"data": args.data, "fingerprint": fingerprint(sessions), "split": "temporal 70/15/15"}
    else:
        train_all, test = read_sessions(args.train, args.format), read_sessions(args.test, args.format)
        train, valid, _ = temporal_split(train_all, (0.85, 0.15, 0.0))
        source = {"train": args.train, "test": args.test, "fingerprint": fingerprint(train_all + test),
                  "split": "given train/test; valid = last 15% of train"}
    source["sizes"] = {name: {"sessions": len(part), "events": sum(len(s) for s in part),
                              "fingerprint": fingerprint(part)}
                       for name, part in (("train", train), ("valid", valid), ("test", test))}
    return Splits(train, valid, test, source)


def search(configs: list[TrainConfig], featurizer: Featurizer, splits: Splits, with_intent: bool,
           ) -> list[FitResult]:
    """Fit every configuration; valid metrics follow the evaluation's session-rec filtering."""
    train_w = make_windows(splits.train, featurizer, with_intent)
    valid_w = make_windows(filter_sessionrec(splits.train, splits.valid)[1], featurizer, with_intent)
    if not train_w or not valid_w:
        raise SystemExit(f"error: too little data: {len(train_w)} training and {len(valid_w)} "
                         "validation windows")
    print(f"targets (next item, intent cases, positives): train {count_targets(train_w)}, "
          f"valid {count_targets(valid_w)}", file=sys.stderr)
    results = []
    for i, cfg in enumerate(configs, start=1):
        started = time.monotonic()
        result = fit(cfg, featurizer, train_w, valid_w, label=f"search {i}/{len(configs)}")
        print(f"search {i}/{len(configs)} {cfg.name}: {result.model.n_params()} parameters, best epoch "
              f"{result.best_epoch}, valid score {result.best['score']:.4f} "
              f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
        results.append(result)
    return results


def choose(results: list[FitResult], tolerance: float) -> FitResult:
    """The smallest model whose validation score is within ``tolerance`` (relative) of the best."""
    best = max(r.best["score"] for r in results)
    fits = [r for r in results if r.best["score"] >= best * (1.0 - tolerance)]
    return min(fits, key=lambda r: (r.model.n_params(), -r.best["score"]))


def test_table(chosen: FitResult, featurizer: Featurizer, splits: Splits, ks: list[int]) -> dict[str, Any]:
    """Test metrics of the model and the baselines under ``models.evaluate``'s protocol."""
    data = ev.prepare(splits.train, splits.test, [])
    results = ev.evaluate(data, ks, TorchSessionModel(chosen.model, featurizer))
    return {"results": results, "notes": data.notes}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m models.train", description=__doc__.split("\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="one sessions file, split 70/15/15 by time")
    src.add_argument("--train", help="training sessions (with --test)")
    p.add_argument("--test", help="test sessions (with --train)")
    p.add_argument("--format", help="input format (default: detected); see models.data")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--max-len", type=int, default=50, help="steps the model reads (the newest)")
    p.add_argument("--min-count", type=int, default=1, help="training occurrences an item needs to be in the "
                   "vocabulary")
    p.add_argument("--max-items", type=int, default=200_000, help="vocabulary cap (most frequent items); "
                   "serving cost grows with it: the next-item head scores every item")
    p.add_argument("--configs", type=int, default=len(SEARCH_SPACE), help="use the first N configurations")
    p.add_argument("--max-epochs", type=int, help="override every configuration's epoch limit")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size-tolerance", type=float, default=0.03)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--k", type=int, action="append", help="cut-offs for the test table (default 20 and 10)")
    p.add_argument("--no-export", action="store_true", help="skip the ONNX export")
    p.add_argument("--register", metavar="REGISTRY", help="register the export as a new version")
    p.add_argument("--promote", action="store_true", help="with --register: make it the current version")
    return p


def configs_from(args: argparse.Namespace) -> list[TrainConfig]:
    chosen = list(SEARCH_SPACE[:max(1, args.configs)])
    if args.max_epochs:
        chosen = [replace(c, max_epochs=args.max_epochs) for c in chosen]
    return [replace(c, seed=args.seed) for c in chosen]


def run(args: argparse.Namespace, splits: Splits) -> dict[str, Any]:
    """Train, evaluate, write every output; returns the metrics written to metrics.json."""
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    featurizer = Featurizer(build_spec([s.steps for s in splits.train], args.max_len, args.min_count,
                                       args.max_items))
    with_intent = any(s.has_purchase for s in splits.train)
    results = search(configs_from(args), featurizer, splits, with_intent)
    chosen = choose(results, args.size_tolerance)
    test = test_table(chosen, featurizer, splits, args.k or [20, 10])
    metrics = {"data": splits.source, "intent_trained": with_intent, "n_items": len(featurizer.spec.items),
               "chosen": chosen.config.name, "search": [r.summary() for r in results],
               "test": test["results"], "test_notes": test["notes"]}
    save_checkpoint(str(out / "model.pt"), chosen.model, {
        "feature_spec": featurizer.spec.to_dict(), "intent_trained": with_intent,
        "train": {"config": asdict(chosen.config), "name": chosen.config.name, "valid": chosen.best,
                  "data_fingerprint": splits.source["fingerprint"]}})
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1, sort_keys=True))
    write_report(out, metrics)
    return metrics


def export_and_register(args: argparse.Namespace, valid: list[Session]) -> None:
    """ONNX export (with parity on validation sessions) and, when asked, registration."""
    info = export_checkpoint(Path(args.out) / "model.pt", args.out, [s.steps for s in valid])
    append_export(Path(args.out), info)
    print(f"exported: parity {info['parity']}, preferred variant {info['preferred']}", file=sys.stderr)
    if args.register:
        reg = ModelRegistry(args.register)
        found = reg.register(args.out)
        print(f"registered {found.version} in {args.register}", file=sys.stderr)
        if args.promote:
            reg.promote(found.version)
            print(f"promoted {found.version}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.train and not args.test:
        raise SystemExit("error: --train needs --test")
    splits = load_splits(args)
    run(args, splits)
    if not args.no_export:
        export_and_register(args, splits.valid)
    print(Path(args.out, "report.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
