"""Avro single-object encoding for every record on every topic.

Each message is ``C3 01`` + the writer schema's 8-byte CRC-64-AVRO fingerprint (little endian)
+ the Avro binary body (Avro 1.11 specification, "Single object encoding"). The fingerprint
names the writer schema, so a reader resolves records written with an older or newer version of
a schema without a schema registry service: every version it must read is registered here.

Schemas come from ``avro_schemas/*.avsc`` (the one copy of each current version). Every earlier
released version stays readable: it is kept as ``avro_schemas/history/{name}.v{N}.avsc`` and
registered by fingerprint, and ``avro_schemas/fingerprints.json`` lists each schema's released
fingerprints, oldest first (``tests/unit/test_schema_history.py`` fails when a schema changes
without both). Records already in Kafka, written with an earlier version, are then read into
the current one (new fields take their defaults) instead of becoming dead letters. Upgrade the
readers of a topic before its writers: a reader cannot resolve a version newer than its own.
Python code sees timestamps
as epoch-millis ints: ``logicalType`` annotations are stripped for fastavro, which changes no
byte of the encoding (they are not part of the parsing canonical form either).
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import to_parsing_canonical_form

MAGIC = b"\xc3\x01"
HEADER_LEN = len(MAGIC) + 8
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "avro_schemas"
HISTORY = "history"  # earlier released versions, under SCHEMA_DIR

_EMPTY = 0xC15D213AA4D7A795
_TABLE: list[int] = []
for _i in range(256):
    _fp = _i
    for _ in range(8):
        _fp = (_fp >> 1) ^ (_EMPTY & -(_fp & 1))
    _TABLE.append(_fp)


class DecodeError(ValueError):
    """A message that cannot be decoded; ``reason`` is a short code for the dead-letter topic."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def rabin_fingerprint(data: bytes) -> int:
    """CRC-64-AVRO (Rabin) fingerprint of ``data``, as the Avro specification defines it."""
    fp = _EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return fp


def _strip_logical_types(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_logical_types(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [_strip_logical_types(v) for v in node]
    return node


class SchemaRegistry:
    """Schemas by full name and by fingerprint; encodes and decodes single-object messages."""

    def __init__(self, schema_dir: Path = SCHEMA_DIR) -> None:
        self._by_name: dict[str, Any] = {}
        self._by_fp: dict[bytes, Any] = {}
        self._fp_cache: dict[str, bytes] = {}
        for path in sorted(Path(schema_dir).glob("*.avsc")):
            self.register(json.loads(path.read_text()), alias=path.stem)
        for path in sorted((Path(schema_dir) / HISTORY).glob("*.avsc")):  # after: names keep the current
            self.register(json.loads(path.read_text()))

    def register(self, schema_json: dict[str, Any], alias: str | None = None) -> bytes:
        """Register a schema (current or an older/newer version); returns its fingerprint."""
        parsed: Any = fastavro.parse_schema(_strip_logical_types(schema_json))
        fp = self._fp_of(parsed)
        self._by_fp[fp] = parsed
        self._by_name.setdefault(parsed["name"], parsed)
        if alias:
            self._by_name.setdefault(alias, parsed)
        return fp

    def _fp_by_name(self, name: str) -> bytes:
        fp = self._fp_cache.get(name)
        if fp is None:
            fp = self._fp_cache[name] = self.fingerprint(name)
        return fp

    def schema(self, name: str) -> Any:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"unknown schema {name!r}; known: {sorted(self._by_name)}") from None

    @staticmethod
    def _fp_of(schema: Any) -> bytes:
        canonical = to_parsing_canonical_form(schema)
        return rabin_fingerprint(canonical.encode()).to_bytes(8, "little")

    def by_fingerprint(self, fp: bytes) -> Any:
        """The registered schema with fingerprint ``fp`` (KeyError if none)."""
        return self._by_fp[fp]

    def fingerprint(self, name: str) -> bytes:
        return self._fp_of(self.schema(name))

    def encode(self, name: str, record: dict[str, Any], schema: Any = None) -> bytes:
        """Single-object encode ``record`` with schema ``name`` (or an explicit writer schema)."""
        if schema is None:
            writer, fp = self.schema(name), self._fp_by_name(name)
        else:
            writer, fp = schema, self._fp_of(schema)
        buf = io.BytesIO()
        buf.write(MAGIC + fp)
        fastavro.schemaless_writer(buf, writer, record)
        return buf.getvalue()

    def decode(self, data: bytes, reader_name: str) -> dict[str, Any]:
        """Decode a single-object message into the reader schema ``reader_name``.

        Raises DecodeError with reason ``not_avro``, ``unknown_schema`` or ``invalid_avro``.
        """
        if len(data) < HEADER_LEN or data[:2] != MAGIC:
            raise DecodeError("not_avro", "missing Avro single-object header (C3 01)")
        writer = self._by_fp.get(bytes(data[2:HEADER_LEN]))
        if writer is None:
            raise DecodeError("unknown_schema", f"writer fingerprint {data[2:HEADER_LEN].hex()} is not registered")
        reader = self.schema(reader_name)
        buf = io.BytesIO(data[HEADER_LEN:])
        try:
            record = fastavro.schemaless_reader(buf, writer, None if reader is writer else reader)
        except Exception as exc:  # fastavro raises many types for corrupt input
            raise DecodeError("invalid_avro", f"{type(exc).__name__}: {exc}") from None
        if buf.tell() != len(data) - HEADER_LEN:
            raise DecodeError("invalid_avro", f"{len(data) - HEADER_LEN - buf.tell()} trailing bytes after the record")
        if not isinstance(record, dict):
            raise DecodeError("invalid_avro", "body is not a record")
        return record


_DEFAULT: SchemaRegistry | None = None


def registry() -> SchemaRegistry:
    """Process-wide registry of the schemas in avro_schemas/ (loaded once)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = SchemaRegistry()
    return _DEFAULT
