"""Live push and erasure: an erased shopper's replay is dropped, and triggers the job emitted for
them before it forgot them are not shown, while a later trigger is."""
from __future__ import annotations

import time
from typing import Any

from services.storefront.erasure import Cutoffs
from services.storefront.push import Hub, Router
from tests.unit.test_storefront_kit import run, small_catalog, trigger
from tests.unit.test_storefront_push import drain


def request(user: str = "u1", devices: tuple[str, ...] = ("anon-1",), rid: str = "r1") -> dict[str, Any]:
    return {"request_id": rid, "user_id": user, "anonymous_ids": list(devices), "requested_at": 0, "reason": None}


def done(user: str = "u1", completed_at: int = 5_000, rid: str = "r1") -> dict[str, Any]:
    return {"request_id": rid, "user_id": user, "stores": ["flink_state"], "completed_at": completed_at}


def test_a_request_cuts_the_user_and_devices_off_and_the_confirmation_raises_both() -> None:
    cut = Cutoffs()
    assert cut.on_request(request(), now_ms=1_000) == ("anon-1", "u1")
    assert cut.suppressed(trigger("u1", emitted_at=1_000)) and cut.suppressed(trigger("anon-1", emitted_at=999))
    assert not cut.suppressed(trigger("u1", emitted_at=1_001)) and not cut.suppressed(trigger("u2", emitted_at=1))
    assert cut.on_confirmation(done(completed_at=5_000)) == ("anon-1", "u1"), "devices bridged from the request"
    assert cut.suppressed(trigger("anon-1", emitted_at=4_000)) and not cut.suppressed(trigger("u1", emitted_at=5_001))


def test_a_cut_off_is_never_lowered_and_a_confirmation_without_its_request_covers_the_user() -> None:
    cut = Cutoffs()
    cut.on_request(request(), now_ms=9_000)
    cut.on_confirmation(done(completed_at=5_000))  # the job completed before the storefront read the request
    assert cut.suppressed(trigger("u1", emitted_at=8_000)), "the later cut-off stays"
    assert Cutoffs().on_confirmation(done("u7", rid="never-seen")) == ("u7",)


def test_a_confirmation_naming_devices_cuts_them_off_in_a_storefront_that_missed_the_request() -> None:
    cut = Cutoffs()
    assert cut.on_confirmation({**done(completed_at=5_000), "anonymous_ids": ["anon-2"]}) == ("anon-2", "u1")
    assert cut.suppressed(trigger("anon-2", emitted_at=5_000))
    assert not cut.suppressed(trigger("anon-2", emitted_at=5_001))


def test_cut_offs_expire_and_are_bounded_in_number() -> None:
    now = [0.0]
    cut = Cutoffs(keep_s=60, max_ids=3, clock=lambda: now[0])
    cut.on_request(request("u1", ("a1",), "r1"), now_ms=1_000)
    cut.on_request(request("u2", ("a2",), "r2"), now_ms=1_000)  # four ids: u1's or a1's is dropped
    assert len(cut) == 3 and cut.suppressed(trigger("u2", emitted_at=1))
    now[0] = 61.0
    assert not cut.suppressed(trigger("u2", emitted_at=1)) and len(cut) == 2


def test_the_router_drops_an_erased_keys_replay_and_hides_its_earlier_triggers() -> None:
    async def scenario() -> None:
        hub = Hub()
        router = Router(hub, small_catalog(), 10)
        page = hub.subscribe(["anon-1", "u1"])
        before = int(time.time() * 1000) - 1_000
        assert router.handle("trigger", trigger("u1", trigger_id="t-old", emitted_at=before)) == 1
        assert router.handle("trigger", trigger("other", trigger_id="t-other", emitted_at=before)) == 0
        assert router.handle("erasure_request", request()) == 1, "the replayed trigger dropped"
        assert hub.recent_for(["u1", "anon-1"]) == [] and len(hub.recent_for(["other"])) == 1
        assert router.handle("trigger", trigger("anon-1", trigger_id="t-pending", emitted_at=before + 500)) == 0
        router.handle("erasure_confirmation", done(completed_at=before + 60_000))
        assert router.handle("trigger", trigger("u1", trigger_id="t-mid", emitted_at=before + 59_000)) == 0
        assert router.handle("trigger", trigger("u1", trigger_id="t-new", emitted_at=before + 60_001)) == 1
        assert [m["trigger_id"] for m in drain(page)] == ["t-old", "t-new"]
        assert router.counts == {"routed": 3, "hidden": 0, "erased": 2}

    run(scenario)
