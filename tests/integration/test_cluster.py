"""The same job on a standalone Flink session cluster, submitted with ``flink run -py``, scoring
with the registry's promoted model on the cluster's task manager."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.stack import flink_cluster
from services.stack.config import StackConfig
from tests.integration.journeys import consent
from tests.integration.test_job_kafka import TOPIC_FIELDS, job_config, shoppers
from tests.unit.model_testkit import export_random_model, new_registry
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


def promoted_model(root: Path) -> str:
    """A registry at ``root`` with a small exported model promoted; returns its version."""
    reg = new_registry(root / "registry")
    version = reg.register(export_random_model(root / "export")).version
    reg.promote(version)
    return str(version)


def test_flink_run_py_processes_the_topic_on_a_session_cluster(kafka: Any, cluster: Path, tmp_path: Path) -> None:
    cfg = job_config(kafka)
    events = shoppers(8, seed=21)
    users = sorted({e["user_id"] for e in events if e["user_id"]})
    kafka.produce(cfg.consent_topic, [registry().encode("consent_record", consent(u, events[0]["event_time"] - 60_000))
                                      for u in users], [u.encode() for u in users])
    kafka.produce(cfg.events_topic, [registry().encode("behavior_event", e) for e in events] + [b"junk"])
    version = promoted_model(tmp_path)
    settings = {name: getattr(cfg, name) for name in (*TOPIC_FIELDS, "bootstrap_servers", "group_id", "mode")}
    settings.update(starting_offsets="earliest", checkpoint_interval_ms=0, redis_url="")
    env = {f"SP_JOB_{k.upper()}": str(v) for k, v in settings.items()}
    env["SP_SCORER_REGISTRY"] = str(tmp_path / "registry")
    done = flink_cluster.submit(cluster, REST_PORT, ["--bounded"], env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    triggers = [registry().decode(v, "trigger") for _, v in kafka.consume(cfg.triggers_topic, timeout_s=10)]
    assert triggers and {t["model_version"] for t in triggers} == {version}, "the cluster job did not score"
    assert all(t["scores"] for t in triggers)
    clean = [registry().decode(v, "behavior_event") for _, v in kafka.consume(cfg.clean_topic, timeout_s=10)]
    dlq = [registry().decode(v, "dead_letter") for _, v in kafka.consume(cfg.dlq_topic, len(events), timeout_s=10)]
    assert sorted(e["event_id"] for e in clean) == sorted(e["event_id"] for e in events)
    assert [d["reason"] for d in dlq] == ["not_avro"]
