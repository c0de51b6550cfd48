"""The erasure join: a request is confirmed once, after the last of its keys is erased, with
that key's time, and names Redis only if every key's cache deletes reached it."""
from __future__ import annotations

from typing import Any

from udfs.avro_codec import registry
from udfs.erasure_acks import Pending, ack, add_ack, expected_keys

REQUEST = {"request_id": "r1", "user_id": "u1", "anonymous_ids": ["a1", "a2"], "requested_at": 7, "reason": None}


def fold(acks: list[tuple[str, bool, int]], request: dict[str, Any] = REQUEST) -> list[dict[str, Any] | None]:
    """The confirmation (decoded) or None after each ack, in order."""
    pending: Pending | None = None
    out = []
    for key, wiped, at in acks:
        kind, rid, one = ack(request, key, wiped, at)
        assert (kind, rid) == ("ack", "r1")
        pending, done = add_ack(pending, one)
        out.append(registry().decode(done, "erasure_confirmation") if done is not None else None)
    return out


def test_the_request_is_confirmed_once_all_its_keys_acknowledged_at_the_last_ones_time() -> None:
    results = fold([("a2", True, 30), ("u1", True, 10), ("a1", True, 20)])
    assert results[:2] == [None, None]
    assert results[2] == {"request_id": "r1", "user_id": "u1", "anonymous_ids": ["a1", "a2"],
                          "stores": ["flink_state", "timers", "redis"], "completed_at": 30}


def test_one_key_whose_cache_deletes_failed_keeps_redis_out_of_the_stores() -> None:
    done = fold([("a1", True, 1), ("u1", False, 2), ("a2", True, 3)])[-1]
    assert done is not None and done["stores"] == ["flink_state", "timers"]


def test_a_repeated_ack_does_not_complete_a_request_and_a_replay_is_confirmed_again() -> None:
    results = fold([("u1", True, 1), ("u1", True, 2), ("a1", True, 3), ("a2", True, 4), ("u1", True, 5),
                    ("a1", True, 6), ("a2", True, 7)])
    assert [r is not None for r in results] == [False, False, False, True, False, False, True]


def test_a_user_named_among_its_devices_and_a_request_without_devices() -> None:
    assert expected_keys({**REQUEST, "anonymous_ids": ["u1"]}) == {"u1"}
    done = fold([("u1", True, 9)], {**REQUEST, "anonymous_ids": []})[0]
    assert done is not None and done["anonymous_ids"] == [] and done["completed_at"] == 9


def test_an_incomplete_request_names_the_keys_it_still_waits_for() -> None:
    pending: Pending | None = None
    for key, at in (("a2", 5_000), ("u1", 2_000)):
        pending, done = add_ack(pending, ack(REQUEST, key, True, at)[2])
        assert done is None
    assert pending is not None and pending.missing() == {"a1"} and pending.first_at == 2_000
    expected = "erasure r1 overdue: 2 of 3 keys erased 600 s after the first; still waiting for a1"
    assert pending.overdue(600_000) == expected
