"""Model registry: register, promote, resolve without torch, checksums, concurrency, CLI."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from models import registry as registry_cli
from models.registry import ModelRegistry
from tests.unit.model_testkit import ROOT, export_random_model
from udfs.model_store import (
    POINTER,
    ModelStoreError,
    current_version,
    pointer_stamp,
    resolve_root,
    sha256_file,
)


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = export_random_model(tmp_path_factory.mktemp("export"))
    (out / "metrics.json").write_text(json.dumps({"data": {"fingerprint": "f" * 64},
                                                  "test": {"model": {"MRR@20": 0.25}}}))
    return out


def test_register_copies_files_with_checksums_and_numbers_versions(tmp_path: Path, export_dir: Path) -> None:
    reg = ModelRegistry(tmp_path / "reg")
    v1, v2 = reg.register(export_dir, note="first"), reg.register(export_dir)
    assert (v1.version, v2.version) == ("v0001", "v0002") and reg.versions() == ["v0001", "v0002"]
    files = v1.manifest["files"]
    assert {"model.onnx", "model.json", "metrics.json"} <= set(files) and "model.pt" not in files
    assert files["model.onnx"] == sha256_file(export_dir / "model.onnx")
    assert v1.manifest["data_fingerprint"] == "f" * 64 and v1.manifest["metrics"] == {"MRR@20": 0.25}
    assert reg.current() is None and pointer_stamp(reg.root) is None
    assert not list((reg.root / "versions").glob(".tmp-*"))


def test_register_rejects_a_directory_without_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelStoreError, match="missing model.onnx"):
        ModelRegistry(tmp_path / "reg").register(tmp_path)


def test_promote_moves_the_pointer_and_remembers_the_previous(tmp_path: Path, export_dir: Path) -> None:
    reg = ModelRegistry(tmp_path / "reg")
    for _ in range(2):
        reg.register(export_dir)
    reg.promote("v0001")
    stamp = pointer_stamp(reg.root)
    reg.promote("v0002")
    found = current_version(reg.root)
    assert found is not None and found.version == "v0002" and pointer_stamp(reg.root) != stamp
    assert json.loads((reg.root / POINTER).read_text())["previous"] == "v0001"
    assert found.file("model.onnx").read_bytes() == (export_dir / "model.onnx").read_bytes()
    log = [json.loads(line)["version"] for line in (reg.root / "promotions.jsonl").read_text().splitlines()]
    assert log == ["v0001", "v0002"]


def test_tampered_files_are_caught_on_promote_and_on_load(tmp_path: Path, export_dir: Path) -> None:
    reg = ModelRegistry(tmp_path / "reg")
    version = reg.register(export_dir)
    with open(version.path / "model.onnx", "ab") as f:
        f.write(b"x")
    assert any("model.onnx" in p for p in reg.verify("v0001"))
    with pytest.raises(ModelStoreError, match="refusing to promote"):
        reg.promote("v0001")
    with pytest.raises(ModelStoreError, match="sha256"):
        version.file("model.onnx")


def test_a_rewritten_manifest_no_longer_matches_the_pointer(tmp_path: Path, export_dir: Path) -> None:
    reg = ModelRegistry(tmp_path / "reg")
    found = reg.promote(reg.register(export_dir).version)
    manifest = json.loads((found.path / "manifest.json").read_text())
    manifest["files"]["model.onnx"] = "0" * 64
    (found.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelStoreError, match="does not match"):
        current_version(reg.root)
    assert reg.current_or_none() is None


def test_concurrent_registrations_get_distinct_versions(tmp_path: Path, export_dir: Path) -> None:
    reg = ModelRegistry(tmp_path / "reg")
    names: list[str] = []
    def register() -> None:
        names.append(reg.register(export_dir).version)

    threads = [threading.Thread(target=register) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(names) == [f"v{i:04d}" for i in range(1, 7)] == reg.versions()
    assert all(not reg.verify(v) for v in names)


def test_cli_register_promote_list_current_verify(tmp_path: Path, export_dir: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    root = str(tmp_path / "reg")
    assert registry_cli.main(["--root", root, "current"]) == 1
    assert registry_cli.main(["--root", root, "register", str(export_dir), "--promote", "--note", "n1"]) == 0
    assert registry_cli.main(["--root", root, "register", str(export_dir)]) == 0
    capsys.readouterr()
    assert registry_cli.main(["--root", root, "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].startswith("* v0001") and "n1" in listed[0] and listed[1].startswith("  v0002")
    assert registry_cli.main(["--root", root, "verify"]) == 0
    assert registry_cli.main(["--root", root, "promote", "v0009"]) == 2


def test_the_read_side_imports_neither_torch_nor_onnx_tooling(tmp_path: Path, export_dir: Path) -> None:
    reg = ModelRegistry(tmp_path / "reg")
    reg.promote(reg.register(export_dir).version)
    code = ("import sys; from udfs.model_store import current_version; from udfs.session_scorer import "
            f"OnnxSessionScorer; v = current_version({str(reg.root)!r}); "
            "print(v.version, v.meta()['preferred']); "
            "print(sorted(m for m in ('torch', 'onnx', 'mlflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["v0001 fp32", "[]"]


def test_relative_registry_paths_are_taken_from_the_repository_root(tmp_path: Path) -> None:
    assert resolve_root("artifacts/registry") == ROOT / "artifacts" / "registry"
    assert resolve_root(tmp_path) == tmp_path
