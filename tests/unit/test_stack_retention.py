"""The local broker and the project's topics keep records by size, never by age: record
timestamps are event time, so time retention would delete replayed history."""
from __future__ import annotations

from services.stack.config import load
from services.stack.kafka import server_properties
from services.stack.topics import topic_specs


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def test_the_broker_has_no_time_retention_and_a_size_cap() -> None:
    props = _props(server_properties(load(kafka_retention_bytes=12345, kafka_retention_check_ms=777)))
    assert props["log.retention.ms"] == "-1"
    assert props["log.retention.bytes"] == "12345" and props["log.retention.check.interval.ms"] == "777"
    assert props["log.initial.task.delay.ms"] == "777"
    assert not [k for k in props if k.startswith("log.retention.") and k.endswith(("hours", "minutes"))]


def test_stream_topics_turn_time_retention_off_and_control_topics_compact() -> None:
    specs = {s.name: s.topic_configs for s in topic_specs(
        {"events": "e", "clean": "c", "dlq": "d", "triggers": "t", "profiles": "p", "consent": "k"}, 2)}
    for name in ("e", "c", "d", "t"):
        assert specs[name]["retention.ms"] == "-1" and specs[name]["cleanup.policy"] == "delete"
    for name in ("p", "k"):
        assert specs[name]["cleanup.policy"] == "compact" and "retention.ms" not in specs[name]
