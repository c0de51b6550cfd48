"""The clean event as it goes to the clean-events topic: Avro bytes of a normalized event."""
from __future__ import annotations

from typing import Any

from udfs.avro_codec import registry
from udfs.fast_avro import encoder as fast_encoder


def encode_clean(event: dict[str, Any]) -> bytes:
    """The compiled encoder (``udfs.fast_avro``) writes the same bytes as the codec about 5x
    faster; on a record it cannot write, the codec, which validates, explains the failure."""
    try:
        return fast_encoder("behavior_event")(event)
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError):
        return registry().encode("behavior_event", event)
