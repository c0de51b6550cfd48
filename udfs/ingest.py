"""The ingestion stage of the job as pure functions: raw Kafka bytes -> normalized event or dead letter.

``process_raw`` runs decode -> validate -> normalize on one record and returns
``("event", event)`` or ``("dlq", dead_letter)``; the dead letter matches ``dead_letter.avsc``
(reason, detail naming the field, stage, source coordinates, the original bytes up to a cap).
It never raises: a record that trips an unexpected error becomes an ``internal_error`` dead
letter, so bad input can neither kill the job nor vanish. Dedup (``udfs.dedup``) follows in
keyed state; ``is_late`` and ``late_dead_letter`` serve the event-time side output.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from udfs.avro_codec import DecodeError, registry
from udfs.envconfig import from_env
from udfs.ingest_config import INGEST_ENV_PREFIX, IngestConfig, Problem
from udfs.ingest_validate import validate
from udfs.normalize import normalize_event

__all__ = ["INGEST_ENV_PREFIX", "IngestConfig", "Problem", "dead_letter", "is_late", "late_dead_letter",
           "load_ingest_config", "process_raw"]

EVENT_SCHEMA = "behavior_event"
_UNKNOWN_SYMBOL = "not found in reader symbol list"
MAX_DETAIL_CHARS = 1_000  # details quote field values, which can be as long as the message


def load_ingest_config(environ: Mapping[str, str] | None = None, **overrides: Any) -> IngestConfig:
    """IngestConfig from defaults, ``SP_INGEST_*`` variables, then keyword overrides."""
    return from_env(IngestConfig, INGEST_ENV_PREFIX, environ, **overrides)


def dead_letter(problem: Problem, original: bytes, cfg: IngestConfig, now_ms: int, topic: str | None = None,
                partition: int | None = None, offset: int | None = None) -> dict[str, Any]:
    """A dead_letter.avsc record for ``problem``; ``original`` is kept up to the configured cap."""
    return {"reason": problem.reason, "detail": problem.detail[:MAX_DETAIL_CHARS], "stage": problem.stage,
            "source_topic": topic, "source_partition": partition, "source_offset": offset,
            "original": bytes(original[:cfg.dlq_original_max_bytes]), "original_size": len(original),
            "failed_at": now_ms}


def _decode_problem(err: DecodeError) -> Problem:
    """Codec reasons pass through, except an enum symbol this reader lacks, which gets its own code."""
    reason = err.reason
    if reason == "invalid_avro" and _UNKNOWN_SYMBOL in err.detail:
        reason = "unknown_event_type" if "EventType" in err.detail else "unknown_enum_symbol"
    return Problem(reason, err.detail, "decode")


def _decode(raw: bytes, cfg: IngestConfig) -> dict[str, Any] | Problem:
    if not raw:
        return Problem("empty_message", "the record has no value (empty or tombstone)", "decode")
    if len(raw) > cfg.max_message_bytes:
        detail = f"message of {len(raw)} bytes is over the {cfg.max_message_bytes} byte cap"
        return Problem("oversized", detail, "decode")
    try:
        return registry().decode(raw, EVENT_SCHEMA)
    except DecodeError as err:
        return _decode_problem(err)


def _as_bytes(raw: object) -> bytes:
    """Kafka gives bytes (or None for a tombstone); anything else is kept as its UTF-8 text."""
    if raw is None:
        return b""
    if isinstance(raw, bytes | bytearray | memoryview):
        return bytes(raw)
    return str(raw).encode("utf-8", "replace")


def _run(raw: bytes, cfg: IngestConfig, now_ms: int) -> dict[str, Any] | Problem:
    event = _decode(raw, cfg)
    if isinstance(event, Problem):
        return event
    problems = validate(event, cfg, now_ms)
    if problems:
        first = problems[0]
        return Problem(first.reason, "; ".join(p.detail for p in problems), "validate")
    return normalize_event(event, cfg)


def process_raw(raw: bytes, cfg: IngestConfig, now_ms: int, topic: str | None = None,
                partition: int | None = None, offset: int | None = None) -> tuple[str, dict[str, Any]]:
    """("event", normalized event) or ("dlq", dead letter) for one Kafka record value; never raises."""
    data = _as_bytes(raw)
    try:
        result = _run(data, cfg, now_ms)
    except Exception as exc:  # the last line of defence: a bug or an input no check foresaw
        result = Problem("internal_error", f"{type(exc).__name__}: {str(exc)[:300]}", "ingest")
    if isinstance(result, Problem):
        return "dlq", dead_letter(result, data, cfg, now_ms, topic, partition, offset)
    return "event", result


def is_late(event_time: int, watermark: int, allowed_lateness: int) -> bool:
    """True when the event is behind the watermark by more than the allowed lateness.

    Flink's rule: a watermark W promises no more timestamps <= W, and a window is dropped once
    its end + lateness <= W; so an event is too late when event_time + allowed_lateness <= W.
    """
    return event_time + allowed_lateness <= watermark


def late_dead_letter(event: Mapping[str, Any], watermark: int, now_ms: int, cfg: IngestConfig,
                     original: bytes | None = None, topic: str | None = None, partition: int | None = None,
                     offset: int | None = None) -> dict[str, Any]:
    """Dead letter (stage "late") for an event beyond the allowed lateness; never raises.

    ``original`` defaults to the event re-encoded as behavior_event (the raw bytes are usually
    gone by the time an event is found late).
    """
    ts = event.get("event_time")
    lag = f"{watermark - ts} ms" if isinstance(ts, int) else "an unknown time"
    problem = Problem("late_event", f"event_time={ts} is {lag} behind the watermark {watermark} "
                      f"(allowed lateness {cfg.allowed_lateness_ms} ms)", "late")
    if original is None:
        try:
            original = registry().encode(EVENT_SCHEMA, dict(event))
        except Exception as exc:  # an event that no longer fits the schema still gets its dead letter
            original = repr(dict(event)).encode("utf-8", "replace")
            detail = f"{problem.detail}; not re-encodable: {type(exc).__name__}"
            problem = Problem(problem.reason, detail, "late")
    return dead_letter(problem, original, cfg, now_ms, topic, partition, offset)
