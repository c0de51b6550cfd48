"""Training: windows and targets, learning on structured data, and the command end to end."""
from __future__ import annotations

import json
import struct
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from models import train
from models.data import Session, fingerprint, make_step, save_dataset, temporal_split
from models.data.protocol import intent_targets, next_item_targets
from models.fit import TrainConfig, fit, validate
from models.windows import IGNORE, count_targets, make_windows, session_windows
from tests.unit.model_testkit import featurizer_for, synthetic_sessions
from udfs.model_store import current_version

torch.set_num_threads(1)


def test_window_targets_follow_the_evaluation_protocol() -> None:
    sessions = synthetic_sessions(60)
    f = featurizer_for(sessions)
    for s in sessions:
        (w,) = session_windows(s, f, with_intent=True)
        items = [(t + 1, f.spec.items[i - 2]) for t, i in enumerate(w.item_target) if i != IGNORE]
        assert items == list(next_item_targets(s))
        intents = [(t + 1, int(y)) for t, y in enumerate(w.intent_target) if y != IGNORE]
        assert intents == list(intent_targets(s))


def test_no_intent_targets_without_labels_and_no_targets_for_unknown_items() -> None:
    sessions = synthetic_sessions(20)
    f = featurizer_for(sessions[:1])  # a vocabulary of one session's items only
    windows = make_windows(sessions, f, with_intent=False)
    assert all((w.intent_target == IGNORE).all() for w in windows)
    known = {f.item_index[i] for i in f.spec.items}
    assert all(set(w.item_target[w.item_target != IGNORE].tolist()) <= known for w in windows)


def test_long_sessions_give_overlapping_windows_with_each_target_once() -> None:
    steps = [make_step(f"p{i % 7}", "product_view", 1_000 * i) for i in range(47)]
    session = Session("long", steps)
    f = featurizer_for([session], max_len=20)
    windows = session_windows(session, f, with_intent=False)
    assert [w.features.shape[1] for w in windows] == [20, 20, 20, 17]
    assert count_targets(windows)[0] == len(list(next_item_targets(session))) == 46


def test_training_learns_next_items_and_intent() -> None:
    train_s, valid_s, _ = temporal_split(synthetic_sessions(400, n_items=200))
    f = featurizer_for(train_s)
    tw, vw = make_windows(train_s, f, True), make_windows(valid_s, f, True)
    cfg = TrainConfig(d_model=32, n_layers=1, n_heads=1, lr=5e-3, max_epochs=8, warmup_epochs=1)
    untrained = validate(fit(replace(cfg, max_epochs=1, lr=1e-9), f, tw, vw).model, vw, f)
    result = fit(cfg, f, tw, vw)
    best = result.best
    assert untrained["MRR@20"] < 0.1 and best["MRR@20"] > 0.4 and best["Recall@20"] > 0.8
    assert best["AUC"] > 0.9
    assert best == validate(result.model, vw, f) | {k: best[k] for k in ("epoch", "train_loss", "seconds")}


def test_choose_prefers_the_smallest_model_within_tolerance() -> None:
    class R:
        def __init__(self, params: int, score: float) -> None:
            self.best = {"score": score}
            self.model = type("M", (), {"n_params": lambda _self: params})()

    results = [R(100, 0.50), R(50, 0.49), R(10, 0.40)]
    assert train.choose(results, 0.03) is results[1]  # type: ignore[arg-type]
    assert train.choose(results, 0.0) is results[0]  # type: ignore[arg-type]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_command_trains_one_epoch_exports_with_parity_and_registers(tmp_path: Path) -> None:
    data = tmp_path / "shop.sessions.jsonl.gz"
    save_dataset(data, synthetic_sessions(200))
    out, reg = tmp_path / "out", tmp_path / "registry"
    code = train.main(["--data", str(data), "--out", str(out), "--configs", "1", "--max-epochs", "1",
                       "--register", str(reg), "--promote"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["search"]) == 1 and len(metrics["search"][0]["history"]) == 1
    assert metrics["intent_trained"] and {"popularity", "item-kNN", "model"} <= set(metrics["test"])
    assert metrics["data"]["sizes"]["train"]["sessions"] == 140
    model_json = json.loads((out / "model.json").read_text())
    parity = model_json["parity"]
    assert parity["real_sessions"] > 0
    assert max(v for k, v in parity.items() if k.endswith(("_logits", "_intent"))) <= 1e-4
    width, height = png_size(out / "curves.png")
    assert width > 400 and height > 200
    assert "## ONNX export" in (out / "report.md").read_text()
    found = current_version(reg)
    assert found is not None and found.version == "v0001"
    assert found.manifest["data_fingerprint"] == metrics["data"]["fingerprint"]


def test_command_rejects_train_without_test(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        train.main(["--train", str(tmp_path / "x"), "--out", str(tmp_path)])


def test_given_train_and_test_files_hold_out_the_latest_train_sessions(tmp_path: Path) -> None:
    sessions = synthetic_sessions(100)
    save_dataset(tmp_path / "a.gz", sessions[:80])
    save_dataset(tmp_path / "b.gz", sessions[80:])
    argv = ["--train", str(tmp_path / "a.gz"), "--test", str(tmp_path / "b.gz"), "--out", str(tmp_path)]
    args = train.build_parser().parse_args(argv)
    splits = train.load_splits(args)
    assert [len(splits.train), len(splits.valid), len(splits.test)] == [68, 12, 20]
    assert max(s.start_time for s in splits.train) <= min(s.start_time for s in splits.valid)
    assert splits.source["sizes"]["test"]["fingerprint"] == fingerprint(sessions[80:])
