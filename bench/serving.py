"""Serving: the storefront's recommendation API (``GET /api/recs/{user}``) at 2,000 requests/s.

The storefront (``python -m services.storefront``) runs as its own process on the bench Redis,
which holds recommendations and hints for ``USERS`` shoppers in the job's cache layout
(``sp:recs:{user}``, ``sp:hints:{user}``, with a TTL, as ``udfs.cache`` writes them). The load
comes from ``bench.httpload`` in a separate process: open loop, latency from each request's due
time. The first seconds are a warm-up at the same rate and are not counted.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from typing import Any

import redis

from bench import stack
from bench.jobrun import stop_tree
from bench.measure import percentiles
from bench.settings import ROOT, state_path

PORT = 8391
USERS = 10_000
BASE = f"http://127.0.0.1:{PORT}"


def start_storefront() -> subprocess.Popen[bytes]:
    topics = {role: stack.run_name(f"serving-{role}") for role in ("triggers", "erasure", "erasure-done")}
    stack.create_topics(list(topics.values()))  # the live feed reads all three before it pushes anything
    env = {**os.environ, "SP_STOREFRONT_PORT": str(PORT), "SP_STOREFRONT_REDIS_URL": stack.redis_url(),
           "SP_STOREFRONT_BOOTSTRAP_SERVERS": stack.bootstrap(), "SP_STOREFRONT_TRIGGERS_TOPIC": topics["triggers"],
           "SP_STOREFRONT_ERASURE_TOPIC": topics["erasure"], "SP_STOREFRONT_ERASURE_DONE_TOPIC": topics["erasure-done"],
           "SP_STOREFRONT_ALLOW_DEV_KEY": "true"}
    log = state_path("storefront.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "services.storefront"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{BASE}/healthz", timeout=2):
                return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"storefront did not start: see {state_path('storefront.log')}")


def fill_redis() -> int:
    """Recommendations (catalogue ids, from the API's popular answer) and hints for USERS shoppers."""
    with urllib.request.urlopen(f"{BASE}/api/recs/nobody?limit=20", timeout=5) as reply:
        ids = [item.get("product_id") or item.get("id") for item in json.loads(reply.read())["items"]]
    r = redis.Redis.from_url(stack.redis_url())
    pipe = r.pipeline(transaction=False)
    for i in range(USERS):
        pipe.set(f"sp:recs:u_srv{i}", json.dumps(ids[i % 5:][:8]), ex=3600)
        pipe.set(f"sp:hints:u_srv{i}", json.dumps({"visitor": "returning", "highlight": "cart_reminder"}), ex=3600)
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()
    return len(ids)


def _load(rate: float, seconds: float, name: str) -> dict[str, Any]:
    out = state_path(f"{name}.json")
    done = subprocess.run([sys.executable, "-m", "bench.httpload", f"{BASE}/api/recs/", "--users", str(USERS),
                           "--rate", str(rate), "--seconds", str(seconds), "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=seconds + 120)
    if done.returncode != 0:
        raise RuntimeError(f"load process failed: {done.stderr[-2000:]}")
    return dict(json.loads(out.read_text()))


def run(rate: float, seconds: float) -> dict[str, Any]:
    print(f"==> serving: storefront /api/recs at {rate:,.0f} requests/s for {seconds:.0f} s ...", flush=True)
    proc = start_storefront()
    try:
        catalogue_ids = fill_redis()
        _load(rate, min(5.0, seconds), "serving-warmup")
        res = _load(rate, seconds, "serving")
    finally:
        stop_tree(proc, PORT)
    result = {"rate": rate, "achieved_rate": res["rate"], "requests": res["requests"], "errors": res["errors"],
              "latency_ms": percentiles(res["latency_ms"]), "send_lag_ms": percentiles(res["send_lag_ms"]),
              "catalogue_ids": catalogue_ids}
    print(f"    latency {result['latency_ms']}, send lag p99 {result['send_lag_ms'].get('p99', 0):.1f} ms", flush=True)
    return result
