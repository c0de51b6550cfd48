"""Model registry on MLflow's local store: register, promote, list, verify.

    python -m models.registry [--root DIR] [--name NAME] register EXPORT_DIR [--promote] [--note TEXT]
    python -m models.registry [--root DIR] promote v0002      # also the way to roll back
    python -m models.registry [--root DIR] list | current | verify [VERSION]

The registry is MLflow's Model Registry with a SQLite backend (``<root>/mlflow.db``) and its
artifacts under ``<root>/artifacts`` (layout and read side: ``udfs/model_store.py``; the stream
reads it with that module alone, no torch). Registering an export directory creates one MLflow
run (params: the model config; metrics: the test table as ``test/<method>/<metric>``; artifacts:
the ONNX files, ``model.json``, ``metrics.json``, report) and one model version whose tags hold
the sha256 of every file, the data fingerprint and the note. Promoting moves the alias
"champion" to a version after verifying its stored files against those checksums; the alias
switch is one database update, so a reader sees the old version or the new one. MLflow numbers
versions 1, 2, ...; the project names them ``v0001``, ``v0002`` (``3`` and ``v3`` work too).
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from udfs.envconfig import from_env
from udfs.model_store import (
    ARTIFACT_PATH,
    CHECKSUM_TAG,
    MODEL_META,
    PROMOTED_ALIAS,
    ModelStoreError,
    ModelVersion,
    RegistryReader,
    checksum_problems,
    read_json,
    resolve_root,
    sha256_file,
    version_label,
)
from udfs.session_scorer import ScorerConfig

REQUIRED = ("model.onnx", MODEL_META)
OPTIONAL = ("model.int8.onnx", "metrics.json", "curves.png", "report.md")


def metric_key(*parts: str) -> str:
    """An MLflow metric name from ``parts`` (``MRR@20`` becomes ``MRR_at_20``)."""
    return "/".join(re.sub(r"[^\w.\- ]", "_", p.replace("@", "_at_")) for p in parts)


def run_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """The test table of ``metrics.json`` as flat MLflow metrics, ``test/<method>/<metric>``."""
    table = metrics.get("test", {})
    return {metric_key("test", method, name): float(value)
            for method, values in table.items() if isinstance(values, dict)
            for name, value in values.items() if isinstance(value, int | float) and not isinstance(value, bool)}


def run_params(meta: dict[str, Any]) -> dict[str, str]:
    """Model config and serving facts of ``model.json`` as MLflow params."""
    params = {f"model.{k}": str(v) for k, v in meta.get("model_config", {}).items()}
    spec = meta.get("feature_spec", {})
    params.update({"feature.max_len": str(spec.get("max_len")), "feature.items": str(len(spec.get("items", []))),
                   "preferred": str(meta.get("preferred")), "opset": str(meta.get("opset")),
                   "intent_trained": str(meta.get("intent_trained"))})
    return params


class ModelRegistry:
    """The registry rooted at ``root`` (created on first registration)."""

    def __init__(self, root: str | Path, model_name: str | None = None) -> None:
        self.root = Path(root)
        self.model_name = model_name or from_env(ScorerConfig, "SP_SCORER").model_name
        self.reader = RegistryReader(self.root, self.model_name)

    def client(self) -> Any:
        """The MLflow client (creates the registry database on first use)."""
        self.root.mkdir(parents=True, exist_ok=True)
        return self.reader.client()

    def versions(self) -> list[str]:
        """Registered version names, oldest first."""
        if not self.reader.exists():
            return []
        found = self.client().search_model_versions(f"name = '{self.model_name}'")
        return [version_label(n) for n in sorted(int(v.version) for v in found)]

    def get(self, version: str | int) -> ModelVersion:
        return self.reader.get(version)

    def current(self) -> ModelVersion | None:
        """The promoted version (None when none is)."""
        return self.reader.promoted()

    def current_or_none(self) -> str | None:
        """Name of the promoted version; None when none is or the registry cannot be read."""
        try:
            number = self.reader.promoted_number()
        except Exception:  # MlflowException, sqlite errors: nothing promoted as far as we can tell
            return None
        return version_label(number) if number is not None else None

    def metrics(self, version: str | int) -> dict[str, float]:
        """The metrics of the run the version was registered from."""
        metrics: dict[str, float] = self.client().get_run(self.get(version).manifest["run_id"]).data.metrics
        return metrics

    def artifact_dir(self, version: str | int) -> Path:
        """Where the version's files are stored (the local artifact store), for inspection."""
        return Path(unquote(urlparse(self.get(version).source).path))

    def register(self, source: str | Path, data_fingerprint: str | None = None,
                 note: str = "") -> ModelVersion:
        """Log an export directory as a run and register it as a new version (not promoted)."""
        source = Path(source)
        missing = [n for n in REQUIRED if not (source / n).is_file()]
        if missing:
            raise ModelStoreError(f"{source}: not an exported model, missing {', '.join(missing)}")
        names = [n for n in REQUIRED + OPTIONAL if (source / n).is_file()]
        metrics = read_json(source / "metrics.json") if "metrics.json" in names else {}
        fingerprint = data_fingerprint or metrics.get("data", {}).get("fingerprint") or "unknown"
        tags = {"data_fingerprint": fingerprint, "source": str(source.resolve()), "note": note}
        run_id = self._log_run(source, names, tags, metrics)
        checksums = {f"{CHECKSUM_TAG}{n}": sha256_file(source / n) for n in names}
        self._ensure_model()
        created = self.client().create_model_version(
            self.model_name, f"{self._artifact_uri(run_id)}/{ARTIFACT_PATH}", run_id,
            tags={**tags, **checksums}, description=note)
        return self.get(created.version)

    def _log_run(self, source: Path, names: list[str], tags: dict[str, str], metrics: dict[str, Any]) -> str:
        """One finished MLflow run holding the export's files, config and metrics; returns its id."""
        from mlflow.entities import Metric, Param

        client, now = self.client(), int(time.time() * 1000)
        run = client.create_run(self._experiment_id(), run_name=f"register {source.name}", tags=tags)
        run_id = run.info.run_id
        client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in run_metrics(metrics).items()],
                         params=[Param(k, v) for k, v in run_params(read_json(source / MODEL_META)).items()])
        for name in names:
            client.log_artifact(run_id, str(source / name), ARTIFACT_PATH)
        client.set_terminated(run_id)
        return str(run_id)

    def _experiment_id(self) -> str:
        """The registry's experiment, its artifacts under ``<root>/artifacts``."""
        client = self.client()
        found = client.get_experiment_by_name(self.model_name)
        if found is not None:
            return str(found.experiment_id)
        location = (self.root.resolve() / "artifacts").as_uri()
        return str(client.create_experiment(self.model_name, artifact_location=location))

    def _artifact_uri(self, run_id: str) -> str:
        return str(self.client().get_run(run_id).info.artifact_uri)

    def _ensure_model(self) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self.client().create_registered_model(self.model_name)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise

    def verify(self, version: str | int) -> list[str]:
        """Problems of a version's stored files (missing, checksum mismatch); empty when sound."""
        found = self.get(version)
        with tempfile.TemporaryDirectory(prefix="verify-") as tmp:
            try:
                fetched = found.download(tmp)
            except ModelStoreError as exc:
                return [str(exc)]
            return checksum_problems(found.version, found.files, fetched)

    def promote(self, version: str | int) -> ModelVersion:
        """Point the alias "champion" at ``version`` after verifying every checksum."""
        problems = self.verify(version)
        if problems:
            raise ModelStoreError(f"refusing to promote {version}: " + "; ".join(problems))
        found = self.get(version)
        client = self.client()
        client.set_model_version_tag(self.model_name, str(found.number), "promoted_at", str(time.time()))
        client.set_registered_model_alias(self.model_name, PROMOTED_ALIAS, str(found.number))
        return found


def _describe(reg: ModelRegistry, found: ModelVersion, current: str | None) -> str:
    m = found.manifest
    mark = "*" if found.version == current else " "
    model = {k.removeprefix("test/model/"): v for k, v in reg.metrics(found.version).items()
             if k.startswith("test/model/")}
    scores = " ".join(f"{k}={v:.4f}" for k, v in sorted(model.items()))
    return f"{mark} {found.version}  data={str(m.get('data_fingerprint'))[:12]}  {scores}  {m.get('note', '')}"


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
        print(_describe(reg, reg.get(version), current))
    return 0


def _current(reg: ModelRegistry, args: argparse.Namespace) -> int:
    found = reg.current()
    if found is None:
        print(f"no promoted version in {reg.root}")
        return 1
    print(_describe(reg, found, found.version))
    return 0


def _verify(reg: ModelRegistry, args: argparse.Namespace) -> int:
    problems = [p for v in ([args.version] if args.version else reg.versions()) for p in reg.verify(v)]
    print("\n".join(problems) if problems else "all checksums match")
    return 1 if problems else 0


COMMANDS = {"register": _register, "promote": _promote, "list": _list, "current": _current, "verify": _verify}


def build_parser() -> argparse.ArgumentParser:
    cfg = from_env(ScorerConfig, "SP_SCORER")
    parser = argparse.ArgumentParser(prog="python -m models.registry", description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=str(resolve_root(cfg.registry)),
                        help="registry directory (default: $SP_SCORER_REGISTRY, else artifacts/registry in "
                        "the repository: where the streaming job looks)")
    parser.add_argument("--name", default=cfg.model_name, help="registered model name ($SP_SCORER_MODEL_NAME)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    reg = sub.add_parser("register", help="log an export directory as a new version")
    reg.add_argument("source")
    reg.add_argument("--promote", action="store_true", help="promote it too")
    reg.add_argument("--note", default="")
    sub.add_parser("promote", help="move the alias 'champion' to a version").add_argument("version")
    sub.add_parser("list", help="all versions, * marks the promoted one")
    sub.add_parser("current", help="the promoted version")
    sub.add_parser("verify", help="check the stored files against their checksums").add_argument(
        "version", nargs="?")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.cmd](ModelRegistry(args.root, args.name), args)
    except ModelStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
