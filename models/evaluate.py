"""Evaluation command: baselines and (optionally) the session model under one protocol.

    python -m models.evaluate --data FILE [--format F] [--model PATH] [--k 20 --k 10]
    python -m models.evaluate --train T --test S [--format F] [--model PATH] [--k 20 --k 10]

``--data`` splits one file temporally (70/15/15 by session start; fit on the first 70%,
evaluate on the last 15%); ``--train/--test`` take a given pair. Both then follow session-rec:
sessions under two items dropped, test events with items unseen in training dropped (counts
printed). For every test session, every next item is predicted from its prefix
(``models.data.protocol``); the table gives Recall@k and MRR@k for popularity, item-kNN and the
model, and AUC/PR-AUC of purchase intent (the ``IntentRate`` baseline and the model) when the
test set has both purchasing and non-purchasing prefixes. Progress goes to stderr, the table to
stdout, and ``--json`` writes every number with the data fingerprints.

The model hook (this module never imports torch): ``--model PATH`` calls a loader
``load_session_model(path: str) -> SessionModel``, by default the first of ``DEFAULT_LOADERS``
that exists, or the one named by ``--model-loader module:function``. A ``SessionModel`` has
``recommend(prefix_steps, k) -> list[str]`` (item ids, best first) and ``intent(prefix_steps)
-> float`` (probability a purchase follows); it may add ``recommend_batch(prefixes, k)`` and
``intent_batch(prefixes)``, used when present. Steps are the dicts of ``models.data.Step``.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from models.baselines import IntentRate, ItemKNN, ItemRecommender, Popularity
from models.data import DataFormatError, Session, Step, filter_sessionrec, fingerprint, read_sessions
from models.data.protocol import count_targets, intent_targets, next_item_targets
from models.data.split import FilterReport, temporal_split
from models.data.textio import Progress
from models.metrics import mrr_at_k, pr_auc, recall_at_k, roc_auc, target_ranks

DEFAULT_LOADERS = ("models.export:load_session_model", "models.model:load_session_model")


class SessionModel(Protocol):
    """What the evaluation asks of a trained model (the torch/ONNX side implements an adapter)."""

    def recommend(self, prefix_steps: Sequence[Step], k: int) -> list[str]: ...

    def intent(self, prefix_steps: Sequence[Step]) -> float: ...


class ItemBaseline:
    """An item-id recommender seen through the step-level ``recommend`` of SessionModel."""

    def __init__(self, recommender: ItemRecommender) -> None:
        self.recommender = recommender

    def recommend(self, prefix_steps: Sequence[Step], k: int) -> list[str]:
        return self.recommender.recommend([s["item_id"] for s in prefix_steps if s["item_id"] is not None], k)


def load_model(path: str, loader: str | None = None) -> SessionModel:
    """The model at ``path``, through ``loader`` ("module:function") or the first default found."""
    tried = []
    for spec in [loader] if loader else list(DEFAULT_LOADERS):
        module_name, _, func_name = spec.partition(":")
        try:
            func = getattr(importlib.import_module(module_name), func_name)
        except (ImportError, AttributeError) as exc:
            tried.append(f"{spec} ({type(exc).__name__}: {exc})")
            continue
        model: SessionModel = func(path)
        return model
    raise SystemExit("error: no model loader found; tried " + "; ".join(tried)
                     + ". Implement load_session_model(path) or pass --model-loader module:function")


@dataclass
class EvalData:
    """The filtered train/test pair and what was done to get it."""

    train: list[Session]
    test: list[Session]
    report: FilterReport
    notes: list[str] = field(default_factory=list)


def prepare(train: list[Session], test: list[Session], notes: list[str]) -> EvalData:
    """Apply the session-rec filters and record sizes and fingerprints in ``notes``."""
    train_f, test_f, report = filter_sessionrec(train, test)
    targets, cases, positives = count_targets(test_f)
    notes = notes + [report.describe(),
                     f"train: {len(train_f)} sessions, fingerprint {fingerprint(train_f)[:16]}",
                     f"test: {len(test_f)} sessions, fingerprint {fingerprint(test_f)[:16]}; "
                     f"{targets} next-item targets, {cases} intent cases ({positives} purchase-bound)"]
    return EvalData(train_f, test_f, report, notes)


def _prefixes(session: Session, targets: Sequence[tuple[int, Any]]) -> list[list[Step]]:
    return [session.steps[:n] for n, _ in targets]


def _recommend(model: Any, prefixes: list[list[Step]], k: int) -> list[list[str]]:
    if hasattr(model, "recommend_batch"):
        return list(model.recommend_batch(prefixes, k))
    return [model.recommend(p, k) for p in prefixes]


def _intents(model: Any, prefixes: list[list[Step]]) -> list[float]:
    if hasattr(model, "intent_batch"):
        return [float(x) for x in model.intent_batch(prefixes)]
    return [float(model.intent(p)) for p in prefixes]


def next_item_ranks(model: Any, sessions: list[Session], k: int, label: str) -> np.ndarray:
    """Rank (1..k, 0 = miss) of every next-item target of ``sessions``; shape (n_targets,)."""
    progress = Progress(f"evaluate {label}", total=len(sessions), unit="sessions")
    ranks = []
    for s in sessions:
        targets = list(next_item_targets(s))
        if targets:
            recs = _recommend(model, _prefixes(s, targets), k)
            ranks.append(target_ranks([r[:k] for r in recs], [t for _, t in targets]))
        progress.update()
    progress.done()
    return np.concatenate(ranks) if ranks else np.zeros(0, np.int64)  # (n_targets,)


def intent_cases(model: Any, sessions: list[Session], label: str) -> tuple[np.ndarray, np.ndarray]:
    """(labels, scores) of every intent case of ``sessions``; both shape (n_cases,)."""
    progress = Progress(f"evaluate {label} intent", total=len(sessions), unit="sessions")
    labels: list[int] = []
    scores: list[float] = []
    for s in sessions:
        cases = list(intent_targets(s))
        labels.extend(y for _, y in cases)
        scores.extend(_intents(model, _prefixes(s, cases)))
        progress.update()
    progress.done()
    return np.array(labels, np.int64), np.array(scores, np.float64)


def ranking_metrics(ranks: np.ndarray, ks: Sequence[int]) -> dict[str, float]:
    """Recall@k and MRR@k for each k, from target ranks."""
    out: dict[str, float] = {}
    for k in ks:
        out[f"Recall@{k}"] = recall_at_k(ranks, k)
        out[f"MRR@{k}"] = mrr_at_k(ranks, k)
    return out


def intent_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """AUC and PR-AUC, or nothing when the cases lack a class (no purchases in the test set)."""
    if labels.size == 0 or labels.min() == labels.max():
        return {}
    return {"AUC": roc_auc(labels, scores), "PR-AUC": pr_auc(labels, scores)}


def evaluate(data: EvalData, ks: Sequence[int], model: Any = None) -> dict[str, dict[str, float]]:
    """Metrics per method: popularity, item-kNN, intent-rate and, when given, the model."""
    kmax = max(ks)
    results: dict[str, dict[str, float]] = {}
    recommenders: list[tuple[str, Any]] = [("popularity", ItemBaseline(Popularity().fit(data.train))),
                                           ("item-kNN", ItemBaseline(ItemKNN().fit(data.train)))]
    if model is not None:
        recommenders.append(("model", model))
    for name, rec in recommenders:
        results[name] = ranking_metrics(next_item_ranks(rec, data.test, kmax, name), ks)
    intent_models: list[tuple[str, Any]] = [("intent-rate", IntentRate().fit(data.train))]
    if model is not None and hasattr(model, "intent"):
        intent_models.append(("model", model))
    for name, scorer in intent_models:
        found = intent_metrics(*intent_cases(scorer, data.test, name))
        if found:
            results.setdefault(name, {}).update(found)
    return results


def format_table(results: dict[str, dict[str, float]], ks: Sequence[int]) -> str:
    """A Markdown table, one row per method; '-' where a method has no such number."""
    columns = [f"{m}@{k}" for k in ks for m in ("Recall", "MRR")] + ["AUC", "PR-AUC"]
    lines = ["| method | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, row in results.items():
        cells = [f"{row[c]:.4f}" if c in row else "-" for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def load_data(args: argparse.Namespace) -> EvalData:
    """Read ``--data`` (split temporally) or the ``--train``/``--test`` pair."""
    if args.data:
        train, valid, test = temporal_split(read_sessions(args.data, args.format))
        notes = [f"{args.data}: temporal split 70/15/15, {len(train)}/{len(valid)}/{len(test)} sessions; "
                 "fit on train, evaluate on test"]
    else:
        train, test = read_sessions(args.train, args.format), read_sessions(args.test, args.format)
        notes = [f"train {args.train}: {len(train)} sessions; test {args.test}: {len(test)} sessions"]
    data = prepare(train, test, notes)
    if args.limit:
        data.test = data.test[: args.limit]
        data.notes.append(f"evaluating the first {len(data.test)} test sessions only (--limit)")
    return data


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m models.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="one file, split temporally 70/15/15")
    source.add_argument("--train", help="training file (with --test)")
    parser.add_argument("--test", help="test file (with --train)")
    parser.add_argument("--format", help="input format (default: detected); see models.data.formats")
    parser.add_argument("--model", help="trained model (ONNX file or checkpoint) to evaluate")
    parser.add_argument("--model-loader", help="module:function returning a SessionModel for --model")
    parser.add_argument("--k", type=int, action="append", help="cut-off (repeatable; default 20 and 10)")
    parser.add_argument("--limit", type=int, default=0, help="evaluate only the first N test sessions")
    parser.add_argument("--json", help="also write the results as JSON to this path")
    return parser


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[int]:
    if args.train and not args.test:
        parser.error("--train needs --test (or give one file with --data)")
    if args.test and not args.train:
        parser.error("--test needs --train")
    ks = args.k or [20, 10]
    if min(ks) < 1:
        parser.error("--k must be at least 1")
    return ks


def _write_json(path: str, data: EvalData, ks: list[int], results: dict[str, dict[str, float]]) -> None:
    payload = {"ks": ks, "results": results, "notes": data.notes,
               "train_fingerprint": fingerprint(data.train), "test_fingerprint": fingerprint(data.test)}
    with open(path, "w", encoding="utf-8") as out:
        json.dump(payload, out, indent=2, sort_keys=True)


def _report(data: EvalData, results: dict[str, dict[str, float]], ks: list[int], seconds: float) -> None:
    print("\n".join(data.notes))
    if not any("AUC" in row for row in results.values()):
        print("intent: the test set lacks purchasing or non-purchasing prefixes; no AUC/PR-AUC")
    print(format_table(results, ks))
    print(f"({seconds:.1f} s)")


def main(argv: list[str] | None = None, load: Callable[[str, str | None], Any] = load_model) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    ks = _check_args(parser, args)
    started = time.monotonic()
    try:
        data = load_data(args)
    except DataFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not data.test:
        print("error: no test session is left after filtering", file=sys.stderr)
        return 2
    model = load(args.model, args.model_loader) if args.model else None
    results = evaluate(data, ks, model)
    _report(data, results, ks, time.monotonic() - started)
    if args.json:
        _write_json(args.json, data, ks, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
