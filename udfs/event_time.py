"""Event time: what a record's time is, and the Kafka timestamp producers give it.

Watermarks come from Kafka record timestamps, computed per partition by the Kafka source on
the Java side (``pipelines.kafka_io``). The contract every producer of the project keeps: the
record timestamp is the record's own time (an event's ``event_time``, a control record's write
time), clamped to the producer's clock, so history replayed into Kafka carries its original
times and a client with a fast clock cannot move event time forward for everyone.
"""
from __future__ import annotations

from typing import Any


def record_timestamp(record_time_ms: int, now_ms: int) -> int:
    """The Kafka timestamp a producer sets: the record's own time, never ahead of the clock."""
    return min(int(record_time_ms), int(now_ms))


def control_time(kind: str, payload: dict[str, Any]) -> int:
    """Timestamp of a control record: when it was written."""
    return int(payload["requested_at"] if kind == "erase" else payload["updated_at"])


def record_time(value: tuple, fallback: int) -> int:
    """The time of a (kind, key, payload) record inside the job: an event's event time, a
    control record's write time, else ``fallback`` (the stream timestamp, e.g. for a handoff)."""
    kind, _, payload = value
    if kind in ("event", "replay"):
        return int(payload["event_time"])
    if kind in ("profile", "consent", "erase"):
        return control_time(kind, payload)
    return int(fallback)


def timestamp_of(raw: bytes, now_ms: int) -> int | None:
    """The Kafka timestamp for an encoded record of the project (its event or write time), or
    None for bytes that are not one, or whose time is ahead of ``now_ms``."""
    from udfs.avro_codec import DecodeError, registry

    for name, time_field in _TIME_FIELDS:
        try:
            record = registry().decode(raw, name)
        except (DecodeError, KeyError, ValueError, TypeError):
            continue
        stamp = record.get(time_field)
        return stamp if isinstance(stamp, int) and stamp <= now_ms else None
    return None


_TIME_FIELDS = (("behavior_event", "event_time"), ("consent_record", "updated_at"),
                ("user_profile", "updated_at"), ("erasure_request", "requested_at"))


class Stamper:
    """Kafka timestamps for a sequence of encoded records being replayed into a topic: each
    record's own time; a record without one (not decodable, or ahead of the clock) gets its
    predecessor's, so a broken or future-stamped record cannot move event time forward."""

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms
        self.last: int | None = None

    def __call__(self, raw: bytes) -> int | None:
        found = timestamp_of(raw, self.now_ms)
        if found is not None:
            self.last = found
        return self.last
