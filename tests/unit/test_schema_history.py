"""Schema evolution is guarded: every released version of every schema stays readable.

``avro_schemas/fingerprints.json`` lists each schema's released fingerprints, oldest first;
earlier versions live in ``avro_schemas/history/{name}.v{N}.avsc``. A schema changed without a
new entry, or an entry whose version was deleted, fails here, before records already in Kafka
would turn into dead letters (``unknown_schema``) after an upgrade."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_avro_schemas import SCHEMAS, sample
from udfs.avro_codec import HISTORY, SCHEMA_DIR, SchemaRegistry

LOCK = SCHEMA_DIR / "fingerprints.json"
HISTORY_FILES = sorted((SCHEMA_DIR / HISTORY).glob("*.avsc"))


def released() -> dict[str, list[str]]:
    return json.loads(LOCK.read_text())


def registered(reg: SchemaRegistry, fp: str) -> bool:
    try:
        reg.by_fingerprint(bytes.fromhex(fp))
    except KeyError:
        return False
    return True


def fingerprint_of(reg: SchemaRegistry, path: Path) -> str:
    return reg.register(json.loads(path.read_text())).hex()


@pytest.mark.parametrize("name", SCHEMAS)
def test_the_current_version_is_the_newest_released_one(name: str) -> None:
    current = SchemaRegistry().fingerprint(name).hex()
    versions = released().get(name, [])
    assert versions and versions[-1] == current, (
        f"{name}.avsc changed (fingerprint {current}): keep the released version as "
        f"{HISTORY}/{name}.v{len(versions)}.avsc and append {current} to {LOCK.name}")


def test_every_released_version_is_registered() -> None:
    reg = SchemaRegistry()
    missing = [(name, fp) for name, fps in released().items() for fp in fps if not registered(reg, fp)]
    assert missing == [], "a released version's file is gone: records written with it would be dead letters"
    assert sorted(released()) == SCHEMAS


def test_history_files_are_named_for_their_schema_and_listed_in_order() -> None:
    reg = SchemaRegistry()
    for path in HISTORY_FILES:
        match = re.fullmatch(r"(\w+)\.v(\d+)", path.stem)
        assert match and match[1] in SCHEMAS, f"{path.name}: expected <schema>.v<N>.avsc of a current schema"
        versions = released()[match[1]]
        assert versions.index(fingerprint_of(reg, path)) == int(match[2]) - 1, f"{path.name} is not version {match[2]}"
        assert json.loads(path.read_text())["name"] == reg.schema(match[1])["name"].rsplit(".", 1)[-1]


def test_records_of_each_earlier_version_are_read_into_the_current_one() -> None:
    reg = SchemaRegistry()
    for path in HISTORY_FILES:
        old_schema = json.loads(path.read_text())
        writer = reg.by_fingerprint(bytes.fromhex(fingerprint_of(reg, path)))
        record: dict[str, Any] = sample(old_schema, {})
        name = path.stem.split(".")[0]
        decoded = reg.decode(reg.encode(name, record, schema=writer), name)
        assert {k: decoded[k] for k in record} == record, path.name
        current = json.loads((SCHEMA_DIR / f"{name}.avsc").read_text())
        added = [f for f in current["fields"] if f["name"] not in record]
        assert all(decoded[f["name"]] == f["default"] for f in added), f"{path.name}: added fields take their defaults"


def test_an_erasure_confirmation_of_version_1_is_read_with_no_devices() -> None:
    reg = SchemaRegistry()
    v1 = reg.by_fingerprint(bytes.fromhex(released()["erasure_confirmation"][0]))
    done = {"request_id": "r1", "user_id": "u1", "stores": ["flink_state"], "completed_at": 5}
    assert reg.decode(reg.encode("erasure_confirmation", done, schema=v1), "erasure_confirmation") == {
        **done, "anonymous_ids": []}
