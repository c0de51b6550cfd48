"""Control records of the per-user stage: profiles, consent and erasure requests.

They arrive on their own (compacted) topics, united with the events before the first Python
operator; ``decode_control`` turns one into (kind, payload) or a Problem for the dead-letter
topic. ``erase_devices`` / ``fan_out_erasure`` route an erasure to every key that holds state, and
``erasure_confirmation`` encodes what the job emits once it has run.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from udfs.avro_codec import DecodeError, registry
from udfs.ingest_config import Problem

SCHEMAS = {"profile": "user_profile", "consent": "consent_record", "erase": "erasure_request"}


def decode_control(kind: str, raw: bytes) -> dict[str, Any] | Problem:
    try:
        return registry().decode(raw, SCHEMAS[kind])
    except DecodeError as err:
        return Problem(err.reason, f"{kind} record: {err.detail}", "decode")


def erased_ids(user_id: Any, devices: Iterable[Any] = ()) -> set[str]:
    """The ids an erasure covers (its user and devices), non-empty, as text: what the job erases,
    and what the delivery services and the storefront cut off."""
    return {str(i) for i in (user_id, *devices) if i}


def erase_devices(value: tuple) -> Iterator[tuple]:
    """An erasure request -> ("erase-device", anonymous id, request) for the device-keyed stage."""
    kind, _, payload = value
    if kind == "erase":
        for anon in payload.get("anonymous_ids", []):
            yield "erase-device", anon, payload


def fan_out_erasure(value: tuple) -> Iterator[tuple]:
    """Control record -> (kind, key, payload) for the user-keyed stage; an erasure reaches every
    id (each acknowledges, and ``udfs.erasure_acks`` confirms the request once all have)."""
    kind, key, payload = value
    if kind != "erase":
        yield value
        return
    for k in [*payload.get("anonymous_ids", []), payload["user_id"]]:
        yield "erase", k, payload


def erasure_confirmation(request: dict[str, Any], stores: list[str], completed_at: int) -> bytes:
    """erasure_confirmation.avsc for ``request``: the user, its devices and the stores wiped."""
    return registry().encode("erasure_confirmation", {
        "request_id": request["request_id"], "user_id": request["user_id"],
        "anonymous_ids": list(request.get("anonymous_ids") or ()), "stores": stores, "completed_at": completed_at})
