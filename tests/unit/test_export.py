"""ONNX export: parity with torch, dynamic shapes, the metadata serving needs, int8 when available."""
from __future__ import annotations

import importlib.util
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch

from models.adapters import OnnxSessionModel, TorchSessionModel, load_session_model
from models.data import read_sessions
from models.export import RANKING_K, export_checkpoint, parity, random_sessions, ranking_mismatches
from models.model import load_checkpoint
from tests.unit.model_testkit import DIGINETICA, random_checkpoint, synthetic_sessions
from udfs.session_features import INPUT_NAMES, OUTPUT_NAMES, RANKING_NAMES, FeatureSpec, Featurizer
from udfs.session_scorer import LoadedModel, top_items

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export")
    sessions = synthetic_sessions(50)
    export_checkpoint(random_checkpoint(out / "model.pt", sessions, seed=3), out, [s.steps for s in sessions])
    return out


def test_export_writes_a_valid_graph_with_named_dynamic_inputs(exported: Path) -> None:
    graph = onnx.load(str(exported / "model.onnx"))
    onnx.checker.check_model(graph)
    assert [i.name for i in graph.graph.input] == list(INPUT_NAMES)
    assert [o.name for o in graph.graph.output] == [*OUTPUT_NAMES, *RANKING_NAMES]
    dims = graph.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ["batch", "steps"]
    assert graph.opset_import[0].version == 17


def test_model_json_has_what_serving_needs(exported: Path) -> None:
    meta = json.loads((exported / "model.json").read_text())
    model, ckpt = load_checkpoint(str(exported / "model.pt"))
    assert meta["model_config"] == model.cfg.to_dict()
    assert FeatureSpec.from_dict(meta["feature_spec"]) == FeatureSpec.from_dict(ckpt["feature_spec"])
    assert meta["variants"]["fp32"] == "model.onnx" and meta["preferred"] in meta["variants"]
    assert meta["parity"]["real_sessions"] == 50 and meta["latency_ms"]["fp32"]["p50"] > 0


def test_onnx_matches_torch_on_random_and_real_sessions(exported: Path) -> None:
    model, meta = load_checkpoint(str(exported / "model.pt"))
    f = Featurizer(FeatureSpec.from_dict(meta["feature_spec"]))
    sessions: list[Sequence[Mapping[str, Any]]] = [*random_sessions(f.spec, 100, seed=7)]
    if DIGINETICA.exists():
        sessions += [s.steps for s in read_sessions(DIGINETICA)[:200]]
    onnx_model = OnnxSessionModel(LoadedModel.from_dir(exported))
    diffs = parity(TorchSessionModel(model, f), onnx_model, sessions)
    assert max(diffs.values()) <= 1e-4
    lengths = {len(s) for s in sessions}
    assert 1 in lengths and max(lengths) > f.spec.max_len  # one-step and truncated sessions both covered


def test_graph_ranks_the_items_as_numpy_ranks_its_logits(exported: Path) -> None:
    loaded = LoadedModel.from_dir(exported)
    assert loaded.ranking_k == RANKING_K
    sessions = random_sessions(loaded.featurizer.spec, 40, seed=11)
    logits, intent = loaded.run(sessions)  # (B, V), (B,)
    ranked, ranked_intent = loaded.recommend(sessions, 7)
    assert ranked == top_items(logits, loaded.featurizer, 7)
    assert np.allclose(intent, ranked_intent)
    assert ranking_mismatches(loaded, sessions) == 0
    assert json.loads((exported / "model.json").read_text())["parity"]["ranking_mismatches"] == 0


def test_a_scorer_asking_for_more_than_the_graph_ranks_ranks_the_logits(exported: Path) -> None:
    loaded = LoadedModel.from_dir(exported)
    steps = random_sessions(loaded.featurizer.spec, 1, seed=5)
    logits, _ = loaded.run(steps)
    more, _ = loaded.recommend(steps, RANKING_K + 5)
    assert more == top_items(logits, loaded.featurizer, RANKING_K + 5) and len(more[0]) == RANKING_K + 5
    assert more[0][:RANKING_K] == loaded.recommend(steps, RANKING_K)[0][0]


def test_an_export_without_ranking_outputs_still_scores(exported: Path, tmp_path: Path) -> None:
    """Versions exported before the graph ranked stay servable: the scorer ranks their logits."""
    graph = onnx.load(str(exported / "model.onnx"))
    del graph.graph.output[len(OUTPUT_NAMES):]
    onnx.save(graph, str(tmp_path / "old.onnx"))
    meta = json.loads((exported / "model.json").read_text())
    old, new = LoadedModel("old", tmp_path / "old.onnx", meta), LoadedModel.from_dir(exported)
    assert old.ranking_k == 0
    steps = random_sessions(new.featurizer.spec, 3, seed=2)
    assert old.recommend(steps, 10)[0] == new.recommend(steps, 10)[0]


def test_export_refuses_a_model_that_breaks_parity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ckpt = random_checkpoint(tmp_path / "model.pt", synthetic_sessions(20))
    real_run = TorchSessionModel.run

    def skewed(self: TorchSessionModel, prefixes: list) -> tuple[np.ndarray, np.ndarray]:
        logits, intent = real_run(self, prefixes)
        return logits + 1e-3, intent

    monkeypatch.setattr(TorchSessionModel, "run", skewed)
    with pytest.raises(ValueError, match="parity"):
        export_checkpoint(ckpt, tmp_path)


def test_evaluation_hook_loads_checkpoints_and_exports_alike(exported: Path) -> None:
    prefix = synthetic_sessions(3)[2].steps[:3]
    from_pt, from_onnx = load_session_model(str(exported / "model.pt")), load_session_model(str(exported))
    assert from_pt.recommend(prefix, 5) == from_onnx.recommend(prefix, 5)
    assert len(from_onnx.recommend(prefix, 5)) == 5
    assert abs(from_pt.intent(prefix) - from_onnx.intent(prefix)) < 1e-5
    with pytest.raises(FileNotFoundError):
        load_session_model(str(exported / "nothing-here"))


@pytest.mark.skipif(importlib.util.find_spec("ml_dtypes") is None,
                    reason="onnxruntime.quantization needs ml_dtypes")
def test_int8_variant_is_written_and_judged(exported: Path) -> None:
    meta = json.loads((exported / "model.json").read_text())
    q = meta["quantization"]
    assert (exported / "model.int8.onnx").exists() and meta["variants"]["int8"] == "model.int8.onnx"
    assert 0.0 <= q["top20_overlap"] <= 1.0 and q["used"] == (meta["preferred"] == "int8")
    assert LoadedModel.from_dir(exported, "int8").ranking_k == RANKING_K  # quantization keeps the ranking


def test_quantization_outcome_is_recorded_either_way(exported: Path) -> None:
    q = json.loads((exported / "model.json").read_text())["quantization"]
    assert isinstance(q["used"], bool) and q["reason"]
    if importlib.util.find_spec("ml_dtypes") is None:
        assert not q["used"] and "ml_dtypes" in q["reason"]
