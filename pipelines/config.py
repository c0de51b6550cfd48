"""Configuration of the streaming job: one frozen object, every field overridable as SP_JOB_<FIELD>.

Defaults run the job in Flink's embedded mini-cluster against the local stack
(``python -m services.stack up``). Production sets the broker, Redis and topics from the
environment; nothing about brokers or jar paths is hard-coded in job code.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from udfs.envconfig import env_field, from_env

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class JobConfig:
    bootstrap_servers: str = env_field("127.0.0.1:9092", "Kafka bootstrap servers.")
    group_id: str = env_field("shoppulse-job", "Consumer group of the job's Kafka sources.")
    events_topic: str = env_field("events", "Behavioral events (Avro, key = user or anonymous id).")
    dlq_topic: str = env_field("events.dlq", "Rejected and late records with the reason and original bytes.")
    profiles_topic: str = env_field("profiles", "Compacted user profiles, key = user id.")
    consent_topic: str = env_field("consent", "Compacted consent records, key = user id.")
    triggers_topic: str = env_field("triggers", "Triggers for delivery services, key = user id.")
    erasure_topic: str = env_field("erasure", "Right-to-erasure requests.")
    erasure_done_topic: str = env_field("erasure.done", "Erasure confirmations emitted by the job.")
    clean_topic: str = env_field("events.clean", "Validated, normalized, deduplicated events (Avro).")
    starting_offsets: str = env_field("committed", "earliest, latest, or committed (earliest when none).")
    start_timestamp_ms: int = env_field(
        0, "If > 0, start reading at this record timestamp (overrides starting_offsets).")
    start_offsets: str = env_field(
        "", "If set, start reading the events topic at these offsets (overrides the above), "
            "as 'partition:0,offset:42;partition:1,offset:7'.")
    bounded: bool = env_field(False, "Stop at the offsets current at start (demos, replays, tests).")
    parallelism: int = env_field(
        0, "Operator parallelism; 0 = auto: 1 on the embedded mini-cluster, whose one JVM runs all the "
           "job's Python under one interpreter lock, so a second subtask only contends for it (1.2-1.3x "
           "slower, BENCHMARKS.md); on a cluster (flink run), the cluster's parallelism.default (the "
           "local session cluster's: its slots, one TaskManager per core).")
    python_executable: str = env_field(sys.executable, "Interpreter of the Python workers.")
    jars_dir: str = env_field(str(ROOT / ".jars" / "flink"), "Folder of the Flink connector jars.")
    delivery: str = env_field("at-least-once", "Kafka sink guarantee: at-least-once or exactly-once.")
    checkpoint_interval_ms: int = env_field(10_000, "Checkpoint interval (exactly-once commits on it).")
    buffer_timeout_ms: int = env_field(
        10, "Longest a record waits in a network buffer between tasks (ms). Flink's 100 ms default "
            "added up to 100 ms per exchange to trigger latency; -1 sends only full buffers.")
    state_backend: str = env_field(
        "hashmap", "hashmap: state on the JVM heap, the fastest per access; every checkpoint copies all of "
                   "it, so its cost grows with the state. rocksdb: state on local disk, each checkpoint "
                   "writes only the files new since the last (incremental); for state larger than the "
                   "heap should hold. It cost 1.08x the CPU per event at 100 MB of state here "
                   "(BENCHMARKS.md, soak). Erasure: an erased user's entries leave the live state at once, "
                   "but an incremental checkpoint can still share older files that hold them until "
                   "RocksDB compacts those files (hashmap: gone with the next checkpoint).")
    checkpoint_dir: str = env_field(
        str(ROOT / ".state" / "checkpoints"), "Where checkpoints are written (a path or a URI such as "
        "s3://...; every TaskManager must reach it). Never JobManager memory: it caps state at 5 MB.")
    resume: bool = env_field(
        True, "An unbounded run keeps its checkpoints when cancelled and restores the newest one of "
              "the same job (job name, broker, group and source topics) at start, so state and offsets "
              "survive a restart (pipelines/resume.py); false starts from empty state.")
    retained_runs: int = env_field(
        1, "Checkpoint folders of earlier runs kept per job (the newest first); older ones are deleted "
           "when a run starts. Keep it small: checkpoints hold personal data, which erasure reaches "
           "only through the job's next checkpoint.")
    transaction_timeout_ms: int = env_field(
        600_000, "Kafka transaction timeout; must stay below the broker's 15 min cap.")
    mode: str = env_field(
        "live", "live: deadlines also fire on wall-clock time (idle streams); replay: event-time order only.")
    redis_url: str = env_field("redis://127.0.0.1:6379/0", "Redis for UI hints, features, recommendations.")
    job_name: str = env_field("shoppulse", "Flink job name.")

    def topics(self) -> dict[str, str]:
        """Role -> topic name, for creating topics and for logs."""
        return {
            "events": self.events_topic, "dlq": self.dlq_topic, "clean": self.clean_topic,
            "profiles": self.profiles_topic, "consent": self.consent_topic,
            "triggers": self.triggers_topic, "erasure": self.erasure_topic,
            "erasure_done": self.erasure_done_topic,
        }

    def connector_jars(self) -> list[str]:
        """file:// URLs of every jar in ``jars_dir``; a clear error if setup has not run."""
        jars = sorted(Path(self.jars_dir).glob("*.jar"))
        if not any("flink-sql-connector-kafka" in j.name for j in jars):
            raise FileNotFoundError(f"no Flink Kafka connector jar in {self.jars_dir}: run scripts/setup.sh")
        return [j.resolve().as_uri() for j in jars]


def load_job_config(**overrides: Any) -> JobConfig:
    cfg = from_env(JobConfig, "SP_JOB", **overrides)
    if cfg.delivery not in ("at-least-once", "exactly-once"):
        raise ValueError(f"SP_JOB_DELIVERY={cfg.delivery!r}: expected at-least-once or exactly-once")
    if cfg.mode not in ("live", "replay"):
        raise ValueError(f"SP_JOB_MODE={cfg.mode!r}: expected live or replay")
    if cfg.state_backend not in ("hashmap", "rocksdb"):
        raise ValueError(f"SP_JOB_STATE_BACKEND={cfg.state_backend!r}: expected hashmap or rocksdb")
    if cfg.retained_runs < 1:
        raise ValueError("SP_JOB_RETAINED_RUNS must be at least 1 (the run a restart resumes from)")
    if cfg.transaction_timeout_ms >= 900_000:
        raise ValueError("SP_JOB_TRANSACTION_TIMEOUT_MS must be below the broker's 15 min cap (900000)")
    return cfg
