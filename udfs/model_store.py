"""Read side of the model registry: find the current model version without torch or a database.

The registry (``models/registry.py`` writes it) is a directory::

    <root>/versions/v0001/   one directory per version, immutable once created:
        model.onnx, model.int8.onnx (optional), model.json (model and feature config),
        metrics.json, manifest.json (version, sha256 of every file, data fingerprint, metrics)
    <root>/CURRENT.json      the pointer: {"version": "v0003", "manifest_sha256": ..., ...}

A version directory appears in one ``rename`` of a fully written temporary directory, and the
pointer is replaced with one ``os.replace``; both are atomic on POSIX file systems, so a reader
sees the old version or the new one, never half of either. Readers use only this module: the
stream polls ``pointer_stamp`` (one ``stat``), and on a change reads the pointer and manifest and
verifies the checksums of the files it loads.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
POINTER = "CURRENT.json"
VERSIONS = "versions"
MANIFEST = "manifest.json"
MODEL_META = "model.json"


class ModelStoreError(RuntimeError):
    """The registry is present but inconsistent: missing file, bad JSON or checksum mismatch."""


def resolve_root(path: str | Path) -> Path:
    """A registry path from configuration: relative paths are taken from the repository root, so
    the stream's Python workers find the same registry whatever their working directory."""
    p = Path(path)
    return p if p.is_absolute() else REPO_ROOT / p


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_json(path: str | Path) -> Any:
    """Parsed JSON; ``ModelStoreError`` naming the file when it is missing or malformed."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ModelStoreError(f"{path}: {exc}") from None


def pointer_stamp(root: str | Path) -> tuple[int, int, int] | None:
    """(inode, size, mtime ns) of the pointer file, None when nothing is promoted: a cheap change check."""
    try:
        st = os.stat(Path(root) / POINTER)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


@dataclass(frozen=True)
class ModelVersion:
    """One registered version: its directory and parsed manifest."""

    version: str
    path: Path
    manifest: dict[str, Any]

    def file(self, name: str) -> Path:
        """Path of one of the version's files, after checking its sha256 against the manifest."""
        expected = self.manifest.get("files", {}).get(name)
        if expected is None:
            raise ModelStoreError(f"{self.version}: no file {name!r} in the manifest")
        actual = sha256_file(self.path / name)
        if actual != expected:
            raise ModelStoreError(f"{self.version}/{name}: sha256 {actual[:12]} != manifest {expected[:12]}")
        return self.path / name

    def has(self, name: str) -> bool:
        return name in self.manifest.get("files", {})

    def meta(self) -> dict[str, Any]:
        """The verified ``model.json`` (model config, feature spec, variants)."""
        meta: dict[str, Any] = read_json(self.file(MODEL_META))
        return meta


def open_version(root: str | Path, version: str) -> ModelVersion:
    """The version named ``version`` in the registry at ``root``."""
    path = Path(root) / VERSIONS / version
    manifest = read_json(path / MANIFEST)
    if manifest.get("version") != version:
        raise ModelStoreError(f"{path}: manifest names version {manifest.get('version')!r}")
    return ModelVersion(version, path, manifest)


def current_version(root: str | Path) -> ModelVersion | None:
    """The promoted version, None when the registry has none; checks the manifest's checksum."""
    pointer_path = Path(root) / POINTER
    if not pointer_path.exists():
        return None
    pointer = read_json(pointer_path)
    found = open_version(root, str(pointer.get("version")))
    if sha256_file(found.path / MANIFEST) != pointer.get("manifest_sha256"):
        raise ModelStoreError(f"{found.path / MANIFEST}: does not match the checksum in {POINTER}")
    return found
