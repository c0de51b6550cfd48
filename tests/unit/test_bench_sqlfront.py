"""The SQL-front measurement's Python UDF and interval literals (``bench.sqlfront``)."""
from __future__ import annotations

import time
import uuid

import pytest

from bench.sqlfront import front, interval
from tests.unit.ingest_samples import base_event, product
from udfs.avro_codec import registry

E1, E2 = str(uuid.uuid4()), str(uuid.uuid4())


def raw(**fields: object) -> bytes:
    now = int(time.time() * 1000)
    event = base_event(event_time=now - 5_000, received_time=now - 4_000, **fields)
    return registry().encode("behavior_event", event)


def test_intervals_use_the_largest_two_digit_unit() -> None:
    assert interval(86_400_000) == "INTERVAL '1' DAY"
    assert interval(1_800_000) == "INTERVAL '30' MINUTE"
    assert interval(7_200_000) == "INTERVAL '2' HOUR"
    assert interval(90_000) == "INTERVAL '90' SECOND"
    with pytest.raises(ValueError):
        interval(1_500)
    with pytest.raises(ValueError):
        interval(100 * 86_400_000)


def test_a_product_view_becomes_a_clean_row_with_its_category() -> None:
    view = raw(event_id=E1, event_type="product_view", user_id="u-7",
               product=product(category="Electronics/Phones/Android"))
    route, dkey, ukey, etype, cat, out = front(view, 0, 11)
    assert (route, ukey, etype) == ("clean", "u-7", "product_view")
    assert cat is not None and cat.startswith("electronics")
    assert len(dkey) == 16
    assert registry().decode(out, "behavior_event")["event_id"] == E1


def test_the_dedup_hash_names_the_device_and_the_event_only() -> None:
    first = front(raw(event_id=E1, anonymous_id="dev-1"), 0, 1)
    again = front(raw(event_id=E1, anonymous_id="dev-1", page_path="/other"), 0, 2)
    other_event = front(raw(event_id=E2, anonymous_id="dev-1"), 0, 3)
    other_device = front(raw(event_id=E1, anonymous_id="dev-2"), 0, 4)
    assert first[1] == again[1]
    assert len({first[1], other_event[1], other_device[1]}) == 3
    assert first[2] == "dev-1" and first[4] is None  # no user: the device's key; no view: no category


def test_bad_bytes_become_a_dead_letter_row() -> None:
    route, dkey, ukey, etype, cat, out = front(b"\x00not avro", 3, 42)
    assert route == "dlq" and dkey is None and ukey is None
    letter = registry().decode(out, "dead_letter")
    assert letter["reason"] == "not_avro" and (letter["source_partition"], letter["source_offset"]) == (3, 42)
