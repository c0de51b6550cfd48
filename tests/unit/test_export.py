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
from models.export import export_checkpoint, parity, random_sessions
from models.model import load_checkpoint
from tests.unit.model_testkit import DIGINETICA, random_checkpoint, synthetic_sessions
from udfs.session_features import INPUT_NAMES, OUTPUT_NAMES, FeatureSpec, Featurizer
from udfs.session_scorer import LoadedModel

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
    assert [o.name for o in graph.graph.output] == list(OUTPUT_NAMES)
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


def test_quantization_outcome_is_recorded_either_way(exported: Path) -> None:
    q = json.loads((exported / "model.json").read_text())["quantization"]
    assert isinstance(q["used"], bool) and q["reason"]
    if importlib.util.find_spec("ml_dtypes") is None:
        assert not q["used"] and "ml_dtypes" in q["reason"]
