"""Flink state per shopper, from the job's own checkpoints.

The job (its default parallelism, live mode, hashmap state backend: every checkpoint is a full copy) reads
``state_users`` shoppers' journeys, stamped three days in the past. Checkpoint sizes (REST
``state_size`` of the latest completed checkpoint, every operator, keyed state and timers):

- baseline: the job before any event;
- active: every event processed (sessions open, dedup ids remembered);
- sessions ended: event time moved 2 h on (a few clock events on every partition), so every
  session's inactivity gap and abandonment window have passed: the shopper is idle;
- after dedup TTL: event time moved 28 h on, past the 24 h dedup TTL and its cleanup timers
  (rounded up to TTL/8 steps), so remembered event ids are gone.

Per shopper = (size - baseline) / distinct devices (each shopper here has one device; signed-in
shoppers have a user key too, and both keys' state is counted).
"""
from __future__ import annotations

import time
from typing import Any

from bench import stack
from bench.jobrun import FlinkRun
from bench.loadgen import producer
from bench.measure import wait_for
from bench.pool import CHUNK_USERS, PoolSpec, chunk_events, encode
from bench.settings import Settings
from bench.throughput import job_spec
from udfs.journey import Journey

HOUR_MS = 3_600_000


def _send(topic: str, events: list[dict[str, Any]]) -> int:
    p = producer(stack.bootstrap(), 5)
    for (key, value), e in zip(encode(events), events, strict=True):
        p.produce(topic, value, key, timestamp=e["event_time"])
        p.poll(0)
    p.flush(60)
    return len(events)


def clock_events(t: int, n: int = 8) -> list[dict[str, Any]]:
    """Page views at event time ``t`` from ``n`` keys (so every partition's time moves)."""
    return [Journey(anonymous_id=f"anon-clock-{t}-{i}", start_ms=t, session_id=f"clock-{i}").page("/").events[0]
            for i in range(n)]


def checkpoint_after(job: FlinkRun, timeout_s: float = 120.0) -> float:
    """State size of the second checkpoint completed from now (so it started after now)."""
    first = _latest(job)[0]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        cid, size = _latest(job)
        if cid >= first + 2:
            return size
        time.sleep(1.0)
    raise TimeoutError("no checkpoint completed")


def _latest(job: FlinkRun) -> tuple[int, float]:
    completed = (job.checkpoints().get("latest") or {}).get("completed") or {}
    return int(completed.get("id", 0)), float(completed.get("state_size", 0))


def run(s: Settings) -> dict[str, Any]:
    spec, base = PoolSpec(population=s.state_users, prefix="st"), int(time.time() * 1000) - 72 * HOUR_MS
    events = [e for c in range(max(1, s.state_users // CHUNK_USERS)) for e in chunk_events(spec, c, base)]
    devices = len({e["anonymous_id"] for e in events})
    users = len({e["user_id"] for e in events if e["user_id"]})
    name = stack.run_name("state")
    cfg = stack.job_config(name, checkpoint_interval_ms=min(s.checkpoint_ms, 5_000))
    print(f"==> state: {len(events):,} events of {devices:,} shoppers ({users:,} signed in) ...", flush=True)
    with FlinkRun(name, job_spec("job", cfg)) as job:
        job.wait_running()
        sizes = {"baseline": checkpoint_after(job)}
        clean, sent = stack.OffsetProbe(cfg.clean_topic), _send(cfg.events_topic, events)
        wait_for(clean.count, sent, 600)
        sizes["active"] = checkpoint_after(job)
        end = max(e["event_time"] for e in events)
        for label, t in (("sessions_ended", end + 2 * HOUR_MS), ("after_dedup_ttl", end + 28 * HOUR_MS)):
            sent += _send(cfg.events_topic, clock_events(t))
            wait_for(clean.count, sent, 120)
            sizes[label] = checkpoint_after(job)
        clean.close()
    per = {k: (v - sizes["baseline"]) / devices for k, v in sizes.items() if k != "baseline"}
    print("    bytes per shopper: " + ", ".join(f"{k} {v:,.0f}" for k, v in per.items()), flush=True)
    return {"events": len(events), "devices": devices, "users": users, "sizes": sizes, "bytes_per_shopper": per}

