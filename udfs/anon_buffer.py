"""The events an anonymous device sent before its login, kept compactly until the login.

Each entry is the event's time (8 bytes) followed by the event as Avro (the clean-topic
encoding, about 170 bytes against 500 for a pickled dict), so the device-keyed stage appends
one small entry per event to a list state instead of re-pickling the whole buffer, purges by
time without decoding, and decodes only at the login that replays them.
"""
from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

from udfs.avro_codec import registry
from udfs.clean import encode_clean

_TIME = struct.Struct("<q")


def entry(event: dict[str, Any]) -> bytes:
    """One buffered event."""
    return _TIME.pack(int(event["event_time"])) + encode_clean(event)


def time_of(item: bytes) -> int:
    return int(_TIME.unpack_from(item)[0])


def event_of(item: bytes) -> dict[str, Any]:
    return registry().decode(bytes(item[_TIME.size:]), "behavior_event")


def after(items: Iterable[bytes], horizon: int) -> list[bytes]:
    """The entries newer than ``horizon``."""
    return [item for item in items if time_of(item) > horizon]
