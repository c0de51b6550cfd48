"""Model registry on MLflow: register, promote by alias, verify checksums, concurrency, CLI, read side."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from models import registry as registry_cli
from models.registry import ModelRegistry
from tests.unit.model_testkit import ROOT, export_random_model, new_registry
from udfs.model_store import (
    PROMOTED_ALIAS,
    REGISTRY_DB,
    ModelStoreError,
    RegistryReader,
    current_version,
    open_version,
    resolve_root,
    sha256_file,
    version_label,
    version_number,
)


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = export_random_model(tmp_path_factory.mktemp("export"))
    (out / "metrics.json").write_text(json.dumps({"data": {"fingerprint": "f" * 64},
                                                  "test": {"model": {"MRR@20": 0.25}, "popularity": {"MRR@20": 0.01}}}))
    return out


def test_register_logs_files_checksums_config_and_metrics(tmp_path: Path, export_dir: Path) -> None:
    reg = new_registry(tmp_path / "reg")
    v1, v2 = reg.register(export_dir, note="first"), reg.register(export_dir)
    assert (v1.version, v2.version, v2.number) == ("v0001", "v0002", 2) and reg.versions() == ["v0001", "v0002"]
    assert {"model.onnx", "model.json", "metrics.json"} <= set(v1.files) and "model.pt" not in v1.files
    assert v1.files["model.onnx"] == sha256_file(export_dir / "model.onnx")
    assert v1.manifest["data_fingerprint"] == "f" * 64 and v1.manifest["note"] == "first"
    assert reg.metrics("v0001") == {"test/model/MRR_at_20": 0.25, "test/popularity/MRR_at_20": 0.01}
    run = reg.client().get_run(v1.manifest["run_id"])
    assert run.data.params["model.d_model"] == "16" and run.data.params["preferred"] == "fp32"
    stored = reg.artifact_dir("v0001")
    assert stored.is_relative_to(reg.root / "artifacts")
    assert sorted(p.name for p in stored.iterdir()) == sorted(v1.files)
    assert reg.current() is None and current_version(reg.root) is None


def test_register_rejects_a_directory_without_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelStoreError, match="missing model.onnx"):
        ModelRegistry(tmp_path / "reg").register(tmp_path)


def test_promote_moves_the_alias_and_rolls_back(tmp_path: Path, export_dir: Path) -> None:
    reg = new_registry(tmp_path / "reg")
    for _ in range(2):
        reg.register(export_dir)
    reg.promote("v0001")
    assert reg.client().get_registered_model(reg.model_name).aliases == {PROMOTED_ALIAS: 1}
    reg.promote("2")
    found = current_version(reg.root)
    assert found is not None and found.version == "v0002" and reg.current_or_none() == "v0002"
    assert found.file("model.onnx").read_bytes() == (export_dir / "model.onnx").read_bytes()
    assert found.meta()["preferred"] == "fp32"
    reg.promote("v1")
    assert reg.current_or_none() == "v0001"
    assert "promoted_at" in reg.client().get_model_version(reg.model_name, "2").tags


def test_verify_catches_a_corrupted_or_missing_artifact_and_promote_refuses(tmp_path: Path, export_dir: Path) -> None:
    reg = new_registry(tmp_path / "reg")
    reg.register(export_dir)
    assert reg.verify("v0001") == []
    with open(reg.artifact_dir("v0001") / "model.onnx", "ab") as f:
        f.write(b"x")
    (reg.artifact_dir("v0001") / "metrics.json").unlink()
    problems = reg.verify("v0001")
    assert len(problems) == 2 and any("model.onnx: sha256" in p for p in problems)
    assert any("metrics.json: missing" in p for p in problems)
    with pytest.raises(ModelStoreError, match="refusing to promote"):
        reg.promote("v0001")
    assert reg.current_or_none() is None


def test_the_read_side_verifies_before_use(tmp_path: Path, export_dir: Path) -> None:
    reg = new_registry(tmp_path / "reg")
    reg.promote(reg.register(export_dir).version)
    reader_copy = RegistryReader(reg.root, cache_dir=tmp_path / "cache").get("v0001")
    good = reader_copy.file("model.onnx")  # downloaded once into the cache, verified
    assert good.read_bytes() == (export_dir / "model.onnx").read_bytes()
    good.write_bytes(b"tampered in the cache")
    with pytest.raises(ModelStoreError, match="sha256"):
        reader_copy.file("model.onnx")
    shutil.rmtree(good.parent)
    (reg.artifact_dir("v0001") / "model.json").write_text("{}")  # the store itself is corrupted
    with pytest.raises(ModelStoreError, match="model.json: sha256"):
        reader_copy.file("model.onnx")
    assert not good.parent.exists(), "a copy that fails verification never enters the cache"


def test_concurrent_registrations_get_distinct_versions(tmp_path: Path, export_dir: Path) -> None:
    reg = new_registry(tmp_path / "reg")
    names: list[str] = []

    def register() -> None:
        names.append(reg.register(export_dir).version)

    threads = [threading.Thread(target=register) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(names) == [f"v{i:04d}" for i in range(1, 5)] == reg.versions()
    assert all(not reg.verify(v) for v in names)


def test_cli_register_promote_list_current_verify(tmp_path: Path, export_dir: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    root = str(new_registry(tmp_path / "reg").root)
    assert registry_cli.main(["--root", root, "current"]) == 1
    assert registry_cli.main(["--root", root, "register", str(export_dir), "--promote", "--note", "n1"]) == 0
    assert registry_cli.main(["--root", root, "register", str(export_dir)]) == 0
    capsys.readouterr()
    assert registry_cli.main(["--root", root, "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].startswith("* v0001") and "n1" in listed[0] and "MRR_at_20=0.2500" in listed[0]
    assert listed[1].startswith("  v0002")
    assert registry_cli.main(["--root", root, "promote", "v0002"]) == 0
    assert registry_cli.main(["--root", root, "current"]) == 0 and "* v0002" in capsys.readouterr().out
    assert registry_cli.main(["--root", root, "verify"]) == 0
    (ModelRegistry(root).artifact_dir("v0001") / "model.onnx").write_bytes(b"broken")
    assert registry_cli.main(["--root", root, "verify"]) == 1
    assert "v0001/model.onnx: sha256" in capsys.readouterr().out
    assert registry_cli.main(["--root", root, "promote", "v0009"]) == 2


def test_the_read_side_imports_neither_torch_nor_mlflow_until_it_reads(tmp_path: Path, export_dir: Path) -> None:
    reg = new_registry(tmp_path / "reg")
    reg.promote(reg.register(export_dir).version)
    code = ("import sys; from udfs.model_store import current_version; from udfs.session_scorer import "
            "OnnxSessionScorer; print(sorted(m for m in ('torch', 'onnx', 'mlflow') if m in sys.modules)); "
            f"v = current_version({str(reg.root)!r}); print(v.version, v.meta()['preferred']); "
            "print(sorted(m for m in ('torch', 'onnx', 'mlflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:3] == ["[]", "v0001 fp32", "['mlflow']"]


def test_reading_a_directory_without_a_registry_creates_nothing(tmp_path: Path) -> None:
    assert current_version(tmp_path) is None
    assert not (tmp_path / REGISTRY_DB).exists()
    with pytest.raises(ModelStoreError, match="no model registry"):
        open_version(tmp_path, "v0001")


def test_version_names(tmp_path: Path) -> None:
    assert version_label(3) == "v0003" and [version_number(v) for v in ("v0003", "v3", "3", 3)] == [3] * 4
    with pytest.raises(ModelStoreError):
        version_number("latest")


def test_relative_registry_paths_are_taken_from_the_repository_root(tmp_path: Path) -> None:
    assert resolve_root("artifacts/registry") == ROOT / "artifacts" / "registry"
    assert resolve_root(tmp_path) == tmp_path
