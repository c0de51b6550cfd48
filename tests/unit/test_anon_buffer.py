"""Buffered events of an anonymous device: compact, ordered, purged by time, decoded intact."""
from __future__ import annotations

import pickle
import random

from pipelines.demo_events import journey
from udfs import anon_buffer
from udfs.avro_codec import registry
from udfs.ingest import process_raw
from udfs.ingest_config import IngestConfig

START = 1_767_225_600_000


def normalized(n: int) -> list[dict]:
    rng, cfg, out = random.Random(5), IngestConfig(), []
    for i in range(n):
        for e in journey(rng, i, START):
            kind, rec = process_raw(registry().encode("behavior_event", e), cfg, START + 10**9, "events", 0, i)
            if kind == "event":
                out.append(rec)
    return out


def test_an_entry_gives_back_the_normalized_event_and_its_time() -> None:
    events = normalized(20)
    assert len(events) > 50
    for e in events:
        item = anon_buffer.entry(e)
        assert anon_buffer.event_of(item) == e
        assert anon_buffer.time_of(item) == e["event_time"]


def test_entries_are_several_times_smaller_than_pickled_events() -> None:
    events = normalized(10)
    packed = sum(len(anon_buffer.entry(e)) for e in events)
    pickled = sum(len(pickle.dumps(e, protocol=5)) for e in events)
    assert packed * 2 < pickled


def test_after_keeps_the_entries_newer_than_the_horizon_in_their_order() -> None:
    base = normalized(3)[0]
    items = [anon_buffer.entry(dict(base, event_time=t, event_id=f"e{t}")) for t in (50, 10, 30, 40, 20)]
    assert [anon_buffer.time_of(i) for i in anon_buffer.after(items, 30)] == [50, 40]
    assert sorted(anon_buffer.time_of(i) for i in anon_buffer.after(items, 30)) == [40, 50]
