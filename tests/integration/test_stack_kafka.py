"""Records stamped with their own (old) time survive the broker's retention checks: the test
broker checks every 2 s, so a deletion by age would show within a few seconds."""
from __future__ import annotations

import time

import pytest

from services.stack.topics import ensure_topics, topic_specs
from tests.integration.journeys import history
from tests.servers import KafkaHandle
from udfs.avro_codec import registry
from udfs.engine_config import EngineConfig

pytestmark = pytest.mark.integration
MONTHS_AGO = 1_767_261_600_000  # 2026-01-01T10:00:00Z


def test_history_stamped_months_ago_outlives_several_retention_checks(kafka: KafkaHandle) -> None:
    events, _, _ = history(MONTHS_AGO, EngineConfig())
    assert max(e["event_time"] for e in events) < time.time() * 1000 - 30 * 86_400_000
    fresh = kafka.new_topic(prefix="old")  # the broker's defaults
    [spec] = topic_specs({"events": f"events-{fresh}"}, 2)  # the project's topic settings
    ensure_topics(kafka.bootstrap, [spec])
    kafka.created.append(spec.name)
    values = [registry().encode("behavior_event", e) for e in events]
    for topic in (fresh, spec.name):
        kafka.produce(topic, values)
    time.sleep(6)  # three retention checks of the test broker
    for topic in (fresh, spec.name):
        assert len(kafka.consume(topic, expected=len(values), timeout_s=15)) == len(values), topic
