"""Versioned model registry on the file system: register, promote, list, verify.

    python -m models.registry [--root DIR] register EXPORT_DIR [--promote]
    python -m models.registry [--root DIR] promote v0002      # also the way to roll back
    python -m models.registry [--root DIR] list | current | verify [VERSION]

Layout and read side: ``udfs/model_store.py`` (the streaming job reads the registry with that
module alone: no torch, no database). No registry service or database is used on purpose: the
only guarantees needed are "a version appears whole" and "the current pointer flips at once",
and POSIX gives both with ``rename`` (a fully written temporary directory becomes
``versions/vNNNN``; a rename onto an existing version fails, so concurrent registrations cannot
overwrite each other) and ``os.replace`` (the pointer). Integrity comes from the sha256 of every
file in the version's manifest, checked on promotion and by the scorer on load. Every promotion
is also appended to ``promotions.jsonl`` (an audit trail; the pointer alone decides).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from udfs.envconfig import from_env
from udfs.model_store import (
    MANIFEST,
    MODEL_META,
    POINTER,
    VERSIONS,
    ModelStoreError,
    ModelVersion,
    current_version,
    open_version,
    read_json,
    resolve_root,
    sha256_file,
)
from udfs.session_scorer import ScorerConfig

REQUIRED = ("model.onnx", MODEL_META)
OPTIONAL = ("model.int8.onnx", "metrics.json", "curves.png", "report.md")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ModelRegistry:
    """The registry rooted at ``root`` (created on first registration)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def versions(self) -> list[str]:
        """Registered version names, oldest first."""
        base = self.root / VERSIONS
        return sorted(p.name for p in base.glob("v[0-9]*") if p.is_dir()) if base.is_dir() else []

    def get(self, version: str) -> ModelVersion:
        return open_version(self.root, version)

    def current(self) -> ModelVersion | None:
        """The promoted version (None when none is); raises ModelStoreError when the pointer is broken."""
        return current_version(self.root)

    def current_or_none(self) -> str | None:
        """Name of the promoted version; None when none is or the pointer is unreadable."""
        try:
            found = current_version(self.root)
        except (ModelStoreError, OSError):
            return None
        return found.version if found else None

    def register(self, source: str | Path, data_fingerprint: str | None = None,
                 note: str = "") -> ModelVersion:
        """Copy an export directory into a new immutable version; returns it (not promoted)."""
        source = Path(source)
        missing = [n for n in REQUIRED if not (source / n).is_file()]
        if missing:
            raise ModelStoreError(f"{source}: not an exported model, missing {', '.join(missing)}")
        names = [n for n in REQUIRED + OPTIONAL if (source / n).is_file()]
        (self.root / VERSIONS).mkdir(parents=True, exist_ok=True)
        tmp = self.root / VERSIONS / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            for name in names:
                shutil.copyfile(source / name, tmp / name)
            files = {name: sha256_file(tmp / name) for name in names}
            metrics = read_json(tmp / "metrics.json") if "metrics.json" in files else {}
            base = {"files": files, "created_at": time.time(), "source": str(source.resolve()), "note": note,
                    "data_fingerprint": data_fingerprint or metrics.get("data", {}).get("fingerprint"),
                    "metrics": metrics.get("test", {}).get("model", {})}
            return self._claim_version(tmp, base)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _claim_version(self, tmp: Path, base: dict[str, Any]) -> ModelVersion:
        """Rename ``tmp`` to the next free ``vNNNN``, retrying when another writer took it first."""
        for _ in range(100):
            existing = self.versions()
            version = f"v{(int(existing[-1][1:]) + 1 if existing else 1):04d}"
            (tmp / MANIFEST).write_text(json.dumps({"version": version, **base}, indent=2, sort_keys=True))
            try:
                os.rename(tmp, self.root / VERSIONS / version)
            except OSError:
                continue
            _fsync_dir(self.root / VERSIONS)
            return self.get(version)
        raise ModelStoreError(f"{self.root}: could not claim a version number")

    def verify(self, version: str) -> list[str]:
        """Problems found in a version (missing files, checksum mismatches); empty when sound."""
        problems = []
        found = self.get(version)
        for name in found.manifest.get("files", {}):
            try:
                found.file(name)
            except (ModelStoreError, OSError) as exc:
                problems.append(str(exc))
        return problems

    def promote(self, version: str) -> ModelVersion:
        """Make ``version`` current (atomic pointer swap) after verifying every checksum."""
        problems = self.verify(version)
        if problems:
            raise ModelStoreError(f"refusing to promote {version}: " + "; ".join(problems))
        found = self.get(version)
        previous = self.current_or_none()
        pointer = {"version": version, "manifest_sha256": sha256_file(found.path / MANIFEST),
                   "promoted_at": time.time(), "previous": previous}
        _write_atomic(self.root / POINTER, json.dumps(pointer, indent=2, sort_keys=True).encode())
        with open(self.root / "promotions.jsonl", "a") as log:
            log.write(json.dumps(pointer, sort_keys=True) + "\n")
        return found


def _describe(found: ModelVersion, current: str | None) -> str:
    m = found.manifest
    mark = "*" if found.version == current else " "
    scores = " ".join(f"{k}={v:.4f}" for k, v in sorted(m.get("metrics", {}).items()))
    data = str(m.get("data_fingerprint"))[:12]
    return f"{mark} {found.version}  data={data}  {scores}  {m.get('note', '')}"


def _register(reg: ModelRegistry, args: argparse.Namespace) -> int:
    found = reg.register(args.source, note=args.note)
    print(f"registered {found.version} from {args.source}")
    if args.promote:
        print(f"promoted {reg.promote(found.version).version}")
    return 0


def _promote(reg: ModelRegistry, args: argparse.Namespace) -> int:
    print(f"promoted {reg.promote(args.version).version}")
    return 0


def _list(reg: ModelRegistry, args: argparse.Namespace) -> int:
    current = reg.current_or_none()
    for version in reg.versions():
        print(_describe(reg.get(version), current))
    return 0


def _current(reg: ModelRegistry, args: argparse.Namespace) -> int:
    found = reg.current()
    if found is None:
        print(f"no current version in {reg.root}")
        return 1
    print(_describe(found, found.version))
    return 0


def _verify(reg: ModelRegistry, args: argparse.Namespace) -> int:
    problems = [p for v in ([args.version] if args.version else reg.versions()) for p in reg.verify(v)]
    print("\n".join(problems) if problems else "all checksums match")
    return 1 if problems else 0


COMMANDS = {"register": _register, "promote": _promote, "list": _list, "current": _current, "verify": _verify}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m models.registry", description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=str(resolve_root(from_env(ScorerConfig, "SP_SCORER").registry)),
                        help="registry directory (default: $SP_SCORER_REGISTRY, else artifacts/registry in "
                        "the repository: where the streaming job looks)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    reg = sub.add_parser("register", help="copy an export directory in as a new version")
    reg.add_argument("source")
    reg.add_argument("--promote", action="store_true", help="make it current too")
    reg.add_argument("--note", default="")
    sub.add_parser("promote", help="make a version current").add_argument("version")
    sub.add_parser("list", help="all versions, * marks the current one")
    sub.add_parser("current", help="the current version")
    sub.add_parser("verify", help="check checksums").add_argument("version", nargs="?")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.cmd](ModelRegistry(args.root), args)
    except ModelStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
