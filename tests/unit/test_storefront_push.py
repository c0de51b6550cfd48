"""Live push: fan-out by user key, holdout and non-onsite triggers hidden, replay, the SSE stream
and the Kafka feed thread (with a stand-in consumer)."""
from __future__ import annotations

import asyncio
import json
import threading
from collections import namedtuple
from typing import Any

from services.storefront import session
from services.storefront.app import STATE
from services.storefront.config import load_config
from services.storefront.feed import TriggerFeed
from services.storefront.push import Hub, Router, page_message
from tests.unit.test_storefront_kit import KEY, FakeRedis, client_for, run, small_catalog, trigger
from udfs.avro_codec import registry


def test_offer_message_names_the_category_page_and_discount() -> None:
    message = page_message(trigger("a1"), small_catalog(), 15)
    assert message is not None and message["type"] == "repeated_browse_offer"
    assert message["offer"] == {"category": "electronics/smartphone", "name": "Electronics › Smartphone", "pct": 15,
                                "url": "/c/electronics/smartphone",
                                "text": "15% off Electronics › Smartphone today, just for you"}


def test_pages_get_only_the_recommended_products_the_shop_sells_named_and_in_order() -> None:
    message = page_message(trigger("a1", recommended_items=["k2", "unsold-9", "p2"]), small_catalog(), 15)
    assert message is not None
    assert [(p["product_id"], p["url"]) for p in message["recommended"]] == [("k2", "/p/k2"), ("p2", "/p/p2")]
    assert all(p["name"] and p["price"] > 0 for p in message["recommended"])
    assert page_message(trigger("a1", recommended_items=[]), small_catalog(), 15)["recommended"] == []  # type: ignore[index]


def test_holdout_and_non_onsite_triggers_are_never_shown() -> None:
    catalog = small_catalog()
    assert page_message(trigger("a1", holdout=True, channels=[]), catalog, 10) is None
    assert page_message(trigger("a1", channels=["email", "push"]), catalog, 10) is None
    hints = trigger("a1", "ui_personalization", category=None, hints={"banner": "category:apparel/shoes/keds"})
    message = page_message(hints, catalog, 10)
    assert message is not None and "offer" not in message
    assert message["banner"] == {"text": "Picked for you: Apparel › Shoes › Keds", "url": "/c/apparel/shoes/keds",
                                 "kind": "category"}


def test_fan_out_reaches_only_the_pages_of_the_triggers_user_key() -> None:
    async def scenario() -> None:
        hub = Hub()
        router = Router(hub, small_catalog(), 10)
        anon_page, user_page, other = hub.subscribe(["anon-1"]), hub.subscribe(["anon-2", "u_alice"]), \
            hub.subscribe(["anon-3"])
        assert router.route(trigger("u_alice")) == 1
        assert router.route(trigger("anon-1", trigger_id="t2")) == 1
        assert router.route(trigger("anon-1", trigger_id="t3", holdout=True)) == 0
        assert router.route(trigger("nobody-listens", trigger_id="t4")) == 0
        assert [m["trigger_id"] for m in drain(user_page)] == ["t-u_alice-repeated_browse_offer"]
        assert [m["trigger_id"] for m in drain(anon_page)] == ["t2"]
        assert drain(other) == [] and router.counts == {"routed": 3, "hidden": 1, "erased": 0}
        hub.unsubscribe(anon_page)
        assert router.route(trigger("anon-1", trigger_id="t5")) == 0 and "anon-1" not in hub.subscribers

    run(scenario)


def drain(sub: Any) -> list[dict[str, Any]]:
    out = []
    while not sub.queue.empty():
        out.append(sub.queue.get_nowait())
    return out


def test_recent_triggers_are_replayed_within_the_window_and_bounded() -> None:
    async def scenario() -> None:
        now = [100.0]
        hub = Hub(queue_size=2, recent_s=60, recent_keys=2, clock=lambda: now[0])
        for i, key in enumerate(["k1", "k2", "k1", "k3"]):  # k2 is the least recently used: evicted
            hub.publish(key, {"trigger_id": f"t{i}"})
        assert [m["trigger_id"] for m in hub.recent_for(["k1", "k2", "k3"])] == ["t0", "t2", "t3"]
        now[0] += 61
        assert hub.recent_for(["k1"]) == []
        slow = hub.subscribe(["k1"])
        for i in range(3):
            hub.publish("k1", {"trigger_id": f"n{i}"})
        assert [m["trigger_id"] for m in drain(slow)] == ["n1", "n2"]  # the oldest was dropped

    run(scenario)


async def read_events(resp: Any, count: int) -> list[tuple[str, dict[str, Any]]]:
    """The first ``count`` SSE events (name, data) of a streaming response."""
    events: list[tuple[str, dict[str, Any]]] = []
    name = ""
    while len(events) < count:
        line = (await asyncio.wait_for(resp.content.readline(), 5)).decode().strip()
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[6:])))
    return events


def test_live_stream_sends_hints_recent_and_new_triggers_for_anonymous_and_login_keys() -> None:
    alice = session.user_key("alice", KEY)
    store = FakeRedis({f"sp:hints:{alice}": {"highlight": "cart_reminder"}})

    async def scenario() -> None:
        async with client_for(store) as client:
            router = client.app[STATE].router
            router.route(trigger("anon-9", trigger_id="before-connect"))
            client.session.cookie_jar.update_cookies({session.LOGIN_COOKIE: session.login_cookie("alice", KEY)})
            resp = await client.get("/api/live", params={"anon": "anon-9"})
            assert resp.status == 200 and resp.headers["Content-Type"] == "text/event-stream"
            first = await read_events(resp, 3)
            assert [name for name, _ in first] == ["hello", "hints", "trigger"]
            assert first[0][1] == {"keys": 2} and first[1][1]["banner"]["kind"] == "cart_reminder"
            assert first[2][1]["trigger_id"] == "before-connect"
            router.route(trigger(alice, trigger_id="hidden", holdout=True))
            router.route(trigger(alice, trigger_id="after-login"))
            (name, data), = await read_events(resp, 1)
            assert name == "trigger" and data["trigger_id"] == "after-login" and data["offer"]["pct"] == 10
            resp.close()
        assert [f"sp:hints:{k}" for k in ("anon-9", alice)] in store.calls

    run(scenario)


def test_live_stream_refuses_bad_or_missing_keys() -> None:
    async def scenario() -> None:
        async with client_for() as client:
            for params in ({"anon": "bad key!"}, {}):
                resp = await client.get("/api/live", params=params)
                assert resp.status == 400 and "error" in await resp.json()

    run(scenario)


Record = namedtuple("Record", "topic value")
TOPICS = {"tr": "trigger", "er": "erasure_request", "er.done": "erasure_confirmation"}


class StandInConsumer:
    """A kafka-python consumer stand-in: the erasure confirmations' topic appears on the second
    metadata round, the other topics on the first."""

    def __init__(self, records: list[Record]) -> None:
        self.records, self.asked, self.closed, self.assigned = records, {t: 0 for t in TOPICS}, False, []

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        self.asked[topic] += 1
        return {0, 1} if topic != "er.done" or self.asked[topic] > 1 else None

    def assign(self, parts: list[Any]) -> None:
        self.assigned = parts

    def seek_to_end(self, *parts: Any) -> None: ...
    def position(self, part: Any) -> int:
        return 0

    def poll(self, timeout_ms: int) -> dict[str, list[Record]]:
        records, self.records = self.records, []
        return {"tp": records} if records else {}

    def close(self) -> None:
        self.closed = True


def test_feed_waits_for_every_topic_decodes_by_topic_skips_garbage_and_hands_over_on_the_loop() -> None:
    request = {"request_id": "r1", "user_id": "u1", "anonymous_ids": ["anon-9"], "requested_at": 1, "reason": None}
    encode = registry().encode
    consumer = StandInConsumer([Record("tr", b"not avro"), Record("tr", encode("trigger", trigger("anon-5"))),
                                Record("er", encode("erasure_request", request)),
                                Record("er.done", encode("trigger", trigger("anon-6")))])  # wrong schema: skipped

    async def scenario() -> None:
        got: list[tuple[str, dict[str, Any]]] = []
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        main_thread = threading.get_ident()

        def deliver(schema: str, record: dict[str, Any]) -> None:
            assert threading.get_ident() == main_thread  # delivered on the event loop, not the consumer thread
            got.append((schema, record))
            done.set() if len(got) == 2 else None

        cfg = load_config({}, triggers_topic="tr", erasure_topic="er", erasure_done_topic="er.done")
        feed = TriggerFeed(cfg, loop, deliver, lambda cfg: consumer)
        feed.start()
        await asyncio.wait_for(done.wait(), 10)
        await loop.run_in_executor(None, feed.stop)
        assert [(schema, r["user_id"]) for schema, r in got] == [("trigger", "anon-5"), ("erasure_request", "u1")]
        assert feed.ready.is_set()

    run(scenario)
    assert consumer.closed and consumer.asked == {"tr": 2, "er": 2, "er.done": 2}
    assert sorted((p.topic, p.partition) for p in consumer.assigned) == [(t, n) for t in sorted(TOPICS) for n in (0, 1)]
