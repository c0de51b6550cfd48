"""Dedup keys (event id, else a stable fingerprint) and the TTL-bounded seen-set."""
from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.ingest_samples import base_event, line, product, rees46_events
from udfs.dedup import TtlDedup, dedup_key, fingerprint

ROOT = Path(__file__).resolve().parents[2]
EVENT_ID = "0b74a829-f9d7-4654-b5b0-35bc9822c238"


def test_event_id_wins_over_the_fingerprint() -> None:
    a = base_event(event_id=EVENT_ID, event_time=1)
    b = base_event(event_id=EVENT_ID, event_time=2, event_type="search")
    assert dedup_key(a) == dedup_key(b) == f"id:{EVENT_ID}"


def test_fingerprint_key_without_event_id() -> None:
    key = dedup_key(rees46_events()[0])
    assert key.startswith("fp:") and len(key) == 3 + 32 and int(key[3:], 16) >= 0


def test_retried_copies_share_a_key_and_distinct_events_do_not() -> None:
    events = rees46_events()
    copies = [dict(e, received_time=e["received_time"] + 5_000) for e in events]  # redelivered later
    assert [dedup_key(e) for e in events] == [dedup_key(c) for c in copies]
    assert len({dedup_key(e) for e in events}) == len(events)


@pytest.mark.parametrize("change", [
    {"session_id": "sess-2"}, {"event_type": "favorite"}, {"product": product("p-2")}, {"event_time": 1},
])
def test_each_fingerprint_component_matters(change: dict[str, object]) -> None:
    event = base_event(event_type="product_view", product=product("p-1"), event_time=1_600_000_000_000)
    assert fingerprint(event) != fingerprint({**event, **change})


def test_fingerprint_ignores_what_is_not_part_of_it() -> None:
    event = base_event(event_type="product_view", product=product("p-1"))
    other = {**event, "received_time": 5, "page_path": "/x", "user_id": "u_1",
             "product": product("p-1", 99.0)}
    assert fingerprint(event) == fingerprint(other)


def test_anonymous_id_stands_in_for_a_missing_session() -> None:
    event = base_event(session_id=None, anonymous_id="anon-7")
    assert fingerprint(event) == fingerprint({**event, "session_id": "anon-7"})
    assert fingerprint(event) != fingerprint({**event, "anonymous_id": "anon-8"})


def test_purchases_without_product_are_told_apart_by_order_id() -> None:
    a = base_event(event_type="purchase", cart=[line()], order_id="o-1")
    assert fingerprint(a) != fingerprint({**a, "order_id": "o-2"})


def test_fields_cannot_run_into_each_other() -> None:
    a = base_event(session_id="ab", event_type="search", event_time=1)
    b = base_event(session_id="a", event_type="bsearch", event_time=1)
    assert fingerprint(a) != fingerprint(b)


def test_fingerprint_is_stable_across_processes() -> None:
    code = ("import sys; sys.path.insert(0, '.')\n"
            "from tests.unit.ingest_samples import rees46_events\nfrom udfs.dedup import dedup_key\n"
            "print(','.join(dedup_key(e) for e in rees46_events()))")
    runs = [subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}) for seed in ("1", "2")]
    outputs = {run.stdout.strip() for run in runs}
    assert outputs == {",".join(dedup_key(e) for e in rees46_events())}


def test_duplicate_within_ttl_then_forgotten_after_it() -> None:
    seen = TtlDedup(ttl_ms=1_000)
    assert seen.seen("k", 10_000) is False
    assert seen.seen("k", 10_999) is True
    assert seen.seen("k", 11_000) is False  # the first sighting expired at 11,000; this one starts anew
    assert seen.seen("k", 11_500) is True


def test_time_is_the_largest_event_time_so_far() -> None:
    seen = TtlDedup(ttl_ms=1_000)
    seen.seen("a", 10_000)
    seen.seen("other", 20_000)  # time moves on: "a" expires
    assert len(seen) == 1
    assert seen.seen("a", 10_000) is False  # an old copy arriving now is older than the TTL
    assert len(seen) == 1  # and is not remembered: state would have expired it at once


def test_out_of_order_copies_inside_the_ttl_are_duplicates() -> None:
    seen = TtlDedup(ttl_ms=1_000)
    seen.seen("a", 10_500)
    assert seen.seen("a", 10_000) is True


def test_memory_is_bounded_and_early_evictions_are_counted() -> None:
    seen = TtlDedup(ttl_ms=10**9, max_entries=100)
    for i in range(250):
        assert seen.seen(f"k{i}", 1_000 + i) is False
        assert len(seen) <= 100
    assert seen.evicted_early == 150
    assert seen.seen("k249", 2_000) is True  # the newest keys are kept
    assert seen.seen("k0", 2_000) is False  # the oldest went first


def test_matches_a_brute_force_reference_on_random_traffic() -> None:
    rng = random.Random(7)
    ttl, seen = 500, TtlDedup(ttl_ms=500)
    first: dict[str, int] = {}
    now, base, duplicates = 0, 0, 0
    for _ in range(5_000):
        base += rng.randrange(15)
        key, ts = f"k{rng.randrange(60)}", max(0, base + rng.randrange(-400, 100))  # jittered, drifting time
        now = max(now, ts)
        first = {k: t for k, t in first.items() if t + ttl > now}
        expected = key in first
        if not expected and ts + ttl > now:
            first[key] = ts
        assert seen.seen(key, ts) is expected
        duplicates += expected
    assert len(seen) == len(first)
    assert 500 < duplicates < 4_500  # both paths were exercised


@pytest.mark.parametrize("ttl, cap", [(0, 10), (-1, 10), (10, 0)])
def test_nonsensical_limits_are_refused(ttl: int, cap: int) -> None:
    with pytest.raises(ValueError):
        TtlDedup(ttl_ms=ttl, max_entries=cap)
