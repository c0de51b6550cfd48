"""Throughput: load generator ceiling, raw read rate, passthroughs and the whole job, in one run.

1. The pool is preloaded into a topic by the load generator at full speed: its ceiling.
2. A confluent-kafka consumer reads that topic from the start: the raw read rate.
3. Each Flink job drains the same backlog from the start (Java-only passthrough, Python-map
   passthrough at parallelism 2 and 1, the whole job at parallelism 2 and 1). Its rate is the growth of its output topic
   (one record out per record in: the copy, or the job's clean events), over the samples after
   the first two (start-up) and before the backlog ran out. Variants: a Python passthrough with a
   keyed hop (the plumbing of one keyed stage), and the whole job without the model (rules
   alone), to price the scoring, and the whole job in Python's process execution mode.
4. Sustained: the whole job at its default parallelism (1 on the embedded mini-cluster) on an
   empty topic while the generator sends at a share of its drain rate for ``sustain_s``. Lag =
   records produced - clean events written. It is flat when, over the last two thirds of the
   run, its least-squares slope is below 1% of the input rate and it stays below 5 s of input.
   The shares of ``sustain_shares`` (90%, 80%, 70%) are tried in turn until one is flat.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from bench import stack
from bench.jobrun import FlinkRun
from bench.measure import Series, finish, loadgen, sample, wait_for
from bench.model import build_export
from bench.settings import DEFAULT_JOB, ROOT, Settings, state_path

DRAINS = (("passthrough-java", "passthrough-java", 2, False, ""),
          ("passthrough-python", "passthrough-python", 2, False, ""),
          ("passthrough-python-p1", "passthrough-python", 1, False, ""),
          ("passthrough-python-keyed", "passthrough-python-keyed", 2, False, ""),
          ("job-p2", "job", 2, True, ""), ("job-p1", "job", 1, True, ""), ("job-p2-rules", "job", 2, False, ""),
          ("job-p2-process-mode", "job", 2, True, "process"))
"""(label, kind, parallelism, with the model, Python execution mode if not thread) of each drain."""


def ensure_pool(events: int) -> str:
    """The encoded pool of ``events`` records (created once, reused by later runs)."""
    path = state_path(f"pool-{events}.bin")
    if not path.exists():
        print(f"==> encoding {events:,} events into {path.name} (once) ...", flush=True)
        proc = loadgen(["pool", str(path), "--events", str(events)], "pool")
        if proc.wait() != 0:
            raise RuntimeError("encoding the pool failed: see .state/bench/pool.log")
    return str(path)


def preload(pool: str, events: int) -> tuple[str, dict[str, Any]]:
    """A new topic holding the pool; the generator's own ceiling measured while filling it."""
    topic = stack.run_name("preload")
    stack.create_topics([topic])
    out = state_path("blast.json")
    print(f"==> load generator ceiling: {events:,} records into {topic} ...", flush=True)
    result = finish(loadgen(["blast", pool, topic, "--events", str(events), "--bootstrap", stack.bootstrap(),
                             "--out", str(out)], "blast"), out)
    print(f"    {result['rate']:,.0f} records/s", flush=True)
    return topic, result


def raw_read(topic: str, total: int) -> dict[str, Any]:
    """confluent-kafka reading ``topic`` from the start (values touched, not decoded)."""
    consumer = Consumer({"bootstrap.servers": stack.bootstrap(), "group.id": stack.run_name("raw"),
                         "enable.auto.commit": False, "fetch.max.bytes": 52_428_800})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(stack.PARTITIONS)])
    start, read, size = time.perf_counter(), 0, 0
    while read < total and time.perf_counter() - start < 300:
        for msg in consumer.consume(10_000, 1.0):
            if msg.error() is None:
                read += 1
                size += len(msg.value() or b"")
    elapsed = time.perf_counter() - start
    consumer.close()
    print(f"==> raw read: {read:,} records in {elapsed:.1f} s = {read / elapsed:,.0f}/s", flush=True)
    return {"records": read, "seconds": elapsed, "rate": read / elapsed, "avg_bytes": size / max(read, 1)}


def steady(out: Series, cpu: Series, total: int) -> dict[str, Any]:
    """Rate and CPU per record over the samples after start-up and before the backlog ran out."""
    pts = [p for p in out.points if p[1] > 0]
    kept = [p for p in pts[2:] if p[1] < total]
    if len(kept) < 2:  # a short smoke run: use what there is
        kept = pts
    first, last = kept[0], kept[-1]
    cpu_at = dict(cpu.points)
    rate = (last[1] - first[1]) / (last[0] - first[0]) if last[0] > first[0] else 0.0
    records = max(last[1] - first[1], 1.0)
    return {"rate": rate, "window_s": last[0] - first[0], "records": records,
            "cpu_us_per_record": (cpu_at[last[0]] - cpu_at[first[0]]) / records * 1e6,
            "sample_rates": [round(r) for r in out.rates()]}


def job_spec(kind: str, cfg: Any, out_topic: str = "", model: bool = True, **extra: Any) -> dict[str, Any]:
    """What ``bench.flinkjob`` runs; the whole job scores with the bench model unless ``model`` is off."""
    model_dir = str(build_export()) if kind == "job" and model else ""
    # only what differs from the defaults, so an earlier commit's job (bench.compare) accepts it
    config = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if getattr(cfg, f.name) != f.default}
    return {"kind": kind, "config": config, "out_topic": out_topic, "model": model_dir, **extra}


def drain(label: str, kind: str, topic: str, total: int, s: Settings, parallelism: int = 2,
          model: bool = True, execution_mode: str = "", root: Path = ROOT) -> dict[str, Any]:
    """A Flink job draining the preloaded ``topic``; its steady rate. ``root``: the checkout
    whose job runs (``bench.compare`` drains an earlier commit's job too)."""
    run = stack.run_name(label)
    cfg = stack.job_config(run, events_topic=topic, parallelism=parallelism, checkpoint_interval_ms=s.checkpoint_ms)
    out_topic = cfg.clean_topic if kind == "job" else f"{run}.copy"
    if kind != "job":
        stack.create_topics([out_topic])
    print(f"==> {label}: {kind} at parallelism {parallelism} draining {total:,} records ...", flush=True)
    with FlinkRun(run, job_spec(kind, cfg, out_topic, model, execution_mode=execution_mode), root=root) as job:
        job.wait_running()
        probe = stack.OffsetProbe(out_topic)
        wait_for(probe.count, 1, 180)
        series = sample(s.sample_s, s.drain_window_s, {"out": probe.count, "cpu": job.cpu_seconds},
                        until=lambda ss: ss["out"].last() >= total, label=label)
        probe.close()
    result = {"kind": kind, "parallelism": parallelism, "model": model and kind == "job", "mode": execution_mode,
              **steady(series["out"], series["cpu"], total)}
    print(f"    {label}: {result['rate']:,.0f} records/s, {result['cpu_us_per_record']:.0f} us CPU/record", flush=True)
    return result


def lag_verdict(lag: Series, rate: float) -> dict[str, Any]:
    slope = lag.slope(skip=1 / 3)
    tail_max = max((v for t, v in lag.points[len(lag.points) // 3:]), default=0.0)
    flat = slope < 0.01 * rate and tail_max < 5 * rate
    return {"lag_slope_per_s": slope, "lag_max_tail": tail_max, "flat": flat,
            "lag": [round(v) for _, v in lag.points]}


def paced_job(pool: str, rate: float, s: Settings, label: str = "sustain") -> dict[str, Any]:
    """The whole job on a new topic fed at ``rate`` for ``sustain_s``; lag over time."""
    run = stack.run_name(label)
    cfg = stack.job_config(run, checkpoint_interval_ms=s.checkpoint_ms)  # the job's default parallelism
    print(f"==> {label}: whole job at {rate:,.0f} records/s for {s.sustain_s:.0f} s ...", flush=True)
    with FlinkRun(run, job_spec("job", cfg)) as job:
        job.wait_running()
        src, out = stack.OffsetProbe(cfg.events_topic), stack.OffsetProbe(cfg.clean_topic)
        gen_out = state_path(f"{label}.json")
        gen = loadgen(["paced", pool, cfg.events_topic, "--rate", str(rate), "--seconds", str(s.sustain_s),
                       "--bootstrap", stack.bootstrap(), "--out", str(gen_out)], label)
        wait_for(src.count, 1, 120)
        series = sample(s.sample_s, s.sustain_s - 2 * s.sample_s, {"in": src.count, "out": out.count,
                                                                   "cpu": job.cpu_seconds}, label=label)
        sent = finish(gen, gen_out)
    lag = Series("lag", [(t, a - b) for (t, a), (_, b) in zip(series["in"].points, series["out"].points,
                                                             strict=True)])
    result = {"target_rate": rate, "sent_rate": sent["rate"], "out_rate": series["out"].slope(1 / 3),
              **lag_verdict(lag, rate)}
    print(f"    {label}: lag slope {result['lag_slope_per_s']:,.0f}/s, flat={result['flat']}", flush=True)
    return result


def run(s: Settings) -> dict[str, Any]:
    """Every throughput measurement, in one run."""
    pool = ensure_pool(s.events)
    topic, ceiling = preload(pool, s.events)
    res: dict[str, Any] = {"ceiling": ceiling, "raw_read": raw_read(topic, s.events)}
    for label, kind, par, model, mode in DRAINS:
        res[label] = drain(label, kind, topic, s.events, s, par, model, mode)
    drained = res[DEFAULT_JOB]["rate"]
    res["sustain_attempts"] = []
    for share in s.sustain_shares:
        res["sustained"] = paced_job(pool, share * drained, s, f"sustain-{round(share * 100)}")
        res["sustain_attempts"].append({"share": share, **{k: res["sustained"][k] for k in (
            "target_rate", "out_rate", "lag_slope_per_s", "flat")}})
        if res["sustained"]["flat"]:
            break
    return res
