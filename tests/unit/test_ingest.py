"""process_raw end to end (decode -> validate -> normalize), dead letters, lateness, and a fuzz run."""
from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest

import udfs.ingest
from tests.unit.ingest_samples import SAMPLE_NOW_MS, base_event, line, product, rees46_events
from udfs.avro_codec import SCHEMA_DIR, registry
from udfs.ingest import MAX_DETAIL_CHARS, IngestConfig, dead_letter, is_late, late_dead_letter, process_raw
from udfs.ingest_config import Problem

CFG = IngestConfig()
NOW = SAMPLE_NOW_MS


def encode(event: dict[str, Any]) -> bytes:
    return registry().encode("behavior_event", event)


def dlq_of(raw: Any, cfg: IngestConfig = CFG) -> dict[str, Any]:
    kind, record = process_raw(raw, cfg, NOW, "events", 3, 42)
    assert kind == "dlq", record
    assert registry().decode(registry().encode("dead_letter", record), "dead_letter") == record
    return record


def evolved_schema(change: str) -> dict[str, Any]:
    """behavior_event as a newer writer might have it: an extra field or an extra event type."""
    schema = json.loads((SCHEMA_DIR / "behavior_event.avsc").read_text())
    if change == "field":
        schema["fields"].append({"name": "app_build", "type": ["null", "string"], "default": None})
    else:
        schema["fields"][1]["type"]["symbols"].append("wishlist_share")
    return schema


def test_realistic_events_come_out_normalized() -> None:
    results = [process_raw(encode(e), CFG, NOW, "events", 0, i) for i, e in enumerate(rees46_events())]
    assert [kind for kind, _ in results] == ["event"] * 5
    water_heater = results[1][1]
    assert water_heater["product"]["category"] == "appliances/environment/water_heater"
    assert water_heater["product"]["price"] == pytest.approx(33.20 * 0.92)
    assert water_heater["attributes"]["original_currency"] == "USD"
    for _, event in results:
        assert registry().decode(encode(event), "behavior_event") == event


def test_validation_dead_letter_carries_every_problem_and_the_source() -> None:
    raw = encode(base_event(event_type="rating", anonymous_id=" ", rating=9, product=product()))
    letter = dlq_of(raw)
    assert (letter["stage"], letter["reason"]) == ("validate", "missing_anonymous_id")
    assert "anonymous_id" in letter["detail"] and "rating=9" in letter["detail"]
    assert (letter["source_topic"], letter["source_partition"], letter["source_offset"]) == ("events", 3, 42)
    assert (letter["original"], letter["original_size"], letter["failed_at"]) == (raw, len(raw), NOW)


def test_normalize_dead_letter() -> None:
    letter = dlq_of(encode(base_event(event_type="product_view", product=product(currency="BTC"))))
    assert (letter["stage"], letter["reason"]) == ("normalize", "unknown_currency")


def test_seconds_timestamps_are_refused_not_guessed() -> None:
    letter = dlq_of(encode(base_event(event_time=NOW // 1000)))
    assert letter["reason"] == "timestamp_not_millis"


@pytest.mark.parametrize("raw, reason", [
    (b"", "empty_message"), (None, "empty_message"), (b"{\"event_type\": \"page_view\"}", "not_avro"),
    (b"\xc3\x01" + b"\x00" * 8 + b"\x02", "unknown_schema"), ("text, not bytes", "not_avro")])
def test_decode_dead_letters(raw: Any, reason: str) -> None:
    letter = dlq_of(raw)
    assert (letter["stage"], letter["reason"]) == ("decode", reason)


def test_truncated_body_is_invalid_avro() -> None:
    raw = encode(rees46_events()[3])
    assert dlq_of(raw[:-7])["reason"] == "invalid_avro"
    assert dlq_of(raw + b"\x00")["reason"] == "invalid_avro"  # trailing bytes


def test_oversized_message_is_refused_before_decoding_and_its_original_truncated() -> None:
    cfg = IngestConfig(max_message_bytes=1_000, dlq_original_max_bytes=100)
    raw = encode(base_event(search_query="x" * 2_000, event_type="search"))
    letter = dlq_of(raw, cfg)
    assert (letter["stage"], letter["reason"]) == ("decode", "oversized")
    assert letter["original"] == raw[:100] and letter["original_size"] == len(raw)
    assert process_raw(raw, IngestConfig(max_message_bytes=len(raw)), NOW, None, None, None)[0] == "event"


def test_newer_writer_with_an_extra_field_still_decodes() -> None:
    schema = evolved_schema("field")
    registry().register(schema)
    raw = registry().encode("behavior_event", {**base_event(), "app_build": "7.1"}, schema=schema)
    kind, event = process_raw(raw, CFG, NOW, None, None, None)
    assert kind == "event" and "app_build" not in event


def test_unknown_event_type_from_a_newer_writer() -> None:
    schema = evolved_schema("symbol")
    registry().register(schema)
    raw = registry().encode("behavior_event", base_event(event_type="wishlist_share"), schema=schema)
    letter = dlq_of(raw)
    assert (letter["stage"], letter["reason"]) == ("decode", "unknown_event_type")
    assert "wishlist_share" in letter["detail"]


def test_unexpected_errors_become_internal_error_dead_letters(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any) -> list[Problem]:
        raise RuntimeError("a bug in a check")

    monkeypatch.setattr(udfs.ingest, "validate", broken)
    letter = dlq_of(encode(base_event()))
    assert (letter["stage"], letter["reason"]) == ("ingest", "internal_error")
    assert "RuntimeError: a bug in a check" in letter["detail"]


def _mutants(rng: random.Random, valid: list[bytes]) -> list[bytes]:
    """Random bytes, random bytes behind a real header, every truncation and bit flips of valid messages."""
    header = valid[0][:10]
    out = [rng.randbytes(rng.randrange(0, 300)) for _ in range(300)]
    out += [header + rng.randbytes(rng.randrange(0, 200)) for _ in range(700)]
    out += [raw[:n] for raw in valid for n in range(len(raw))]
    for _ in range(2_000):
        raw = bytearray(rng.choice(valid))
        for _ in range(rng.randrange(1, 4)):
            raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        out.append(bytes(raw))
    return out


def test_fuzz_never_raises_and_always_yields_a_schema_valid_record() -> None:
    rng = random.Random(20191001)
    events = rees46_events() + [base_event(event_type="checkout_start", referrer="https://x.example/?q=1",
                                           cart=[line("a", 2), line("b", currency="GBP")], scroll_depth=40)]
    accepted, stages, reasons = 0, set(), set()
    for raw in _mutants(rng, [encode(e) for e in events]):
        kind, record = process_raw(raw, CFG, NOW, "events", 0, 0)
        registry().encode("behavior_event" if kind == "event" else "dead_letter", record)
        if kind == "event":
            accepted += 1
        else:
            stages.add(record["stage"])
            reasons.add(record["reason"])
    assert accepted > 0 and {"decode", "validate", "normalize"} <= stages
    assert "internal_error" not in reasons  # every failure was foreseen by a check, none hit the safety net


@pytest.mark.parametrize("event_time, watermark, late", [
    (1_000, 61_000, True), (1_001, 61_000, False), (1_000, 60_999, False), (90_000, 61_000, False),
    (1_000, -(2**63), False)])
def test_is_late_beyond_the_allowed_lateness(event_time: int, watermark: int, late: bool) -> None:
    assert is_late(event_time, watermark, 60_000) is late


def test_late_dead_letter_keeps_the_event_for_replay() -> None:
    event = process_raw(encode(rees46_events()[2]), CFG, NOW, None, None, None)[1]
    watermark = event["event_time"] + 90_000
    letter = late_dead_letter(event, watermark, NOW, CFG, topic="events", partition=1, offset=9)
    assert (letter["stage"], letter["reason"], letter["source_offset"]) == ("late", "late_event", 9)
    assert "90000 ms behind" in letter["detail"] and "60000" in letter["detail"]
    assert registry().decode(letter["original"], "behavior_event") == event
    registry().encode("dead_letter", letter)


def test_late_dead_letter_never_raises_on_a_broken_event() -> None:
    letter = late_dead_letter({"event_time": "soon"}, 5, NOW, CFG)
    assert letter["stage"] == "late" and "not re-encodable" in letter["detail"]
    registry().encode("dead_letter", letter)


def test_dead_letter_builder_truncates_to_the_cap() -> None:
    letter = dead_letter(Problem("x", "y", "decode"), b"a" * 10, IngestConfig(dlq_original_max_bytes=4), NOW)
    assert (letter["original"], letter["original_size"]) == (b"aaaa", 10)


def test_details_quoting_huge_values_stay_bounded() -> None:
    huge = "Z" * 100_000
    letter = dlq_of(encode(base_event(event_type="product_view", product=product(currency=huge))))
    assert letter["reason"] == "unknown_currency" and len(letter["detail"]) == MAX_DETAIL_CHARS


def test_process_raw_does_not_keep_state_between_calls() -> None:
    raw = encode(rees46_events()[4])
    first = process_raw(raw, CFG, NOW, None, None, None)
    assert process_raw(raw, CFG, NOW, None, None, None) == copy.deepcopy(first)
