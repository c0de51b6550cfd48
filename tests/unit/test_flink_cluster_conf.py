"""The local session cluster's configuration: one TaskManager per core, slots enough for the job."""
from __future__ import annotations

from pathlib import Path

from services.stack import flink_cluster
from services.stack.config import load


def settings(conf: Path) -> dict[str, str]:
    lines = (conf / "config.yaml").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def test_one_taskmanager_per_core_with_one_slot_each_by_default(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(flink_cluster.os, "cpu_count", lambda: 4)
    conf = flink_cluster.write_conf(load(state_dir=str(tmp_path)), 18181)
    assert (conf / "workers").read_text().splitlines() == ["localhost"] * 4
    assert settings(conf)["taskmanager.numberOfTaskSlots"] == "1"


def test_a_single_taskmanager_gets_slots_for_the_default_parallelism(tmp_path: Path) -> None:
    conf = flink_cluster.write_conf(load(state_dir=str(tmp_path), flink_taskmanagers=1), 18181)
    assert (conf / "workers").read_text().splitlines() == ["localhost"]
    assert int(settings(conf)["taskmanager.numberOfTaskSlots"]) >= int(settings(conf)["parallelism.default"])


def test_explicit_slots_are_kept(tmp_path: Path) -> None:
    conf = flink_cluster.write_conf(load(state_dir=str(tmp_path), flink_taskmanagers=2), 18181, slots=3)
    assert settings(conf)["taskmanager.numberOfTaskSlots"] == "3"
    assert len((conf / "workers").read_text().splitlines()) == 2


def test_slots_follow_the_jobs_parallelism_from_the_environment(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SP_JOB_PARALLELISM", "5")
    conf = flink_cluster.write_conf(load(state_dir=str(tmp_path), flink_taskmanagers=2), 18181)
    assert settings(conf)["parallelism.default"] == "5"
    assert int(settings(conf)["taskmanager.numberOfTaskSlots"]) * 2 >= 5


def test_auto_parallelism_takes_every_slot_of_the_cluster(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SP_JOB_PARALLELISM", raising=False)
    monkeypatch.setattr(flink_cluster.os, "cpu_count", lambda: 3)
    conf = flink_cluster.write_conf(load(state_dir=str(tmp_path)), 18181)
    assert settings(conf)["parallelism.default"] == "3"
    assert settings(conf)["taskmanager.numberOfTaskSlots"] == "1"
