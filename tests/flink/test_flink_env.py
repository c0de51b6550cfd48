"""The job's Flink configuration: checkpoints go to durable storage, never JobManager memory
(whose 5 MB cap per operator failed every checkpoint once dedup state grew past it)."""
from __future__ import annotations

from pathlib import Path

from pipelines.config import load_job_config
from pipelines.flink_env import checkpoint_uri, create_env, flink_configuration, on_cluster, resolved_parallelism


def test_checkpoints_are_written_to_the_configured_directory(tmp_path: Path) -> None:
    conf = flink_configuration(load_job_config(checkpoint_dir=str(tmp_path / "cp")))
    assert conf.get_string("execution.checkpointing.storage", "") == "filesystem"
    assert conf.get_string("execution.checkpointing.dir", "") == (tmp_path / "cp").resolve().as_uri()


def test_a_checkpoint_uri_is_kept_and_a_relative_path_becomes_an_absolute_file_uri(tmp_path: Path,
                                                                                   monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert checkpoint_uri("s3://bucket/shoppulse") == "s3://bucket/shoppulse"
    monkeypatch.chdir(tmp_path)
    assert checkpoint_uri("cp") == f"file://{tmp_path.resolve()}/cp"


def test_auto_parallelism_is_one_on_the_embedded_mini_cluster_and_the_clusters_own_on_a_cluster() -> None:
    assert resolved_parallelism(0, cluster=False) == 1
    assert resolved_parallelism(0, cluster=True) is None
    assert resolved_parallelism(3, cluster=False) == 3 and resolved_parallelism(3, cluster=True) == 3


def test_the_job_runs_at_parallelism_one_in_this_process_unless_configured(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SP_JOB_PARALLELISM", raising=False)
    env, _ = create_env(load_job_config(checkpoint_interval_ms=0))
    assert not on_cluster(env) and env.get_parallelism() == 1
    env, _ = create_env(load_job_config(parallelism=2, checkpoint_interval_ms=0))
    assert env.get_parallelism() == 2
