"""Flink functions of the ingestion stage: decode/validate/normalize, then dedup and lateness.

All decisions are made by the pure functions in ``udfs.ingest`` and ``udfs.dedup``; these
classes only move records, keep keyed state and count. Bad records leave through the ``DLQ``
side output as ready-to-produce Kafka rows, never as exceptions.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from pyflink.common import Row
from pyflink.common.time import Time
from pyflink.datastream import KeyedProcessFunction, OutputTag, ProcessFunction, RuntimeContext
from pyflink.common.watermark_strategy import TimestampAssigner
from pyflink.common.typeinfo import Types
from pyflink.datastream.state import MapStateDescriptor, StateTtlConfig

from pipelines.kafka_io import KEYED_OUT, keyed
from udfs.avro_codec import registry
from udfs.dedup import dedup_key
from udfs.ingest import is_late, late_dead_letter, process_raw
from udfs.ingest_config import IngestConfig

DLQ = OutputTag("dlq", KEYED_OUT)


def user_key(event: dict[str, Any]) -> str:
    """Partitioning key of an event: the user, else the anonymous id."""
    return event.get("user_id") or event["anonymous_id"]


def now_ms() -> int:
    return int(time.time() * 1000)


class IngestFunction(ProcessFunction):
    """Raw Kafka row -> normalized event dict, or a dead letter on the DLQ side output."""

    def __init__(self, cfg: IngestConfig, topic: str) -> None:
        self.cfg = cfg
        self.topic = topic

    def open(self, runtime_context: RuntimeContext) -> None:
        registry()
        group = runtime_context.get_metrics_group()
        self.accepted = group.counter("events_accepted")
        self.rejected = group.counter("events_rejected")

    def process_element(self, row: Row, ctx: ProcessFunction.Context) -> Iterator[Any]:
        kind, record = process_raw(bytes(row[0]), self.cfg, now_ms(), self.topic, row[1], row[2])
        if kind == "event":
            self.accepted.inc()
            yield record
        else:
            self.rejected.inc()
            yield DLQ, keyed(None, registry().encode("dead_letter", record))


class EventTimeAssigner(TimestampAssigner):
    def extract_timestamp(self, value: Any, record_timestamp: int) -> int:
        return int(value["event_time"])


class DedupFunction(KeyedProcessFunction):
    """Per user key: drops events already seen (by id or fingerprint) and routes late ones."""

    def __init__(self, cfg: IngestConfig) -> None:
        self.cfg = cfg

    def open(self, runtime_context: RuntimeContext) -> None:
        ttl = (StateTtlConfig.new_builder(Time.milliseconds(self.cfg.dedup_ttl_ms))
               .set_update_type(StateTtlConfig.UpdateType.OnCreateAndWrite)
               .set_state_visibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
               .cleanup_full_snapshot().build())
        desc = MapStateDescriptor("seen", Types.STRING(), Types.LONG())
        desc.enable_time_to_live(ttl)
        self.seen = runtime_context.get_map_state(desc)
        group = runtime_context.get_metrics_group()
        self.duplicates = group.counter("events_duplicate")
        self.late = group.counter("events_late")

    def process_element(self, event: dict[str, Any], ctx: KeyedProcessFunction.Context) -> Iterator[Any]:
        watermark = ctx.timer_service().current_watermark()
        if is_late(event["event_time"], watermark, self.cfg.allowed_lateness_ms):
            self.late.inc()
            letter = late_dead_letter(event, watermark, self.cfg, now_ms())
            yield DLQ, keyed(None, registry().encode("dead_letter", letter))
            return
        key = dedup_key(event)
        if self.seen.contains(key):
            self.duplicates.inc()
            return
        self.seen.put(key, event["event_time"])
        yield event
