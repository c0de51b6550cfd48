"""Event time contract: Kafka record timestamps are each record's own time, clamped to the clock."""
from __future__ import annotations

from udfs.avro_codec import registry
from udfs.event_time import Stamper, control_time, record_time, record_timestamp, timestamp_of
from udfs.journey import Journey

NOW = 1_800_000_000_000


def event_at(ms: int) -> bytes:
    return registry().encode("behavior_event", Journey(anonymous_id="a", start_ms=ms).page().events[0])


def test_a_record_timestamp_never_runs_ahead_of_the_clock() -> None:
    assert record_timestamp(NOW - 5, NOW) == NOW - 5
    assert record_timestamp(NOW + 60_000, NOW) == NOW


def test_an_encoded_event_is_stamped_with_its_event_time() -> None:
    assert timestamp_of(event_at(NOW - 3_600_000), NOW) == NOW - 3_600_000


def test_a_consent_record_is_stamped_with_its_write_time() -> None:
    record = {"user_id": "u1", "email": True, "push": False, "onsite": True, "updated_at": NOW - 10}
    raw = registry().encode("consent_record", record)
    assert timestamp_of(raw, NOW) == NOW - 10


def test_garbage_and_future_records_have_no_timestamp_of_their_own() -> None:
    assert timestamp_of(b"not avro at all", NOW) is None
    assert timestamp_of(event_at(NOW)[:15], NOW) is None
    assert timestamp_of(event_at(NOW + 86_400_000), NOW) is None


def test_the_stamper_gives_a_broken_record_its_predecessors_time() -> None:
    stamp = Stamper(NOW)
    assert stamp(b"junk") is None
    assert stamp(event_at(NOW - 500)) == NOW - 500
    assert stamp(b"junk") == NOW - 500
    assert stamp(event_at(NOW + 86_400_000)) == NOW - 500
    assert stamp(event_at(NOW - 900)) == NOW - 900


def test_records_inside_the_job_use_their_own_time() -> None:
    event = Journey(anonymous_id="a", start_ms=NOW).page().events[0]
    assert record_time(("event", "a", event), 7) == event["event_time"]
    assert record_time(("replay", "u", event), 7) == event["event_time"]
    assert record_time(("erase", "u", {"requested_at": NOW - 1}), 7) == NOW - 1
    assert control_time("consent", {"updated_at": NOW - 2}) == NOW - 2
    assert record_time(("handoff", "a", "u"), 7) == 7
