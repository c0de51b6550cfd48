"""The Flink execution environment every job of the project runs in.

Thread mode (``python.execution-mode: thread``) runs Python functions inside the JVM through
pemja: about 20x the throughput of process mode for keyed state (DESIGN.md 5). The Python
workers use this job's own interpreter and site-packages, or they fail to import pyflink.
"""
from __future__ import annotations

import os
import site
import sys
from collections.abc import Mapping

from pyflink.common import Configuration
from pyflink.datastream import CheckpointingMode, StreamExecutionEnvironment
from pyflink.table import StreamTableEnvironment

from pipelines.config import JobConfig
from pipelines.resume import checkpoint_location, checkpoint_uri, recovery_path


def _python_path() -> str:
    paths = [str(p) for p in site.getsitepackages()] + [p for p in sys.path if p.endswith("site-packages")]
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.pathsep.join(dict.fromkeys([here, *paths]))


def flink_configuration(cfg: JobConfig, restore: str | None = None) -> Configuration:
    """The job's Flink options; ``restore``: the checkpoint a resuming run restores
    (``pipelines.resume.recovery_path``, which ``create_env`` asks once)."""
    conf = Configuration()
    conf.set_string("python.execution-mode", "thread")
    conf.set_string("python.executable", cfg.python_executable)
    conf.set_string("python.client.executable", cfg.python_executable)
    conf.set_string("python.pythonpath", _python_path())
    conf.set_string("pipeline.name", cfg.job_name)
    if cfg.parallelism > 0:
        conf.set_string("parallelism.default", str(cfg.parallelism))
    conf.set_string("pipeline.jars", ";".join(cfg.connector_jars()))
    conf.set_string("taskmanager.memory.managed.fraction", "0.1")
    conf.set_string("execution.buffer-timeout.interval", f"{cfg.buffer_timeout_ms} ms")
    conf.set_string("state.backend.type", cfg.state_backend)
    if cfg.state_backend == "rocksdb":
        conf.set_string("execution.checkpointing.incremental", "true")
    conf.set_string("execution.checkpointing.storage", "filesystem")
    conf.set_string("execution.checkpointing.dir", checkpoint_uri(checkpoint_location(cfg)))
    for key, value in recovery_options(cfg, restore).items():
        conf.set_string(key, value)
    return conf


def recovery_options(cfg: JobConfig, restore: str | None) -> dict[str, str]:
    """Checkpoint retention, and the restore of ``restore``, for a resuming unbounded run.
    State of an operator the restored job no longer has is skipped, so an upgrade that drops or
    renames one still starts; the named stages (uids ingest, dedup, engine) keep theirs. The
    restored checkpoint is claimed: deleted once the new run has checkpointed, so an erased
    user's state does not linger in it."""
    if cfg.bounded or not cfg.resume:
        return {}
    opts = {"execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION"}
    if restore is not None:
        opts["execution.state-recovery.path"] = restore
        opts["execution.state-recovery.ignore-unclaimed-state"] = "true"
        # the new run owns the restored checkpoint and deletes it once its own first one is done
        opts["execution.state-recovery.claim-mode"] = "CLAIM"
    return opts


def resolved_parallelism(configured: int, cluster: bool) -> int | None:
    """The parallelism to set: the configured one; else (auto, 0) 1 on the embedded mini-cluster,
    where more subtasks only contend for one interpreter lock, and None on a cluster, whose own
    ``parallelism.default`` then applies."""
    if configured > 0:
        return configured
    return None if cluster else 1


def on_cluster(env: StreamExecutionEnvironment) -> bool:
    """True when the job was submitted to a cluster (``flink run``), False on the embedded mini-cluster."""
    j_env = env._j_stream_execution_environment  # noqa: SLF001 (no public accessor)
    return str(j_env.getClass().getSimpleName()) != "LocalStreamEnvironment"


def create_env(cfg: JobConfig, overrides: Mapping[str, str] | None = None,
               ) -> tuple[StreamExecutionEnvironment, StreamTableEnvironment]:
    """Stream + table environments configured for ``cfg`` (mini-cluster when run locally);
    ``overrides``: Flink options set on top (the benchmarks' REST port, chaining, mode)."""
    os.environ.setdefault("PYFLINK_CLIENT_EXECUTABLE", cfg.python_executable)
    conf = flink_configuration(cfg, recovery_path(cfg))  # prunes earlier runs' checkpoints, logs the choice
    for key, value in (overrides or {}).items():
        conf.set_string(key, value)
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    parallelism = resolved_parallelism(cfg.parallelism, on_cluster(env))
    if parallelism is not None:
        env.set_parallelism(parallelism)
    if cfg.delivery == "exactly-once" or cfg.checkpoint_interval_ms > 0:
        env.enable_checkpointing(cfg.checkpoint_interval_ms, CheckpointingMode.EXACTLY_ONCE)
    t_env = StreamTableEnvironment.create(env)
    return env, t_env
