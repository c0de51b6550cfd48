"""The serving bench's load generator: answers parsed by length, every request accounted for."""
from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from bench.httpload import _answer, load


def reply(status: int, body: bytes) -> bytes:
    return f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def test_an_answer_is_complete_only_with_its_whole_body() -> None:
    whole = reply(200, b'{"items":[]}')
    assert _answer(whole[:10]) is None
    assert _answer(whole[:-1]) is None
    assert _answer(whole) == (200, len(whole))


def test_pipelined_answers_are_read_one_at_a_time() -> None:
    first, second = reply(200, b"abc"), reply(404, b"")
    assert _answer(first + second) == (200, len(first))
    assert _answer(first + second, len(first)) == (404, len(first) + len(second))
    assert _answer(first + second[:5], len(first)) is None


def test_an_answer_without_a_length_is_an_error() -> None:
    with pytest.raises(ValueError, match="Content-Length"):
        _answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")


async def _serve_and_load(rate: float, seconds: float) -> dict:
    async def handle(request: web.Request) -> web.Response:
        user = request.match_info["user"]
        return web.Response(text=user, status=404 if user == "u_srv1" else 200)

    app = web.Application()
    app.router.add_get("/api/recs/{user}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        return await load(f"http://127.0.0.1:{port}/api/recs/", users=4, rate=rate, seconds=seconds, connections=3)
    finally:
        await runner.cleanup()


def test_every_request_is_answered_counted_and_timed_from_its_due_time() -> None:
    result = asyncio.run(_serve_and_load(rate=400, seconds=0.5))
    assert result["requests"] == 200
    assert len(result["latency_ms"]) == len(result["send_lag_ms"]) == 200
    assert result["errors"] == 50  # every fourth request asks for u_srv1, answered 404
    assert all(lat >= lag >= -1.0 for lat, lag in zip(result["latency_ms"], result["send_lag_ms"], strict=True))
