"""The evaluation protocol and command on a hand-made pair, with a model plugged in by the hook."""
from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from models.data import Step, read_sessions
from models.evaluate import evaluate, load_model, main, prepare

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "data"
# Train (views): ABC, AB, BD, CD -> popularity B, A, C, D. Test: 10 = A view, B cart, B purchase;
# 11 = C, X (unseen: dropped), D; 12 = Q alone (dropped).
TRAIN = [("1", "ABC"), ("2", "AB"), ("3", "BD"), ("4", "CD")]
TEST_ROWS = [("10", "A", "product_view"), ("10", "B", "add_to_cart"), ("10", "B", "purchase"),
             ("11", "C", "product_view"), ("11", "X", "product_view"), ("11", "D", "product_view"),
             ("12", "Q", "product_view")]


class RepeatLast:
    """Recommends the last item; intent 1 once the prefix has a cart add."""

    def recommend(self, prefix_steps: Sequence[Step], k: int) -> list[str]:
        return [prefix_steps[-1]["item_id"] or ""][:k]

    def intent(self, prefix_steps: Sequence[Step]) -> float:
        return float(any(s["event_type"] == "add_to_cart" for s in prefix_steps))


def write_pair(tmp_path: Path) -> tuple[Path, Path]:
    head = "SessionId\tItemId\tTime\tEventType\n"
    train = tmp_path / "shop_train_full.txt"
    train.write_text(head + "".join(f"{sid}\t{item}\t{n}\tproduct_view\n"
                                    for sid, items in TRAIN for n, item in enumerate(items)))
    test = tmp_path / "shop_test.txt"
    test.write_text(head + "".join(f"{sid}\t{item}\t{100 + n}\t{kind}\n"
                                   for n, (sid, item, kind) in enumerate(TEST_ROWS)))
    return train, test


def test_hand_values_for_baselines_and_model(tmp_path: Path) -> None:
    train, test = write_pair(tmp_path)
    data = prepare(read_sessions(train), read_sessions(test), [])
    assert (data.report.test_steps_unseen, data.report.test_sessions_short) == (1, 1)
    res = evaluate(data, [3, 1], RepeatLast())
    # Popularity ranks of the targets B, B, D: 1, 1, 4.
    assert res["popularity"] == pytest.approx({"Recall@3": 2 / 3, "MRR@3": 2 / 3,
                                               "Recall@1": 2 / 3, "MRR@1": 2 / 3})
    # kNN: [A] -> B, C (B rank 1); [A, B] -> A, C, B, D (rank 3); [C] -> A, D, B (D rank 2).
    assert res["item-kNN"] == pytest.approx({"Recall@3": 1.0, "MRR@3": (1 + 1 / 3 + 1 / 2) / 3,
                                             "Recall@1": 1 / 3, "MRR@1": 1 / 3})
    # Model: only the second B (after B) is the last item. Intent cases: session 10 prefixes
    # (no cart 0.0, cart 1.0) label 1; session 11 prefixes 0.0, 0.0 label 0 -> AUC 3/4, AP 3/4.
    assert res["model"] == pytest.approx({"Recall@3": 1 / 3, "MRR@3": 1 / 3, "Recall@1": 1 / 3,
                                          "MRR@1": 1 / 3, "AUC": 0.75, "PR-AUC": 0.75})
    # The intent-rate baseline saw no purchase in training: one constant score, AUC 1/2.
    assert res["intent-rate"] == pytest.approx({"AUC": 0.5, "PR-AUC": 0.5})


class Batched(RepeatLast):
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def recommend_batch(self, prefixes: Sequence[Sequence[Step]], k: int) -> list[list[str]]:
        self.calls.append(("recommend", len(prefixes)))
        return [self.recommend(p, k) for p in prefixes]

    def intent_batch(self, prefixes: Sequence[Sequence[Step]]) -> list[float]:
        self.calls.append(("intent", len(prefixes)))
        return [self.intent(p) for p in prefixes]


def test_batched_methods_get_one_call_per_session(tmp_path: Path) -> None:
    train, test = write_pair(tmp_path)
    model = Batched()
    res = evaluate(prepare(read_sessions(train), read_sessions(test), []), [3], model)
    assert model.calls == [("recommend", 2), ("recommend", 1), ("intent", 2), ("intent", 2)]
    assert res["model"]["Recall@3"] == pytest.approx(1 / 3)


def test_command_with_model_loader_prints_table_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    train, test = write_pair(tmp_path)
    (tmp_path / "fake_loader.py").write_text(
        "from tests.unit.test_evaluate import RepeatLast\n"
        "def load(path):\n    assert path == 'm.onnx'\n    return RepeatLast()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(ROOT))
    out = tmp_path / "r.json"
    code = main(["--train", str(train), "--test", str(test), "--model", "m.onnx", "--model-loader",
                 "fake_loader:load", "--k", "3", "--k", "1", "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "| method | Recall@3 | MRR@3 | Recall@1 | MRR@1 | AUC | PR-AUC |" in printed
    assert "| model | 0.3333 | 0.3333 | 0.3333 | 0.3333 | 0.7500 | 0.7500 |" in printed
    assert "| popularity | 0.6667 | 0.6667 | 0.6667 | 0.6667 | - | - |" in printed
    assert "1 test events whose item is not in training" in printed
    assert "3 next-item targets, 4 intent cases (2 purchase-bound)" in printed
    saved = json.loads(out.read_text())
    assert saved["ks"] == [3, 1] and len(saved["test_fingerprint"]) == 64
    assert saved["results"]["item-kNN"]["Recall@3"] == 1.0


def test_missing_loader_says_what_to_implement() -> None:
    with pytest.raises(SystemExit, match="no model loader found; tried no_such_module:load"):
        load_model("m.onnx", "no_such_module:load")


def test_command_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train, _ = write_pair(tmp_path)
    with pytest.raises(SystemExit):
        main(["--train", str(train)])
    assert "--train needs --test" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_text("SessionId\tItemId\tTime\n1\t2\tsoon\n")
    assert main(["--data", str(bad)]) == 2
    assert f"{bad}:2: bad Time 'soon'" in capsys.readouterr().err


def test_evaluate_imports_without_torch() -> None:
    code = "import sys, models.evaluate; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.skipif(not (SAMPLES / "diginetica-sample-item-views.csv").exists(), reason="no shared samples")
def test_diginetica_sample_knn_beats_popularity(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert main(["--data", str(SAMPLES / "diginetica-sample-item-views.csv"), "--json", str(out)]) == 0
    results = json.loads(out.read_text())["results"]
    assert results["item-kNN"]["Recall@20"] > results["popularity"]["Recall@20"] > 0
    assert "temporal split 70/15/15" in capsys.readouterr().out
