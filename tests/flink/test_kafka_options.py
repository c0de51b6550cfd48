"""The Kafka sources' options: where they start, where a bounded run stops, and when a quiet
partition may stop holding event time."""
from __future__ import annotations

from pipelines.config import load_job_config
from pipelines.kafka_io import source_options
from udfs.ingest_config import IngestConfig


def test_a_live_source_declares_quiet_partitions_idle_after_the_ingest_idleness() -> None:
    cfg = load_job_config(bounded=False)
    opts = source_options(cfg, cfg.events_topic, ingest=IngestConfig(idleness_ms=7_000))
    assert opts["scan.watermark.idle-timeout"] == "7000 ms"
    assert "scan.bounded.mode" not in opts


def test_a_bounded_run_never_declares_a_partition_idle() -> None:
    """Every partition of a bounded run ends (an empty one at once); declared idle, a control topic
    slow to deliver its first consents would fall behind the events' watermark, and the consents
    would apply after the events they gate (a replay then emitted no trigger at all)."""
    cfg = load_job_config(bounded=True)
    for topic, startup in ((cfg.events_topic, None), (cfg.consent_topic, "earliest")):
        opts = source_options(cfg, topic, startup, IngestConfig(idleness_ms=7_000))
        assert opts["scan.bounded.mode"] == "latest-offset"
        assert "scan.watermark.idle-timeout" not in opts


def test_controls_start_at_the_earliest_offset_whatever_the_events_do() -> None:
    cfg = load_job_config(starting_offsets="latest", start_offsets="partition:0,offset:5")
    assert source_options(cfg, cfg.consent_topic, "earliest")["scan.startup.mode"] == "earliest-offset"
    events = source_options(cfg, cfg.events_topic)
    assert events["scan.startup.mode"] == "specific-offsets"
    assert events["scan.startup.specific-offsets"] == "partition:0,offset:5"
