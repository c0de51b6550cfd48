"""A device's recently seen dedup keys, packed into one byte string for one keyed value state.

Each entry is 16 bytes: an 8-byte BLAKE2b hash of the dedup key and the 8-byte event time it
was seen at. Compared with a map state of key strings, a device's state shrinks several times,
a check costs one state read, and cleanup needs one timer per device (at the oldest entry's
expiry) instead of one per event. A false duplicate needs a 64-bit hash collision within one
device's entries: about n^2 / 2^65 for n entries, negligible.
"""
from __future__ import annotations

import hashlib
import struct

_ENTRY = struct.Struct("<8sq")
SIZE = _ENTRY.size


def key_hash(key: str) -> bytes:
    """The 8-byte hash a dedup key is remembered by."""
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()


def contains(packed: bytes | None, key: str) -> bool:
    """True when ``key`` is among the entries of ``packed``."""
    if not packed:
        return False
    digest = key_hash(key)
    return any(packed[i:i + 8] == digest for i in range(0, len(packed), SIZE))


def add(packed: bytes | None, key: str, seen_at: int) -> bytes:
    """``packed`` with ``key`` seen at ``seen_at`` appended."""
    return (packed or b"") + _ENTRY.pack(key_hash(key), seen_at)


def purge(packed: bytes | None, horizon: int) -> bytes:
    """The entries seen after ``horizon`` (older ones are forgotten)."""
    if not packed:
        return b""
    return b"".join(packed[i:i + SIZE] for i in range(0, len(packed), SIZE)
                    if _ENTRY.unpack_from(packed, i)[1] > horizon)


def oldest(packed: bytes | None) -> int | None:
    """The earliest time an entry was seen, or None when there is none."""
    if not packed:
        return None
    return min(_ENTRY.unpack_from(packed, i)[1] for i in range(0, len(packed), SIZE))
