"""Open-loop HTTP load from its own process: request i is due at start + i / rate.

    python -m bench.httpload URL_PREFIX --users N --rate R --seconds S --out J

Each request asks for ``URL_PREFIX + user`` (users in turn). Latency counts from the moment a
request was due, not from when it was sent, so a late generator or a queueing server cannot hide
delay (no coordinated omission); ``send_lag`` (sent - due) shows whether the generator itself
kept up: when its p99 stays at a few ms, the generator was not the bottleneck.

The generator is lean so that it leaves the machine's cores to the server: a fixed pool of
keep-alive HTTP/1.1 connections driven as asyncio protocols, each request written as bytes to the
least busy connection (pipelined behind earlier ones only when every connection is busy), each
answer read by its Content-Length. An aiohttp client cost 300-390 us of CPU per request here,
nearly half a core at 2,000 requests/s on a 2-core machine that also runs the server.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

Result = tuple[float, float, int]  # (latency ms from due, send lag ms, HTTP status; 0 = no answer)


class Conn(asyncio.Protocol):
    """One keep-alive connection: requests in flight in order, answers parsed as they arrive."""

    def __init__(self, out: list[Result]) -> None:
        self.out, self.buf = out, b""
        self.waiting: collections.deque[tuple[float, float]] = collections.deque()  # (due, sent)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes, due: float) -> None:
        self.waiting.append((due, time.perf_counter()))
        assert self.transport is not None
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        buf, pos = self.buf + data, 0
        while self.waiting and (answer := _answer(buf, pos)) is not None:
            status, pos = answer
            self._finish(status)
        self.buf = buf[pos:]  # one copy per read, however many answers it held

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        while self.waiting:
            self._finish(0)

    def _finish(self, status: int) -> None:
        """Record the oldest request in flight as answered now with ``status``."""
        due, sent = self.waiting.popleft()
        self.out.append(((time.perf_counter() - due) * 1000, (sent - due) * 1000, status))


def _answer(buf: bytes, pos: int = 0) -> tuple[int, int] | None:
    """(status, end offset) of the complete answer at ``buf[pos:]``, None while it is incomplete."""
    end = buf.find(b"\r\n\r\n", pos)
    if end < 0:
        return None
    head = buf[pos:end].decode("latin-1").split("\r\n")
    length = next((int(h.split(":", 1)[1]) for h in head[1:] if h.lower().startswith("content-length:")), None)
    if length is None:
        raise ValueError(f"answer without Content-Length: {head[0]!r}")
    used = end + 4 + length
    return (int(head[0].split()[1]), used) if len(buf) >= used else None


async def load(prefix: str, users: int, rate: float, seconds: float, connections: int = 64) -> dict[str, Any]:
    url = urllib.parse.urlsplit(prefix)
    loop, results = asyncio.get_running_loop(), list[Result]()
    pool: list[Conn] = []
    for _ in range(connections):
        _, conn = await loop.create_connection(lambda: Conn(results), url.hostname or "127.0.0.1", url.port or 80)
        pool.append(conn)
    head = f" HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode()
    requests = [f"{url.path}u_srv{u}".encode() + head for u in range(users)]  # GET line tails, pre-encoded
    start, n = time.perf_counter(), int(rate * seconds)
    for i in range(n):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        conn = min(pool, key=lambda c: len(c.waiting) if c.transport is not None else sys.maxsize)
        if conn.transport is None:
            raise ConnectionError(f"the server closed all {connections} connections")
        conn.send(b"GET " + requests[i % users], due)
    deadline = time.perf_counter() + 30.0  # answers still missing then count as errors
    while len(results) < n and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - start
    for conn in pool:
        if conn.transport is not None:
            conn.transport.abort()  # connection_lost records what is still in flight as status 0
    await asyncio.sleep(0)
    return {"requests": n, "seconds": elapsed, "rate": n / elapsed,
            "errors": len([r for r in results if r[2] != 200]),
            "latency_ms": [r[0] for r in results], "send_lag_ms": [r[1] for r in results]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.httpload", description=__doc__.split("\n")[0])
    parser.add_argument("prefix", help="http://host:port/path/ the user key is appended to")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=2_000.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections in the pool")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    gc.freeze()
    gc.disable()  # a collection over the run's results would stall sends and count as server latency
    result = asyncio.run(load(args.prefix, args.users, args.rate, args.seconds, args.connections))
    args.out.write_text(json.dumps(result))
    print(json.dumps({k: v for k, v in result.items() if not k.endswith("_ms")}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
