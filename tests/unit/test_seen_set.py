"""The packed seen-set of the dedup stage."""
from __future__ import annotations

from udfs import seen_set


def test_a_key_is_seen_only_after_it_was_added() -> None:
    packed = seen_set.add(None, "e1", 100)
    assert seen_set.contains(packed, "e1") and not seen_set.contains(packed, "e2")
    assert not seen_set.contains(None, "e1") and not seen_set.contains(b"", "e1")


def test_each_entry_costs_sixteen_bytes() -> None:
    packed = b""
    for i in range(10):
        packed = seen_set.add(packed, f"event-{i}-{'x' * 30}", 1_000 + i)
    assert len(packed) == 10 * seen_set.SIZE == 160
    assert all(seen_set.contains(packed, f"event-{i}-{'x' * 30}") for i in range(10))


def test_purge_forgets_entries_at_or_before_the_horizon_and_keeps_the_rest() -> None:
    packed = seen_set.add(seen_set.add(seen_set.add(None, "a", 10), "b", 20), "c", 30)
    kept = seen_set.purge(packed, 20)
    assert not seen_set.contains(kept, "a") and not seen_set.contains(kept, "b")
    assert seen_set.contains(kept, "c") and seen_set.oldest(kept) == 30
    assert seen_set.purge(kept, 30) == b"" and seen_set.oldest(b"") is None


def test_oldest_is_the_earliest_seen_time_in_any_order() -> None:
    packed = seen_set.add(seen_set.add(None, "late", 50), "early", 5)
    assert seen_set.oldest(packed) == 5
