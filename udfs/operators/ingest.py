"""Flink functions of the ingestion stage: decode/validate/normalize, then dedup and lateness.

All decisions are made by the pure functions in ``udfs.ingest`` and ``udfs.dedup``; these
classes only move records, keep keyed state and count. Bad records travel on as
("dlq", spreading key, dead-letter bytes) records, never as exceptions, and leave the job by the engine's
routed output: neither operator has a side output, so each chains with the Python key selector
after it and every event crosses between Java and Python three times in all (see ``pipelines.job``).
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from pyflink.common import Row
from pyflink.common.typeinfo import Types
from pyflink.common.watermark_strategy import TimestampAssigner
from pyflink.datastream import KeyedProcessFunction, ProcessFunction, RuntimeContext
from pyflink.datastream.state import ListStateDescriptor, ValueStateDescriptor

from udfs import anon_buffer, seen_set
from udfs.avro_codec import registry
from udfs.controls import decode_control, erase_devices, fan_out_erasure
from udfs.counters import batched
from udfs.dedup import dedup_key
from udfs.event_time import control_time
from udfs.ingest import dead_letter, is_late, late_dead_letter, process_raw
from udfs.ingest_config import IngestConfig, Problem


def now_ms() -> int:
    return int(time.time() * 1000)


def dlq_record(letter: dict[str, Any], key: str) -> tuple:
    """A dead letter on its way to the dead-letter topic, as a record of the job's stages; ``key``
    only spreads dead letters over the keyed stages' subtasks (no state is kept for it)."""
    return "dlq", key, registry().encode("dead_letter", letter)


class IngestFunction(ProcessFunction):
    """Raw Kafka row -> (kind, key, record) for the device-keyed stage, or a dead letter.

    Events become ("event", anonymous id, normalized event); profile and consent records
    (kind, user id, record), which the next stage passes on to the user-keyed one; an erasure
    ("erase-device", anonymous id, request) for each device it names and ("erase", key, request)
    for each key of the user-keyed stage."""

    def __init__(self, cfg: IngestConfig, topics: dict[str, str]) -> None:
        self.cfg = cfg
        self.topics = topics

    def open(self, runtime_context: RuntimeContext) -> None:
        registry()
        group = runtime_context.get_metrics_group()
        self.accepted, self.rejected = batched(group.counter("events_accepted"), group.counter("records_rejected"))

    def close(self) -> None:
        self.accepted.flush()
        self.rejected.flush()

    def process_element(self, row: Row, ctx: ProcessFunction.Context) -> Iterator[Any]:
        kind, raw = row[0], bytes(row[1])
        topic = self.topics.get(kind)
        if kind == "event":
            outcome, record = process_raw(raw, self.cfg, now_ms(), topic, row[2], row[3])
            if outcome == "event":
                self.accepted.inc()
                yield "event", record["anonymous_id"], record
                return
        else:
            decoded = decode_control(kind, raw)
            if not isinstance(decoded, Problem):
                control = (kind, decoded["user_id"], decoded)
                yield from erase_devices(control)
                yield from fan_out_erasure(control)
                return
            record = dead_letter(decoded, raw, self.cfg, now_ms(), topic, row[2], row[3])
        self.rejected.inc()
        yield dlq_record(record, f"dlq:{row[2]}:{(row[3] or 0) % 64}")


class RecordTimeAssigner(TimestampAssigner):
    """Event time of events; write time of control records; dead letters hold no time."""

    def extract_timestamp(self, value: Any, record_timestamp: int) -> int:
        kind, _, payload = value
        if kind == "dlq":
            return max(record_timestamp, 0)
        return int(payload["event_time"]) if kind == "event" else control_time(kind.removesuffix("-device"), payload)


def expiry_bucket(ts: int, ttl_ms: int) -> int:
    """The cleanup timer for an entry seen at ``ts``: ``ts + ttl`` rounded up to a ttl/8 step,
    so a busy key registers at most about eight cleanup timers per TTL."""
    step = max(1, ttl_ms // 8)
    return -(-(ts + ttl_ms) // step) * step


class IdentityDedupFunction(KeyedProcessFunction):
    """Keyed by anonymous id: drops duplicates and late events, and links devices to users.

    Input: ("event", anonymous id, event), ("erase-device", anonymous id, request), or a record
    for the user-keyed stage (control or dead letter), which passes through unchanged.
    Output: ("event" | "replay", user key, event), ("handoff", anonymous id, user id),
    ("dlq", device, dead letter) for a late event, and the passed-through records.

    Until a login (an event with a user id) the device's events are also buffered (bounded); at
    the login they are replayed to the user's key and the anonymous key's engine state is handed
    off, so the session's earlier activity counts for the user. Later events of the device
    without a user id are attributed to the linked user.

    Seen keys live packed in one value (``udfs.seen_set``: 16 bytes each, with their event time)
    and are purged after ``dedup_ttl_ms`` by one event-time timer per device (Flink's state TTL
    cannot be configured from thread-mode Python on a session cluster), so an idle device's
    dedup state drops to nothing.
    """

    def __init__(self, cfg: IngestConfig, buffer_max: int = 50) -> None:
        self.cfg = cfg
        self.buffer_max = buffer_max

    def open(self, runtime_context: RuntimeContext) -> None:
        self.seen = runtime_context.get_state(ValueStateDescriptor("seen-packed", Types.PICKLED_BYTE_ARRAY()))
        self.link = runtime_context.get_state(ValueStateDescriptor("user", Types.STRING()))
        # one compact entry per event (udfs.anon_buffer), appended without reading the rest
        self.buffer = runtime_context.get_list_state(ListStateDescriptor("anon-buffer", Types.PICKLED_BYTE_ARRAY()))
        group = runtime_context.get_metrics_group()
        self.duplicates, self.late = batched(group.counter("events_duplicate"), group.counter("events_late"))

    def close(self) -> None:
        self.duplicates.flush()
        self.late.flush()

    def process_element(self, value: tuple, ctx: KeyedProcessFunction.Context) -> Iterator[Any]:
        if value[0] != "event":
            if value[0] == "erase-device":
                self.seen.clear()
                self.link.clear()
                self.buffer.clear()
            else:
                yield value
            return
        event = value[2]
        watermark = ctx.timer_service().current_watermark()
        if is_late(event["event_time"], watermark, self.cfg.allowed_lateness_ms):
            self.late.inc()
            yield dlq_record(late_dead_letter(event, watermark, now_ms=now_ms(), cfg=self.cfg), value[1])
            return
        key, packed = dedup_key(event), self._seen()
        if seen_set.contains(packed, key):
            self.duplicates.inc()
            return
        if not packed:  # the device's one cleanup timer, moved on as entries expire
            ctx.timer_service().register_event_time_timer(expiry_bucket(event["event_time"], self.cfg.dedup_ttl_ms))
        self.seen.update(seen_set.add(packed, key, event["event_time"]))
        yield from self._resolve(event, len(packed) // seen_set.SIZE)

    def _resolve(self, event: dict[str, Any], earlier_events: int) -> Iterator[tuple]:
        linked, user = self.link.value(), event.get("user_id")
        if user is None and linked is not None:
            event = dict(event, user_id=linked)  # the device is known to belong to this user
        elif user is not None and user != linked:
            self.link.update(user)
            for item in list(self.buffer.get() or [])[-self.buffer_max:]:
                yield "replay", user, dict(anon_buffer.event_of(item), user_id=user)
            if linked is None:
                yield "handoff", event["anonymous_id"], user
            self.buffer.clear()
        elif user is None:
            self._buffer(event, earlier_events)
        yield "event", event.get("user_id") or event["anonymous_id"], event

    def _buffer(self, event: dict[str, Any], earlier_events: int) -> None:
        """Append; every ``buffer_max`` events (counted by the seen set) cut to the latest, so the
        list stays under twice the bound and the login replays at most ``buffer_max``."""
        if earlier_events and earlier_events % self.buffer_max == 0:
            kept = list(self.buffer.get() or [])[-(self.buffer_max - 1):]
            self.buffer.update([*kept, anon_buffer.entry(event)])
        else:
            self.buffer.add(anon_buffer.entry(event))

    def _seen(self) -> bytes:
        packed = self.seen.value()
        return bytes(packed) if packed else b""

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext) -> Iterator[Any]:
        horizon = timestamp - self.cfg.dedup_ttl_ms
        packed = self._seen()
        kept = seen_set.purge(packed, horizon)
        if len(kept) == len(packed):
            return iter(())
        if kept:
            self.seen.update(kept)
            ctx.timer_service().register_event_time_timer(
                expiry_bucket(seen_set.oldest(kept) or timestamp, self.cfg.dedup_ttl_ms))
        else:
            self.seen.clear()
        items = list(self.buffer.get() or [])
        buffered = anon_buffer.after(items, horizon)
        if not buffered:
            self.buffer.clear()
        elif len(buffered) < len(items):
            self.buffer.update(buffered)
        return iter(())
