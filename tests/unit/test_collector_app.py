"""HTTP behaviour of the collector app: status codes, limits, CORS, the tag, and ack-before-202.

The producer here is an in-memory stand-in that completes kafka-python's own ``Future`` objects
from another thread, as the real client's I/O thread does; the real broker path is covered by
tests/integration/test_collector_kafka.py.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from kafka.errors import KafkaTimeoutError, NotLeaderForPartitionError
from kafka.future import Future

from services.collector import app as app_module
from services.collector.__main__ import main
from services.collector.app import create_app
from services.collector.config import ConfigError, load_config
from udfs.avro_codec import registry

KEY = b"unit-test-key"


class StandInProducer:
    """Records sends; completes each future from a thread after ``delay_s`` (or fails / never)."""

    def __init__(self, delay_s: float = 0.05, fail: Exception | None = None, never: bool = False,
                 send_blocks_s: float = 0.0, send_raises: Exception | None = None) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None]] = []
        self.acked_at: float | None = None
        self.delay_s, self.fail, self.never = delay_s, fail, never
        self.send_blocks_s, self.send_raises = send_blocks_s, send_raises

    def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
             timestamp_ms: int | None = None) -> Future:
        time.sleep(self.send_blocks_s)
        if self.send_raises is not None:
            raise self.send_raises
        self.sent.append((topic, key, value))
        future = Future()
        if not self.never:
            threading.Timer(self.delay_s, self._complete, (future,)).start()
        return future

    def _complete(self, future: Future) -> None:
        self.acked_at = time.monotonic()
        future.failure(self.fail) if self.fail is not None else future.success("metadata")


def now_ms() -> int:
    return int(time.time() * 1000)


def event(i: int = 0, **extra: Any) -> dict[str, Any]:
    return {"event_type": "page_view", "anonymous_id": f"anon-{i}", "event_time": now_ms(), **extra}


@asynccontextmanager
async def client_for(producer: Any, **cfg: Any) -> AsyncIterator[TestClient]:
    app = create_app(load_config({}, topic="events-test", **cfg), producer, KEY)
    async with TestClient(TestServer(app)) as client:
        yield client


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


def test_202_comes_only_after_every_record_is_acknowledged() -> None:
    producer = StandInProducer(delay_s=0.2)

    async def scenario() -> None:
        async with client_for(producer) as client:
            resp = await client.post("/v1/events", json={"events": [event(0), event(1, email="a@b.example")]})
            answered_at = time.monotonic()
            assert resp.status == 202 and await resp.json() == {"accepted": 2}
            assert producer.acked_at is not None and producer.acked_at <= answered_at

    run(scenario)
    assert [topic for topic, _, _ in producer.sent] == ["events-test", "events-test"]
    decoded = [registry().decode(value or b"", "behavior_event") for _, _, value in producer.sent]
    assert [e["anonymous_id"] for e in decoded] == ["anon-0", "anon-1"]
    assert producer.sent[0][1] == b"anon-0" and producer.sent[1][1] == decoded[1]["user_id"].encode()


@pytest.mark.parametrize("producer", [
    StandInProducer(fail=NotLeaderForPartitionError()),
    StandInProducer(never=True),
    StandInProducer(send_raises=KafkaTimeoutError("Failed to update metadata after 3.0 secs.")),
], ids=["broker-error", "no-ack", "metadata-timeout"])
def test_broker_trouble_gives_503_with_retry_after(producer: StandInProducer) -> None:
    async def scenario() -> None:
        async with client_for(producer, request_timeout_s=0.5, retry_after_s=7) as client:
            resp = await client.post("/v1/events", json=event(), headers={"Origin": "https://shop.example"})
            assert resp.status == 503
            assert resp.headers["Retry-After"] == "7"
            assert resp.headers["Access-Control-Allow-Origin"] == "*"
            assert "retry later" in (await resp.json())["error"]

    run(scenario)


def test_blocking_send_does_not_block_the_event_loop() -> None:
    producer = StandInProducer(send_blocks_s=2.0)

    async def scenario() -> None:
        async with client_for(producer) as client:
            started = time.monotonic()
            slow = asyncio.ensure_future(client.post("/v1/events", json=event()))
            await asyncio.sleep(0.1)  # the post's send is now sleeping in the producer
            health = await client.get("/healthz")
            assert health.status == 200 and time.monotonic() - started < 1.2  # blocked: >= 2 s
            assert (await slow).status == 202

    run(scenario)


def test_bad_event_gives_400_naming_index_and_field_and_nothing_is_produced() -> None:
    producer = StandInProducer()

    async def scenario() -> None:
        async with client_for(producer) as client:
            resp = await client.post("/v1/events", json={"events": [event(0), event(1, scroll_depth=140)]})
            body = await resp.json()
            assert resp.status == 400
            assert body["problems"] == [
                {"index": 1, "field": "scroll_depth", "problem": "140 is out of range 0-100"}]

    run(scenario)
    assert producer.sent == []


def test_problem_list_is_capped() -> None:
    async def scenario() -> None:
        async with client_for(StandInProducer(), max_problems=3) as client:
            resp = await client.post("/v1/events", json={"events": [{"x": i} for i in range(5)]})
            body = await resp.json()
            assert resp.status == 400 and len(body["problems"]) == 3 and body["problems_total"] > 3

    run(scenario)


@pytest.mark.parametrize(("path", "data", "ctype", "status", "fragment"), [
    ("/v1/events", b"x" * 2000, "application/json", 413, "exceeds the limit of 1000"),
    ("/v1/events", json.dumps({"events": [event(i) for i in range(6)]}).encode(), "text/plain", 413,
     "6 events in one request; the limit is 5"),
    ("/v1/events", b"{}", "application/xml", 415, "'application/xml' not accepted here"),
    ("/v1/batch", b"{}", "text/plain", 415, "use application/json"),
    ("/v1/logs", b"{}", "application/json", 415, "use text/plain"),
    ("/v1/events", b"{broken", "application/json", 400, "invalid JSON"),
    ("/v1/logs", b'{"a": 1}\nnot json', "text/plain", 400, "1 log line(s) are not JSON"),
])
def test_request_level_errors(path: str, data: bytes, ctype: str, status: int, fragment: str) -> None:
    async def scenario() -> None:
        async with client_for(StandInProducer(), max_body_bytes=1000, max_batch_events=5) as client:
            resp = await client.post(path, data=data, headers={"Content-Type": ctype})
            assert resp.status == status
            assert fragment in (await resp.json())["error"]

    run(scenario)


def test_log_line_problems_carry_line_numbers() -> None:
    lines = "\n".join([json.dumps(event(0)), "", json.dumps(event(1, rating=9))])

    async def scenario() -> None:
        async with client_for(StandInProducer()) as client:
            resp = await client.post("/v1/logs", data=lines, headers={"Content-Type": "text/plain"})
            assert resp.status == 400
            assert (await resp.json())["problems"] == [{"line": 3, "field": "rating",
                                                        "problem": "9 is out of range 1-5"}]

    run(scenario)


def test_cors_preflight_and_allow_listed_origins() -> None:
    async def scenario() -> None:
        async with client_for(StandInProducer(), cors_origins=("https://shop.example",)) as client:
            pre = await client.options("/v1/events", headers={"Origin": "https://shop.example",
                                                              "Access-Control-Request-Method": "POST"})
            assert pre.status == 204
            assert pre.headers["Access-Control-Allow-Origin"] == "https://shop.example"
            assert "POST" in pre.headers["Access-Control-Allow-Methods"]
            other = await client.post("/v1/events", json=event(), headers={"Origin": "https://evil.example"})
            assert "Access-Control-Allow-Origin" not in other.headers

    run(scenario)


def test_tag_is_served_with_cache_headers_and_etag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tag = tmp_path / "tag.js"
    tag.write_text("window.shoppulse = {};\n")
    monkeypatch.setattr(app_module, "TAG_PATH", tag)

    async def scenario() -> None:
        async with client_for(StandInProducer(), tag_max_age_s=600) as client:
            resp = await client.get("/tag.js")
            assert resp.status == 200 and await resp.text() == "window.shoppulse = {};\n"
            assert resp.headers["Content-Type"].startswith("application/javascript")
            assert resp.headers["Cache-Control"] == "public, max-age=600"
            again = await client.get("/tag.js", headers={"If-None-Match": resp.headers["ETag"]})
            assert again.status == 304

    run(scenario)


def test_missing_pseudonym_key_refuses_to_start(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SP_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("SP_COLLECTOR_ALLOW_DEV_KEY", raising=False)
    with pytest.raises(ConfigError, match="SP_PSEUDONYM_KEY is not set"):
        create_app(load_config({}), StandInProducer())
    assert main([]) == 2
    assert "SP_PSEUDONYM_KEY is not set" in capsys.readouterr().err
    assert create_app(load_config({"SP_COLLECTOR_ALLOW_DEV_KEY": "true"}), StandInProducer()) is not None


def test_oversized_chunked_body_without_length_gets_413() -> None:
    async def chunks() -> Any:
        for _ in range(8):
            yield b" " * 500

    async def scenario() -> None:
        async with client_for(StandInProducer(), max_body_bytes=1000) as client:
            json_type = {"Content-Type": "application/json"}
            resp = await client.post("/v1/events", data=chunks(), headers=json_type)
            assert resp.status == 413
            assert "exceeds the limit of 1000 bytes" in (await resp.json())["error"]

    run(scenario)
