"""Live push on the real broker: the storefront's feed reads the triggers and the erasure topics,
and a trigger the job emitted for a shopper before it forgot them never reaches their page, while
a trigger after the job's confirmation does."""
from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from services.storefront.config import load_config
from services.storefront.feed import TriggerFeed
from services.storefront.push import Hub, Router
from tests.unit.test_storefront_kit import run, small_catalog, trigger
from udfs.avro_codec import registry

pytestmark = pytest.mark.integration


def produce(kafka: Any, topic: str, schema: str, records: list[dict[str, Any]]) -> None:
    kafka.produce(topic, [registry().encode(schema, r) for r in records],
                  [str(r["user_id"]).encode() for r in records])


async def next_ids(queue: asyncio.Queue[dict[str, Any]], count: int) -> list[str]:
    return [(await asyncio.wait_for(queue.get(), 30))["trigger_id"] for _ in range(count)]


def test_a_pending_trigger_of_an_erased_shopper_never_reaches_their_page(kafka: Any) -> None:
    cfg = load_config({}, bootstrap_servers=kafka.bootstrap, triggers_topic=kafka.new_topic(prefix="triggers"),
                      erasure_topic=kafka.new_topic(prefix="erasure"),
                      erasure_done_topic=kafka.new_topic(prefix="erasure.done"))
    now = int(time.time() * 1000)

    async def scenario() -> None:
        hub = Hub()
        router = Router(hub, small_catalog(), 10)
        page = hub.subscribe(["anon-gone", "u-gone"])
        feed = TriggerFeed(cfg, asyncio.get_running_loop(), router.handle)
        feed.start()
        try:
            assert await asyncio.get_running_loop().run_in_executor(None, feed.ready.wait, 30), "feed not ready"
            produce(kafka, cfg.triggers_topic, "trigger", [trigger("u-gone", trigger_id="t-before", emitted_at=now)])
            assert await next_ids(page.queue, 1) == ["t-before"]
            produce(kafka, cfg.erasure_topic, "erasure_request", [{
                "request_id": "r-1", "user_id": "u-gone", "anonymous_ids": ["anon-gone"], "requested_at": now,
                "reason": None}])
            await wait_until(lambda: not hub.recent_for(["u-gone"]), "the request's replay purge")
            completed = now + 60_000
            produce(kafka, cfg.erasure_done_topic, "erasure_confirmation", [{
                "request_id": "r-1", "user_id": "u-gone", "stores": ["flink_state"], "completed_at": completed}])
            await wait_until(lambda: len(router.cutoffs) == 2 and not router.cutoffs.pending, "the confirmation")
            produce(kafka, cfg.triggers_topic, "trigger", [
                trigger("anon-gone", trigger_id="t-pending", emitted_at=completed - 1),
                trigger("u-gone", trigger_id="t-after", emitted_at=completed + 1)])
            assert await next_ids(page.queue, 1) == ["t-after"]
            await wait_until(lambda: router.counts["erased"] == 1, "the pending trigger hidden")
            assert page.queue.empty() and router.counts["routed"] == 2
        finally:
            await asyncio.get_running_loop().run_in_executor(None, feed.stop)

    run(scenario)


async def wait_until(check: Any, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
