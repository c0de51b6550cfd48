"""Avro bytes of records the job built or normalized itself: clean events and triggers."""
from __future__ import annotations

from typing import Any

from udfs.avro_codec import registry
from udfs.fast_avro import encoder as fast_encoder


def encode_record(schema: str, record: dict[str, Any]) -> bytes:
    """The compiled encoder (``udfs.fast_avro``) writes the same bytes as the codec about 5x
    faster; on a record it cannot write, the codec, which validates, explains the failure."""
    try:
        return fast_encoder(schema)(record)
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError):
        return registry().encode(schema, record)


def encode_clean(event: dict[str, Any]) -> bytes:
    """A normalized event as the clean-events topic carries it (behavior_event.avsc)."""
    return encode_record("behavior_event", event)
