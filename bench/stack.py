"""The bench's own Kafka broker and Redis, fresh topics per measurement, and offset probes."""
from __future__ import annotations

import shutil
import time
import uuid

import redis
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from bench import report
from bench.settings import stack_config, state_path
from pipelines.config import JobConfig, load_job_config
from services.stack import kafka, redis_server

PARTITIONS = 2


def up() -> None:
    """Start Redis and Kafka on the bench ports unless they already run."""
    cfg = stack_config()
    print(f"==> bench stack: {redis_server.start(cfg)}", flush=True)
    print(f"==> bench stack: {kafka.start(cfg)}", flush=True)


def fresh() -> None:
    """The bench stack up, with nothing left of earlier runs: how every bench command starts."""
    up()
    clear_old_runs()


def down() -> None:
    cfg = stack_config()
    kafka.shutdown(cfg)
    redis_server.shutdown(cfg)


def clear_old_runs() -> None:
    """Delete what earlier bench commands left: every topic on the bench broker (each measurement
    makes its own, and a preloaded pool of 2 million events is ~300 MB), their checkpoints, and
    the checkouts of ``bench compare`` (70-180 MB each)."""
    admin = AdminClient({"bootstrap.servers": bootstrap()})
    names = topics()
    for future in (admin.delete_topics(names, operation_timeout=60).values() if names else []):
        future.result(90)
    shutil.rmtree(state_path("checkpoints"), ignore_errors=True)
    checkouts = sorted(p for p in state_path("").glob("before-*") if p.is_dir())
    for path in checkouts:
        report.git("worktree", "remove", "--force", str(path))
        shutil.rmtree(path, ignore_errors=True)
    report.git("worktree", "prune")
    print(f"==> bench stack: deleted {len(names)} topics, the checkpoints of earlier runs and "
          f"{len(checkouts)} compare checkouts", flush=True)


def topics() -> list[str]:
    """The bench broker's topics, without Kafka's internal ones."""
    listed = AdminClient({"bootstrap.servers": bootstrap()}).list_topics(timeout=30).topics
    return [t for t in listed if not t.startswith("__")]


def bootstrap() -> str:
    return stack_config().bootstrap


def redis_url() -> str:
    return stack_config().redis_url


def flush_redis() -> None:
    redis.Redis.from_url(redis_url()).flushdb()


def create_topics(names: list[str], partitions: int = PARTITIONS) -> None:
    """Create ``names`` (compacted when they hold profiles or consent) and wait until they exist."""
    admin = AdminClient({"bootstrap.servers": bootstrap()})
    specs = [NewTopic(n, partitions, 1, config={"cleanup.policy": "compact"} if n.startswith(("prof", "cons"))
                      else {}) for n in names]
    for future in admin.create_topics(specs).values():
        future.result(30)


def job_config(run: str, **overrides: object) -> JobConfig:
    """A JobConfig on fresh topics named after ``run`` (created here), on the bench stack."""
    names = {f: f"{run}.{f.removesuffix('_topic')}" for f in (
        "events_topic", "dlq_topic", "profiles_topic", "consent_topic", "triggers_topic", "erasure_topic",
        "erasure_done_topic", "clean_topic") if f not in overrides}
    create_topics(list(names.values()))
    settings = {"bootstrap_servers": bootstrap(), "redis_url": redis_url(), "starting_offsets": "earliest",
                "group_id": f"{run}-{uuid.uuid4().hex[:6]}", "job_name": run,
                # its group is fresh, so the run restores nothing; ``resume`` keeps its default, a
                # field the job of an earlier commit (bench compare) may not have
                "checkpoint_dir": str(state_path("checkpoints")), **names, **overrides}
    return load_job_config(**settings)


def run_name(label: str) -> str:
    return f"{label}-{time.strftime('%H%M%S')}-{uuid.uuid4().hex[:4]}"


def end_offsets(topic: str, partitions: int = PARTITIONS) -> int:
    """Sum of the partitions' high watermarks: the records written so far (non-transactional)."""
    consumer = Consumer({"bootstrap.servers": bootstrap(), "group.id": "bench-probe", "enable.auto.commit": False})
    try:
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions))
    finally:
        consumer.close()


class OffsetProbe:
    """A reusable consumer handle for frequent high-watermark reads of one topic."""

    def __init__(self, topic: str, partitions: int = PARTITIONS) -> None:
        self.parts = [TopicPartition(topic, p) for p in range(partitions)]
        self.consumer = Consumer({"bootstrap.servers": bootstrap(), "group.id": "bench-probe",
                                  "enable.auto.commit": False})

    def count(self) -> int:
        return sum(self.consumer.get_watermark_offsets(tp, timeout=10, cached=False)[1] for tp in self.parts)

    def close(self) -> None:
        self.consumer.close()
