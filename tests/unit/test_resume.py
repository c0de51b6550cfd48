"""Which checkpoint a restarted job resumes from, and which earlier runs' folders go."""
from __future__ import annotations

import os
from pathlib import Path

from pipelines.config import load_job_config
from pipelines.resume import (
    checkpoint_location,
    complete_checkpoints,
    local_dir,
    newest_checkpoint,
    prune,
    recovery_path,
    scope_name,
)


def checkpoint(scope: Path, run: str, n: int, at: float, complete: bool = True) -> Path:
    chk = scope / run / f"chk-{n}"
    chk.mkdir(parents=True)
    (scope / run / "shared").mkdir(exist_ok=True)
    if complete:
        (chk / "_metadata").write_bytes(b"meta")
        os.utime(chk / "_metadata", (at, at))
    os.utime(chk, (at, at))
    return chk


def test_the_scope_separates_jobs_by_name_group_broker_and_topics() -> None:
    base = load_job_config()
    same = load_job_config(redis_url="redis://elsewhere:1/0", clean_topic="other.clean")
    assert scope_name(base) == scope_name(same)  # outputs and Redis do not change whose state it is
    for change in ({"group_id": "g2"}, {"events_topic": "ev2"}, {"consent_topic": "c2"},
                   {"bootstrap_servers": "kafka:9092"}, {"job_name": "other"}):
        assert scope_name(load_job_config(**change)) != scope_name(base), change
    assert scope_name(load_job_config(job_name="a b/../c")).startswith("a_b_.._c-")


def test_a_remote_checkpoint_folder_is_not_scanned(tmp_path: Path) -> None:
    assert local_dir("s3://bucket/cp") is None
    assert local_dir(f"file://{tmp_path}") == tmp_path
    cfg = load_job_config(checkpoint_dir="s3://bucket/cp/", resume=True)
    assert checkpoint_location(cfg) == f"s3://bucket/cp/{scope_name(cfg)}"
    assert recovery_path(cfg) is None


def test_the_newest_complete_checkpoint_wins_across_runs(tmp_path: Path) -> None:
    checkpoint(tmp_path, "run-a", 7, at=1_000)
    newest = checkpoint(tmp_path, "run-b", 2, at=2_000)
    checkpoint(tmp_path, "run-b", 3, at=3_000, complete=False)  # in progress when the job died
    assert complete_checkpoints(tmp_path) == [tmp_path / "run-a" / "chk-7", newest]
    assert newest_checkpoint(tmp_path) == newest
    assert newest_checkpoint(tmp_path / "missing") is None


def test_pruning_keeps_the_newest_runs_and_never_the_one_to_restore(tmp_path: Path) -> None:
    old = checkpoint(tmp_path, "run-old", 1, at=1_000)
    checkpoint(tmp_path, "run-mid", 1, at=2_000)
    checkpoint(tmp_path, "run-new", 1, at=3_000)
    assert prune(tmp_path, keep=2, protect=None) == [tmp_path / "run-old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-mid", "run-new"]
    checkpoint(tmp_path, "run-old", 1, at=500)
    assert prune(tmp_path, keep=1, protect=old) == [tmp_path / "run-mid"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-new", "run-old"]


def test_an_unbounded_run_resumes_the_newest_checkpoint_of_its_own_scope(tmp_path: Path) -> None:
    cfg = load_job_config(checkpoint_dir=str(tmp_path), resume=True, retained_runs=1)
    scope = Path(checkpoint_location(cfg))
    assert scope.parent == tmp_path and recovery_path(cfg) is None  # nothing yet: empty state
    checkpoint(scope, "run-1", 4, at=1_000)
    newest = checkpoint(scope, "run-2", 9, at=2_000)
    checkpoint(tmp_path / scope_name(load_job_config(group_id="another")), "run-x", 1, at=9_000)
    assert recovery_path(cfg) == newest.as_uri()
    assert [p.name for p in scope.iterdir()] == ["run-2"]  # retained_runs=1 dropped run-1
    assert recovery_path(load_job_config(checkpoint_dir=str(tmp_path), resume=False)) is None
    assert recovery_path(load_job_config(checkpoint_dir=str(tmp_path), resume=True, bounded=True)) is None
