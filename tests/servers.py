"""Real Kafka (KRaft) and Redis, started once per test session on their own ports.

The servers come from the project's own stack code (``services.stack``), in ``.state/test``
(``SP_TEST_STATE_DIR``; ports ``SP_TEST_KAFKA_PORT``, ``SP_TEST_CONTROLLER_PORT`` and
``SP_TEST_REDIS_PORT``, so parallel runs do not collide), wiped at the start of each session.
If one cannot start, every test that needs it fails with the server's own log lines: never a skip.
"""
from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from services.stack import kafka as kafka_server
from services.stack import redis_server
from services.stack.config import ROOT, StackConfig, load
from services.stack.topics import ensure_topics
from udfs.event_time import Stamper


def free_port() -> int:
    """A loopback port free at the moment of asking (for servers a test starts itself)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _test_stack() -> StackConfig:
    return load(
        state_dir=os.environ.get("SP_TEST_STATE_DIR", str(ROOT / ".state" / "test")),
        kafka_port=int(os.environ.get("SP_TEST_KAFKA_PORT", "19092")),
        controller_port=int(os.environ.get("SP_TEST_CONTROLLER_PORT", "19093")),
        redis_port=int(os.environ.get("SP_TEST_REDIS_PORT", "16379")),
        # every 2 s, so a topic that would delete old-stamped (replayed) records does so in every run
        kafka_retention_check_ms=2000,
    )


@dataclass
class KafkaHandle:
    """The session's broker, with small helpers for tests."""

    bootstrap: str
    created: list[str] = field(default_factory=list)

    def new_topic(self, partitions: int = 2, prefix: str = "t", compacted: bool = False) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        configs = {"cleanup.policy": "compact"} if compacted else {}
        ensure_topics(self.bootstrap, [NewTopic(name, partitions, 1, topic_configs=configs)])
        self.created.append(name)
        return name

    def produce(self, topic: str, values: Iterable[bytes], keys: Iterable[bytes | None] | None = None) -> int:
        """Records get the project's Kafka timestamps (their own time, ``udfs.event_time``)."""
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=5)
        count, stamp = 0, Stamper(int(time.time() * 1000))
        for value, key in zip(values, keys if keys is not None else _nones(), strict=False):
            producer.send(topic, value=value, key=key, timestamp_ms=stamp(value))
            count += 1
        producer.flush(30)
        producer.close()
        return count

    def consume(self, topic: str, expected: int | None = None, timeout_s: float = 30.0,
                settle_s: float = 0.0) -> list[tuple[bytes | None, bytes]]:
        """Read ``topic`` from the start until ``expected`` records (or timeout); (key, value) pairs."""
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                 isolation_level="read_committed", consumer_timeout_ms=500)
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        records: list[tuple[bytes | None, bytes]] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=300).values():
                records.extend((r.key, r.value) for r in batch)
            if expected is not None and len(records) >= expected:
                if settle_s <= 0:
                    break
                deadline = min(deadline, time.monotonic() + settle_s)
                settle_s = 0
        consumer.close()
        return records


def _nones() -> Iterator[None]:
    while True:
        yield None


@pytest.fixture(scope="session")
def stack_config() -> StackConfig:
    return _test_stack()


@pytest.fixture(scope="session")
def kafka(stack_config: StackConfig) -> Iterator[KafkaHandle]:
    kafka_server.shutdown(stack_config)
    shutil.rmtree(stack_config.kafka_dir, ignore_errors=True)
    kafka_server.start(stack_config)
    yield KafkaHandle(stack_config.bootstrap)
    kafka_server.shutdown(stack_config)


@pytest.fixture(scope="session")
def redis_url(stack_config: StackConfig) -> Iterator[str]:
    redis_server.shutdown(stack_config)
    redis_server.start(stack_config)
    yield stack_config.redis_url
    redis_server.shutdown(stack_config)


@pytest.fixture()
def redis_client(redis_url: str):  # type: ignore[no-untyped-def]
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


__all__ = ["KafkaHandle", "Path"]
