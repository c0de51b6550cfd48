"""Open-loop HTTP load from its own process: request i is due at start + i / rate.

    python -m bench.httpload URL_PREFIX --users N --rate R --seconds S --out J

Each request asks for ``URL_PREFIX + user`` (users in turn). Latency counts from the moment a
request was due, not from when it was sent, so a late generator or a queueing server cannot hide
delay (no coordinated omission); ``send_lag`` (sent - due) shows whether the generator itself
kept up: when its p99 stays at a few ms, the generator was not the bottleneck.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp


async def _one(session: aiohttp.ClientSession, url: str, due: float, out: list[tuple[float, float, int]]) -> None:
    sent = time.perf_counter()
    try:
        async with session.get(url) as reply:
            await reply.read()
            status = reply.status
    except aiohttp.ClientError:
        status = 0
    done = time.perf_counter()
    out.append(((done - due) * 1000, (sent - due) * 1000, status))


async def load(prefix: str, users: int, rate: float, seconds: float) -> dict[str, Any]:
    results: list[tuple[float, float, int]] = []
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks, start, n = [], time.perf_counter(), int(rate * seconds)
        for i in range(n):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_one(session, f"{prefix}u_srv{i % users}", due, results)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return {"requests": n, "seconds": elapsed, "rate": n / elapsed,
            "errors": sum(1 for _, _, s in results if s != 200),
            "latency_ms": [r[0] for r in results], "send_lag_ms": [r[1] for r in results]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.httpload", description=__doc__.split("\n")[0])
    parser.add_argument("prefix")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=2_000.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    gc.freeze()
    gc.disable()  # a collection over the run's tasks would stall sends and count as server latency
    result = asyncio.run(load(args.prefix, args.users, args.rate, args.seconds))
    args.out.write_text(json.dumps(result))
    print(json.dumps({k: v for k, v in result.items() if not k.endswith("_ms")}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
