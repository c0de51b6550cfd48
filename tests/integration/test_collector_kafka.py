"""The collector against the real broker: what is accepted arrives once, pseudonymized and
stripped; what is refused produces nothing; an unreachable broker never gets a 2xx."""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from aiohttp import web

from services.collector.app import create_app
from services.collector.config import load_config
from services.collector.delivery import make_producer
from udfs.avro_codec import registry
from udfs.privacy import is_pseudonym, pseudonymize

pytestmark = pytest.mark.integration

KEY = b"integration-test-key"
RAW_SECRETS = [b"ada.lovelace@example.com", b"Ada.Lovelace", b"grace@example.org", b"customer-7781",
               b"543272936", b"tok3n-s3cret", b"bob@example.net"]


@contextmanager
def running_collector(**overrides: Any) -> Iterator[str]:
    """The real app with a real producer on a free port, served from its own thread; yields the URL."""
    cfg = load_config({}, host="127.0.0.1", port=0, **overrides)
    producer = make_producer(cfg)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(cfg, producer, KEY))
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, name="collector-under-test", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        producer.close(timeout=10)


def post(url: str, body: Any, ctype: str = "application/json") -> tuple[int, dict[str, str], Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


def event(event_type: str = "page_view", **extra: Any) -> dict[str, Any]:
    anonymous_id = f"anon-{uuid.uuid4().hex[:8]}"
    return {"event_id": str(uuid.uuid4()), "event_type": event_type, "anonymous_id": anonymous_id,
            "session_id": "sess-1", "timestamp": int(time.time() * 1000) - 1000, **extra}


def decode_all(records: list[tuple[bytes | None, bytes]]) -> list[dict[str, Any]]:
    return [registry().decode(value, "behavior_event") for _, value in records]


def test_every_accepted_event_arrives_once_pseudonymized_and_stripped(kafka: Any) -> None:
    topic = kafka.new_topic(partitions=2)
    single = event("product_view", email="Ada.Lovelace@Example.com",
                   product={"product_id": "1004856", "price": 130.76},
                   url="https://shop.example/p/1004856?email=ada.lovelace@example.com&color=black&t=tok3n-s3cret")
    tag_batch = [event("add_to_cart", user_id="customer-7781", quantity=1,
                       product={"product_id": "1004856", "price": 130.76, "currency": "USD"}),
                 event("search", search_query="phones", url="/search?q=phones&uid=customer-7781"),
                 event("scroll", scroll_depth=75,
                       timestamp=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 5)))]
    sdk_events = [event("login", email="grace@example.org"), event("page_view", url="app://home")]
    log_events = [event("purchase", user_id="543272936", order_id="o-1",
                        cart=[{"product_id": "1004856", "quantity": 1, "price": 130.76}]),
                  event("rating", rating=5, user_id="543272936", attributes={"note": "bob@example.net"})]
    with running_collector(bootstrap_servers=kafka.bootstrap, topic=topic) as url:
        answers = [
            post(f"{url}/v1/events", single),
            post(f"{url}/v1/events", {"events": tag_batch}, "text/plain"),
            post(f"{url}/v1/batch", {"sdk": {"name": "shoppulse-android", "version": "2.0.1"},
                                     "device": {"type": "mobile", "os": "Android"}, "events": sdk_events}),
            post(f"{url}/v1/logs", "\n".join(json.dumps(e) for e in log_events).encode(), "text/plain"),
        ]
    assert [(status, body) for status, _, body in answers] == [
        (202, {"accepted": 1}), (202, {"accepted": 3}), (202, {"accepted": 2}), (202, {"accepted": 2})]

    records = kafka.consume(topic, expected=8, timeout_s=30, settle_s=2)
    sent = [single, *tag_batch, *sdk_events, *log_events]
    got = {e["event_id"]: e for e in decode_all(records)}
    assert len(records) == 8 and set(got) == {e["event_id"] for e in sent}
    for key, value in records:
        assert not any(secret.lower() in (key or b"").lower() + value.lower() for secret in RAW_SECRETS)
    assert got[single["event_id"]]["user_id"] == pseudonymize("ada.lovelace@example.com", KEY)
    assert got[single["event_id"]]["page_path"] == "/p/1004856?color=black"
    assert got[tag_batch[1]["event_id"]]["page_path"] == "/search?q=phones"
    assert got[log_events[1]["event_id"]]["attributes"] == {"note": "[email]"}
    assert [got[e["event_id"]]["channel"] for e in sent] == ["web"] * 4 + ["app"] * 2 + ["server"] * 2
    assert got[sdk_events[0]["event_id"]]["device"] == "mobile"
    for key, value in records:
        decoded = registry().decode(value, "behavior_event")
        expected_key = decoded["user_id"] or decoded["anonymous_id"]
        assert key == expected_key.encode()
        assert decoded["user_id"] is None or is_pseudonym(decoded["user_id"])


def test_refused_requests_produce_nothing(kafka: Any) -> None:
    topic = kafka.new_topic(partitions=2)
    with running_collector(bootstrap_servers=kafka.bootstrap, topic=topic, max_batch_events=10) as url:
        bad_batch = post(f"{url}/v1/events", {"events": [event(), event(rating=11), event("teleport")]})
        bad_lines = post(f"{url}/v1/logs", f"{json.dumps(event())}\n{{not json".encode(), "text/plain")
        bad_sdk = post(f"{url}/v1/batch", {"sdk": {"name": "x"}, "events": [event()]})
        too_many = post(f"{url}/v1/events", {"events": [event() for _ in range(11)]})
        cheap = event("add_to_cart", product={"product_id": "p", "price": -5})
        negative = post(f"{url}/v1/logs", json.dumps(cheap).encode(), "text/plain")
        marker = event("session_start")
        assert post(f"{url}/v1/events", marker)[0] == 202

    assert bad_batch[0] == 400
    assert {(p["index"], p["field"]) for p in bad_batch[2]["problems"]} == {(1, "rating"), (2, "event_type")}
    assert bad_lines[0] == 400 and bad_lines[2]["problems"][0]["line"] == 2
    assert bad_sdk[0] == 400 and bad_sdk[2]["problems"] == [{"field": "sdk.version", "problem": "missing"}]
    assert too_many[0] == 413
    assert negative[0] == 400 and negative[2]["problems"][0] == {"line": 1, "field": "product.price",
                                                                 "problem": "-5 is negative"}
    records = kafka.consume(topic, expected=1, timeout_s=30, settle_s=3)
    assert [e["event_id"] for e in decode_all(records)] == [marker["event_id"]]


def test_unreachable_broker_gives_503_not_2xx() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sock.getsockname()[1]}"  # bound but never listening: connections are refused
        with running_collector(bootstrap_servers=dead, request_timeout_s=4, max_block_ms=1500,
                               delivery_timeout_ms=2500, retry_after_s=3) as url:
            started = time.monotonic()
            status, headers, body = post(f"{url}/v1/events", event())
            health = urllib.request.urlopen(f"{url}/healthz", timeout=5).status
    assert status == 503 and headers["Retry-After"] == "3" and "retry later" in body["error"]
    assert time.monotonic() - started < 10 and health == 200
