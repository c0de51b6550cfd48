"""The same job on a standalone Flink session cluster, submitted with ``flink run -py``."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.stack import flink_cluster
from services.stack.config import StackConfig
from tests.integration.test_job_kafka import TOPIC_FIELDS, job_config, shoppers
from udfs.avro_codec import registry

pytestmark = [pytest.mark.integration, pytest.mark.cluster]
REST_PORT = int(os.environ.get("SP_TEST_FLINK_PORT", "18081"))


@pytest.fixture(scope="module")
def cluster(stack_config: StackConfig) -> Iterator[Path]:
    conf = flink_cluster.write_conf(stack_config, REST_PORT)
    flink_cluster.stop(conf)
    conf = flink_cluster.start(stack_config, REST_PORT)
    yield conf
    flink_cluster.stop(conf)


def test_flink_run_py_processes_the_topic_on_a_session_cluster(kafka: Any, cluster: Path) -> None:
    cfg = job_config(kafka)
    events = shoppers(8, seed=21)
    kafka.produce(cfg.events_topic, [registry().encode("behavior_event", e) for e in events] + [b"junk"])
    settings = {name: getattr(cfg, name) for name in (*TOPIC_FIELDS, "bootstrap_servers", "group_id", "mode")}
    settings.update(starting_offsets="earliest", checkpoint_interval_ms=0, redis_url="")
    env = {f"SP_JOB_{k.upper()}": str(v) for k, v in settings.items()}
    done = flink_cluster.submit(cluster, REST_PORT, ["--bounded"], env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    clean = [registry().decode(v, "behavior_event") for _, v in kafka.consume(cfg.clean_topic, timeout_s=10)]
    dlq = [registry().decode(v, "dead_letter") for _, v in kafka.consume(cfg.dlq_topic, len(events), timeout_s=10)]
    assert sorted(e["event_id"] for e in clean) == sorted(e["event_id"] for e in events)
    assert [d["reason"] for d in dlq] == ["not_avro"]
