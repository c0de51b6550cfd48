"""Control inputs of the per-user stage: profiles, consent and erasure requests from Kafka.

Each record is decoded with its schema into ("profile" | "consent" | "erase", payload); one that
does not decode becomes a dead letter (side output ``DLQ``), never an exception.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pyflink.common import Row
from pyflink.datastream import DataStream, ProcessFunction

from pipelines.config import JobConfig
from pipelines.kafka_io import keyed
from udfs.avro_codec import DecodeError, registry
from udfs.ingest import dead_letter
from udfs.ingest_config import IngestConfig, Problem
from udfs.operators.ingest import DLQ, now_ms

SCHEMAS = {"profile": "user_profile", "consent": "consent_record", "erase": "erasure_request"}


class DecodeControl(ProcessFunction):
    def __init__(self, kind: str, topic: str, ingest: IngestConfig) -> None:
        self.kind, self.topic, self.ingest = kind, topic, ingest

    def process_element(self, row: Row, ctx: ProcessFunction.Context) -> Iterator[Any]:
        raw = bytes(row[0])
        try:
            yield self.kind, registry().decode(raw, SCHEMAS[self.kind])
        except DecodeError as err:
            problem = Problem(err.reason, f"{self.kind} record: {err.detail}", "decode")
            letter = dead_letter(problem, raw, self.ingest, now_ms(), self.topic, row[1], row[2])
            yield DLQ, keyed(None, registry().encode("dead_letter", letter))


def control_time(value: tuple) -> int:
    """Timestamp of a control record: when it was written."""
    kind, payload = value
    return int(payload["requested_at"] if kind == "erase" else payload["updated_at"])


def kafka_controls(t_env: Any, cfg: JobConfig, ingest: IngestConfig) -> tuple[DataStream, DataStream]:
    """The decoded profiles, consent and erasure topics (one stream), and their dead letters."""
    from pipelines.kafka_io import kafka_source

    streams = []
    for kind, topic in (("profile", cfg.profiles_topic), ("consent", cfg.consent_topic),
                        ("erase", cfg.erasure_topic)):
        raw = kafka_source(t_env, cfg, topic, f"{kind}_src", startup="earliest")
        streams.append(raw.process(DecodeControl(kind, topic, ingest)).name(f"decode-{kind}").uid(f"decode-{kind}"))
    dlq = [s.get_side_output(DLQ) for s in streams]
    return streams[0].union(*streams[1:]), dlq[0].union(*dlq[1:])


def erase_devices(value: tuple) -> Iterator[tuple]:
    """An erasure request -> ("erase", anonymous id, request) for the identity stage."""
    kind, payload = value
    if kind == "erase":
        for anon in payload.get("anonymous_ids", []):
            yield "erase", anon, payload


def fan_out_erasure(value: tuple) -> Iterator[tuple]:
    """Control record -> (kind, key, payload) for the engine; an erasure reaches every id."""
    kind, payload = value
    if kind != "erase":
        yield kind, payload["user_id"], payload
        return
    for key in [payload["user_id"], *payload.get("anonymous_ids", [])]:
        yield "erase", key, payload
