"""Where the time goes in the running job: Flink's own per-operator busy time, plus the Python profile.

Flink side: the whole job with operator chaining off (every operator its own task, so each gets
its own numbers) is fed at the sustained rate; its REST API gives, per operator and summed over
subtasks, ``busyTimeMsPerSecond`` (working), ``backPressuredTimeMsPerSecond`` (blocked on the
next operator) and ``idleTimeMsPerSecond``, averaged over the samples after a warm-up. An
operator is Python when it runs a Python function in thread mode (the job's functions, the
lambdas of filter/map/flat_map and the key selectors ``_stream_key_by_map_operator``), else
Java (Kafka sources and sinks, SQL Calc, the table/stream conversions). Chaining off adds a
serialization hop between every pair of operators, so the absolute numbers are higher than in
the chained job; the shares show the order of the costs.

Python side: ``bench.pyprofile`` (the same functions outside Flink, timed and cProfiled).
"""
from __future__ import annotations

import time
from typing import Any

from bench import pyprofile, stack
from bench.jobrun import FlinkRun
from bench.measure import finish, loadgen, wait_for
from bench.settings import Settings, state_path
from bench.throughput import job_spec

METRICS = ["busyTimeMsPerSecond", "backPressuredTimeMsPerSecond", "idleTimeMsPerSecond"]
JAVA_MARKERS = ("Source:", "Calc", "ConstraintEnforcer", "TableToDataStream", "Writer", "Committer",
                "anonymous_datastream_source", "_sink")
PYTHON_MARKERS = ("decode-validate", "dedup-identity", "triggers", "encode-clean", "Filter", "FlatMap", "Map",
                  "_stream_key_by_map_operator", "time")


def language(name: str) -> str:
    if any(m in name for m in JAVA_MARKERS):
        return "Java"
    return "Python" if any(m in name for m in PYTHON_MARKERS) else "?"


def _sample(job: FlinkRun) -> dict[str, dict[str, float]]:
    out = {}
    for v in job.vertices():
        m = job.vertex_metrics(v["id"], METRICS)
        out[v["name"]] = {k: m.get(f"{k}.sum", 0.0) for k in METRICS} | {"parallelism": float(v["parallelism"])}
    return out


def _average(samples: list[dict[str, dict[str, float]]]) -> list[dict[str, Any]]:
    names = samples[0].keys()
    rows: list[dict[str, Any]] = []
    for name in names:
        avg = {k: sum(s[name][k] for s in samples if name in s) / len(samples) for k in METRICS}
        rows.append({"operator": name[:90], "language": language(name), **avg})
    return sorted(rows, key=lambda r: -r["busyTimeMsPerSecond"])


def flink_busy(pool: str, rate: float, s: Settings, seconds: float) -> dict[str, Any]:
    """Per-operator busy/back-pressured/idle ms per second with chaining off, fed at ``rate``."""
    run = stack.run_name("profile")
    cfg = stack.job_config(run, checkpoint_interval_ms=s.checkpoint_ms)
    print(f"==> profile: whole job, chaining off, at {rate:,.0f} records/s for {seconds:.0f} s ...", flush=True)
    with FlinkRun(run, job_spec("job", cfg, chaining=False)) as job:
        job.wait_running()
        gen_out = state_path("profile-gen.json")
        gen = loadgen(["paced", pool, cfg.events_topic, "--rate", str(rate), "--seconds", str(seconds),
                       "--bootstrap", stack.bootstrap(), "--out", str(gen_out)], "profile-gen")
        out = stack.OffsetProbe(cfg.clean_topic)
        wait_for(out.count, 1, 120)
        time.sleep(min(20.0, seconds / 4))
        samples, cpu0, n0, t0 = [], job.cpu_seconds(), out.count(), time.monotonic()
        while time.monotonic() - t0 < seconds / 2:
            samples.append(_sample(job))
            time.sleep(s.sample_s)
        cpu_us = (job.cpu_seconds() - cpu0) / max(out.count() - n0, 1) * 1e6
        out_rate = (out.count() - n0) / (time.monotonic() - t0)
        finish(gen, gen_out)
    rows = _average(samples)
    share = {lang: sum(r["busyTimeMsPerSecond"] for r in rows if r["language"] == lang) for lang in ("Python", "Java")}
    for r in rows[:8]:
        print(f"    {r['busyTimeMsPerSecond']:6.0f} busy ms/s  {r['language']:6s} {r['operator'][:70]}", flush=True)
    return {"rate": rate, "out_rate": out_rate, "cpu_us_per_record": cpu_us, "operators": rows,
            "busy_by_language": share}


def run(s: Settings, pool: str, rate: float) -> dict[str, Any]:
    return {"python": pyprofile.run(4_000 if s.quick else 20_000),
            "flink": flink_busy(pool, rate, s, 40.0 if s.quick else 120.0)}
