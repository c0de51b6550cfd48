"""All-or-nothing intake of one request: validate every event, then encode them as Kafka records.

Pure (no I/O): the HTTP layer hands in a ``Payload`` and gets back either the records to produce
(key = user_id, else anonymous_id; value = single-object Avro) or every problem, each with the
event's position, the field and what is wrong.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from udfs.avro_codec import registry
from udfs.event_time import record_timestamp

from .payloads import Payload
from .validation import SCHEMA, Context, Limits, validate_event


@dataclass
class Intake:
    """Records ready to produce, or the problems that refuse the whole request."""

    records: list[tuple[bytes, bytes]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    timestamps: list[int] = field(default_factory=list)  # Kafka record timestamp of each record

    @property
    def ok(self) -> bool:
        return not self.problems


def record_key(event: dict[str, Any]) -> bytes:
    """Partition key: the pseudonymous user when known, else the device's anonymous id."""
    return str(event["user_id"] or event["anonymous_id"]).encode("utf-8")


def context_for(payload: Payload, received_ms: int, key: bytes, limits: Limits) -> Context:
    return Context(received_ms, key, limits, payload.channel, payload.device, dict(payload.attributes))


def take(payload: Payload, ctx: Context) -> Intake:
    """Validate every event; encode all of them only if none has a problem."""
    events: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    for position, raw in payload.items:
        event, found = validate_event(raw, ctx)
        if event is not None:
            events.append(event)
        problems.extend({**position, **p.as_dict()} for p in found)
    if problems:
        return Intake(problems=problems)
    codec = registry()
    return Intake(records=[(record_key(e), codec.encode(SCHEMA, e)) for e in events],
                  timestamps=[record_timestamp(e["event_time"], ctx.received_ms) for e in events])
