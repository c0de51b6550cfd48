"""Every schema in avro_schemas/ round-trips; versions resolve both ways (schema evolution)."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fastavro.schema import fingerprint, to_parsing_canonical_form

from udfs.avro_codec import SCHEMA_DIR, DecodeError, SchemaRegistry, rabin_fingerprint

SCHEMAS = sorted(p.stem for p in SCHEMA_DIR.glob("*.avsc"))


def sample(schema: Any, names: dict[str, Any], depth: int = 0) -> Any:
    """A value for ``schema`` with every optional branch filled (the non-null union member)."""
    if isinstance(schema, str):
        prims = {"string": f"s{depth}", "long": 1_767_225_600_000 + depth, "int": 3 + depth,
                 "double": 12.5 + depth, "float": 1.5, "boolean": True, "bytes": b"\x00\xffraw"}
        return prims[schema] if schema in prims else sample(names[schema], names, depth)
    if isinstance(schema, list):
        return sample(next(s for s in schema if s != "null"), names, depth + 1)
    kind = schema["type"]
    if kind == "record":
        names[schema["name"]] = schema
        return {f["name"]: sample(f["type"], names, depth + 1) for f in schema["fields"]}
    if kind == "enum":
        names[schema["name"]] = schema
        return schema["symbols"][-1]
    if kind == "array":
        return [sample(schema["items"], names, depth + 1) for _ in range(2)]
    if kind == "map":
        return {"k1": sample(schema["values"], names, depth + 1)}
    return sample(kind, names, depth)


def load(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / f"{name}.avsc").read_text())


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_schema_round_trips_a_fully_populated_record(name: str) -> None:
    reg = SchemaRegistry()
    record = sample(load(name), {})
    assert reg.decode(reg.encode(name, record), name) == record


def test_the_fingerprint_is_avro_crc64_little_endian() -> None:
    reg = SchemaRegistry()
    canonical = to_parsing_canonical_form(reg.schema("behavior_event"))
    assert rabin_fingerprint(canonical.encode()).to_bytes(8, "little").hex() == fingerprint(canonical, "CRC-64-AVRO")
    assert reg.fingerprint("behavior_event") == reg.encode("behavior_event", sample(load("behavior_event"), {}))[2:10]


def older_event_schema() -> dict[str, Any]:
    """behavior_event as it was before ``device`` and ``attributes`` were added."""
    schema = copy.deepcopy(load("behavior_event"))
    schema["fields"] = [f for f in schema["fields"] if f["name"] not in ("device", "attributes")]
    return schema


def newer_event_schema() -> dict[str, Any]:
    """behavior_event with a field added later, with a default."""
    schema = copy.deepcopy(load("behavior_event"))
    schema["fields"].append({"name": "experiment", "type": ["null", "string"], "default": None})
    return schema


def test_a_reader_with_the_newer_schema_reads_old_records_filling_defaults() -> None:
    reg = SchemaRegistry()
    old = reg.register(older_event_schema())
    record = {k: v for k, v in sample(load("behavior_event"), {}).items() if k not in ("device", "attributes")}
    message = reg.encode("behavior_event", record, schema=reg.by_fingerprint(old))
    decoded = reg.decode(message, "behavior_event")
    assert decoded["device"] is None and decoded["attributes"] == {}
    assert decoded["event_id"] == record["event_id"]


def test_an_old_reader_ignores_fields_added_with_defaults() -> None:
    reg = SchemaRegistry()
    new = reg.register(newer_event_schema())
    record = dict(sample(load("behavior_event"), {}), experiment="exp-42")
    message = reg.encode("behavior_event", record, schema=reg.by_fingerprint(new))
    decoded = reg.decode(message, "behavior_event")
    assert "experiment" not in decoded
    assert decoded == {k: v for k, v in record.items() if k != "experiment"}


def test_an_unregistered_writer_schema_is_refused_with_a_reason() -> None:
    writer = SchemaRegistry()
    fp = writer.register(newer_event_schema())
    message = writer.encode("behavior_event", dict(sample(load("behavior_event"), {}), experiment=None),
                            schema=writer.by_fingerprint(fp))
    with pytest.raises(DecodeError) as err:
        SchemaRegistry().decode(message, "behavior_event")
    assert err.value.reason == "unknown_schema"


def test_schema_files_are_the_only_copies() -> None:
    repo = Path(__file__).resolve().parents[2]
    ignored = {".venv", ".state", ".jars"}  # local environment and run state (bench worktrees), not the project
    stray = [p for p in repo.rglob("*.avsc") if SCHEMA_DIR not in p.parents and not ignored & set(p.parts)]
    assert stray == []
