"""Read side of the model registry: MLflow's Model Registry in a local SQLite store.

A registry root (``models/registry.py`` writes it) holds::

    <root>/mlflow.db     MLflow tracking + model registry (SQLite): one registered model
                         (default name "session-model"), one MLflow version per registration,
                         the alias "champion" on the promoted version
    <root>/artifacts/    the runs' artifacts: <run id>/artifacts/model/{model.onnx, model.json, ...}

Every version carries tags ``sha256.<file>`` (checksum of each file), ``data_fingerprint`` and
``note``; its run holds the model config as params and the test metrics. The stream reads a
version through this module alone (no torch): it polls the alias (one query), and on a change
downloads the version's files into a local cache directory, verifying every checksum before
the copy is used. MLflow is imported inside functions only, so importing this module stays light.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
REGISTRY_DB = "mlflow.db"
POINTER = REGISTRY_DB  # the file that marks a directory as a registry root
MODEL_META = "model.json"
MODEL_NAME = "session-model"
PROMOTED_ALIAS = "champion"
ARTIFACT_PATH = "model"
CHECKSUM_TAG = "sha256."
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "shoppulse-model-cache"


class ModelStoreError(RuntimeError):
    """The registry is present but inconsistent: missing file, bad JSON or checksum mismatch."""


def resolve_root(path: str | Path) -> Path:
    """A registry path from configuration: relative paths are taken from the repository root, so
    the stream's Python workers find the same registry whatever their working directory."""
    p = Path(path)
    return p if p.is_absolute() else REPO_ROOT / p


def registry_uri(root: str | Path) -> str:
    """The MLflow tracking and registry URI of the registry at ``root``."""
    return f"sqlite:///{Path(root).resolve() / REGISTRY_DB}"


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


def version_label(number: int | str) -> str:
    """The name a version goes by in triggers and logs: MLflow version 3 is ``v0003``."""
    return f"v{int(number):04d}"


def version_number(label: str | int) -> int:
    """MLflow's version number from ``v0003``, ``v3`` or ``3``."""
    text = str(label).strip().lower().removeprefix("v")
    if not text.isdigit():
        raise ModelStoreError(f"{label!r} is not a version (expected v0003, v3 or 3)")
    return int(text)


def mlflow_client(root: str | Path) -> Any:
    """An ``MlflowClient`` on the registry at ``root`` (creates the database on first write)."""
    from mlflow import MlflowClient

    uri = registry_uri(root)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def checksum_problems(label: str, files: dict[str, str], directory: Path) -> list[str]:
    """Files of ``directory`` that are missing or whose sha256 differs from ``files``."""
    problems = []
    for name, expected in sorted(files.items()):
        path = directory / name
        if not path.is_file():
            problems.append(f"{label}/{name}: missing")
        elif (actual := sha256_file(path)) != expected:
            problems.append(f"{label}/{name}: sha256 {actual[:12]} != registered {expected[:12]}")
    return problems


@dataclass(frozen=True)
class ModelVersion:
    """One registered version: its label, MLflow number, artifact URI, checksums and manifest."""

    version: str
    number: int
    source: str
    manifest: dict[str, Any]
    cache_dir: Path = field(default=DEFAULT_CACHE, compare=False)

    @property
    def files(self) -> dict[str, str]:
        """File name -> registered sha256."""
        files: dict[str, str] = self.manifest["files"]
        return files

    def has(self, name: str) -> bool:
        return name in self.files

    def download(self, dst: str | Path) -> Path:
        """The version's stored files, copied into ``dst`` as they are (not verified)."""
        from mlflow.artifacts import download_artifacts

        try:
            return Path(download_artifacts(artifact_uri=self.source, dst_path=str(dst)))
        except Exception as exc:  # MlflowException, OSError: the artifact store lost the version
            raise ModelStoreError(f"{self.version}: cannot download {self.source}: {exc}") from None

    def local_dir(self) -> Path:
        """A verified local copy in the cache (downloaded once; concurrent readers may race: the
        first complete copy wins, since a copy is renamed into place only after verification)."""
        digest = hashlib.sha256(json.dumps(self.files, sort_keys=True).encode()).hexdigest()[:16]
        target = self.cache_dir / self.manifest.get("name", MODEL_NAME) / f"{self.version}-{digest}"
        if target.is_dir():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".download-", dir=target.parent))
        try:
            fetched = self.download(tmp)
            problems = checksum_problems(self.version, self.files, fetched)
            if problems:
                raise ModelStoreError("; ".join(problems))
            try:
                os.rename(fetched, target)
            except OSError:
                if not target.is_dir():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return target

    def file(self, name: str) -> Path:
        """Local path of one of the version's files, after checking its sha256 against the registry."""
        if name not in self.files:
            raise ModelStoreError(f"{self.version}: no file {name!r} registered")
        path = self.local_dir() / name
        problems = checksum_problems(self.version, {name: self.files[name]}, path.parent)
        if problems:
            raise ModelStoreError(problems[0])
        return path

    def meta(self) -> dict[str, Any]:
        """The verified ``model.json`` (model config, feature spec, variants)."""
        meta: dict[str, Any] = read_json(self.file(MODEL_META))
        return meta


def from_mlflow(entity: Any, cache_dir: Path = DEFAULT_CACHE) -> ModelVersion:
    """A ``ModelVersion`` from MLflow's model version entity (checksums from its tags)."""
    tags: dict[str, str] = dict(entity.tags)
    files = {k.removeprefix(CHECKSUM_TAG): v for k, v in tags.items() if k.startswith(CHECKSUM_TAG)}
    label = version_label(entity.version)
    if not files:
        raise ModelStoreError(f"{entity.name} {label}: no sha256.* checksum tags (not registered by models.registry)")
    manifest = {"name": entity.name, "version": label, "files": files, "run_id": entity.run_id,
                "data_fingerprint": tags.get("data_fingerprint"), "note": entity.description or "",
                "created_at": entity.creation_timestamp / 1000.0, "source": entity.source}
    return ModelVersion(label, int(entity.version), entity.source, manifest, cache_dir)


class RegistryReader:
    """Read access to the registry at ``root``: the promoted version, any version by name."""

    def __init__(self, root: str | Path, model_name: str = MODEL_NAME, cache_dir: str | Path | None = None) -> None:
        self.root, self.model_name = Path(root), model_name
        self.cache_dir = Path(cache_dir) if cache_dir else DEFAULT_CACHE
        self._client: Any = None

    def exists(self) -> bool:
        return (self.root / REGISTRY_DB).is_file()

    def client(self) -> Any:
        if self._client is None:
            self._client = mlflow_client(self.root)
        return self._client

    def promoted_number(self) -> int | None:
        """MLflow number of the version holding the promotion alias; None when none does (one query)."""
        from mlflow.exceptions import MlflowException

        if not self.exists():
            return None
        try:
            aliases = self.client().get_registered_model(self.model_name).aliases
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        number = aliases.get(PROMOTED_ALIAS)
        return int(number) if number is not None else None

    def get(self, version: str | int) -> ModelVersion:
        """The version named ``version`` (``v0003``, ``v3`` or ``3``)."""
        from mlflow.exceptions import MlflowException

        if not self.exists():
            raise ModelStoreError(f"{self.root}: no model registry ({REGISTRY_DB} missing)")
        try:
            entity = self.client().get_model_version(self.model_name, str(version_number(version)))
        except MlflowException as exc:
            raise ModelStoreError(f"{self.model_name} {version}: {exc.message}") from None
        return from_mlflow(entity, self.cache_dir)

    def promoted(self) -> ModelVersion | None:
        """The promoted version, None when none is."""
        number = self.promoted_number()
        return None if number is None else self.get(number)


def open_version(root: str | Path, version: str | int, model_name: str = MODEL_NAME) -> ModelVersion:
    """The version named ``version`` in the registry at ``root``."""
    return RegistryReader(root, model_name).get(version)


def current_version(root: str | Path, model_name: str = MODEL_NAME) -> ModelVersion | None:
    """The promoted version of the registry at ``root``; None when there is no registry or no promotion."""
    return RegistryReader(root, model_name).promoted()
