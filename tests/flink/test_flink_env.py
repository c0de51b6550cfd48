"""The job's Flink configuration: checkpoints go to durable storage, never JobManager memory
(whose 5 MB cap per operator failed every checkpoint once dedup state grew past it)."""
from __future__ import annotations

from pathlib import Path

from pipelines.config import load_job_config
from pipelines.flink_env import checkpoint_uri, flink_configuration


def test_checkpoints_are_written_to_the_configured_directory(tmp_path: Path) -> None:
    conf = flink_configuration(load_job_config(checkpoint_dir=str(tmp_path / "cp")))
    assert conf.get_string("execution.checkpointing.storage", "") == "filesystem"
    assert conf.get_string("execution.checkpointing.dir", "") == (tmp_path / "cp").resolve().as_uri()


def test_a_checkpoint_uri_is_kept_and_a_relative_path_becomes_an_absolute_file_uri(tmp_path: Path,
                                                                                   monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert checkpoint_uri("s3://bucket/shoppulse") == "s3://bucket/shoppulse"
    monkeypatch.chdir(tmp_path)
    assert checkpoint_uri("cp") == f"file://{tmp_path.resolve()}/cp"
