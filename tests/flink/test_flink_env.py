"""The job's Flink configuration: checkpoints go to durable storage, never JobManager memory
(whose 5 MB cap per operator failed every checkpoint once dedup state grew past it)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipelines.config import load_job_config
from pipelines.flink_env import checkpoint_uri, create_env, flink_configuration, on_cluster, resolved_parallelism
from pipelines.resume import recovery_path, scope_name


def test_checkpoints_are_written_to_the_job_s_folder_in_the_configured_directory(tmp_path: Path) -> None:
    cfg = load_job_config(checkpoint_dir=str(tmp_path / "cp"))
    conf = flink_configuration(cfg)
    assert conf.get_string("execution.checkpointing.storage", "") == "filesystem"
    assert conf.get_string("execution.checkpointing.dir", "") == (tmp_path / "cp" / scope_name(cfg)).resolve().as_uri()


def test_an_unbounded_resuming_run_retains_its_checkpoints_and_restores_the_newest(tmp_path: Path) -> None:
    cfg = load_job_config(checkpoint_dir=str(tmp_path), resume=True)
    retain = "execution.checkpointing.externalized-checkpoint-retention"
    assert flink_configuration(cfg).get_string(retain, "") == "RETAIN_ON_CANCELLATION"
    assert flink_configuration(cfg).get_string("execution.state-recovery.path", "") == ""
    chk = tmp_path / scope_name(cfg) / "a1b2" / "chk-3"
    chk.mkdir(parents=True)
    (chk / "_metadata").write_bytes(b"meta")
    conf = flink_configuration(cfg, recovery_path(cfg))
    assert conf.get_string("execution.state-recovery.path", "") == chk.as_uri()
    assert conf.get_string("execution.state-recovery.ignore-unclaimed-state", "") == "true"
    assert conf.get_string("execution.state-recovery.claim-mode", "") == "CLAIM"
    for other in (replace(cfg, resume=False), replace(cfg, bounded=True)):
        conf = flink_configuration(other, chk.as_uri())  # such a run restores nothing, whatever it is given
        assert conf.get_string(retain, "") == "" and conf.get_string("execution.state-recovery.path", "") == ""


def test_state_is_on_the_heap_by_default_and_in_rocksdb_with_incremental_checkpoints_when_chosen(
        tmp_path: Path) -> None:
    heap = flink_configuration(load_job_config(checkpoint_dir=str(tmp_path)))
    assert heap.get_string("state.backend.type", "") == "hashmap"
    assert heap.get_string("execution.checkpointing.incremental", "") == ""
    rocks = flink_configuration(load_job_config(checkpoint_dir=str(tmp_path), state_backend="rocksdb"))
    assert rocks.get_string("state.backend.type", "") == "rocksdb"
    assert rocks.get_string("execution.checkpointing.incremental", "") == "true"
    with pytest.raises(ValueError, match="SP_JOB_STATE_BACKEND='memory'"):
        load_job_config(state_backend="memory")


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
