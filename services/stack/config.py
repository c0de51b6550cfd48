"""Where the local stack lives and listens; every field overridable as SP_STACK_<FIELD>."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from udfs.envconfig import env_field, from_env

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class StackConfig:
    state_dir: str = env_field(str(ROOT / ".state"), "Data, logs and pid files of the local servers.")
    jars_dir: str = env_field(str(ROOT / ".jars"), "Resolved jars (scripts/setup.sh): kafka/ and flink/.")
    kafka_port: int = env_field(9092, "Kafka client listener on 127.0.0.1.")
    controller_port: int = env_field(9093, "KRaft controller listener on 127.0.0.1.")
    kafka_heap: str = env_field("768m", "Kafka JVM max heap.")
    redis_port: int = env_field(6379, "Redis port on 127.0.0.1.")
    start_timeout_s: float = env_field(90.0, "Give up (and say why) if a server is not ready by then.")
    partitions: int = env_field(2, "Default partitions of the topics the stack creates.")
    kafka_retention_bytes: int = env_field(
        1 << 30, "Per-partition size cap of the broker's topics. Records carry their own (event) time, so "
                 "the broker keeps them by size, never by age: replayed history would be deleted at once.")
    kafka_retention_check_ms: int = env_field(
        300_000, "How often the broker deletes segments over the cap (log.retention.check.interval.ms).")
    flink_taskmanagers: int = env_field(
        0, "TaskManagers of the local session cluster; 0 = one per core. In thread mode all Python "
           "of one TaskManager shares one interpreter lock, so one per core runs the job fastest.")
    flink_slots: int = env_field(1, "Task slots per TaskManager of the local session cluster (raised "
                                    "so that all slots together hold a job at the default parallelism).")

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def kafka_dir(self) -> Path:
        return Path(self.state_dir).resolve() / f"kafka-{self.kafka_port}"

    @property
    def redis_dir(self) -> Path:
        return Path(self.state_dir).resolve() / f"redis-{self.redis_port}"


def load(**overrides: Any) -> StackConfig:
    return from_env(StackConfig, "SP_STACK", **overrides)
