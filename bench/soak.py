"""Soak: the whole job at a steady rate for many minutes: lag, memory and checkpoint size.

    python -m bench.soak [--minutes 15] [--rate 1200] [--state-backend hashmap|rocksdb]

The throughput bench calls a rate sustained when the lag stays flat for 3 minutes. A shop runs
the job for weeks, so this runs it longer and also watches what could grow without bound: the
resident memory of the job's process tree (its JVM holds the thread-mode Python and the heap
state) and the size of the completed checkpoints. The whole job runs as in the throughput bench
(its default parallelism, the bench model, checkpoints every 10 s) on an empty topic. The load
generator sends the pool (unique event ids, a returning population of 50,000 shoppers) at
``--rate`` for ``--minutes``. It must not run out of pool records: a second pass would send
duplicates, which the job drops on purpose. Not part of ``bench all``; prints its table and
writes ``.state/bench/soak.json``.
"""
from __future__ import annotations

import argparse
from typing import Any

from bench import stack
from bench.jobrun import FlinkRun
from bench.measure import Series, finish, loadgen, sample, save_and_print, wait_for
from bench.settings import Settings, state_path
from bench.throughput import ensure_pool, job_spec, lag_verdict

MIB = 1024 * 1024


def checkpoint_mib(job: FlinkRun, field: str = "state_size") -> float:
    """Of the latest completed checkpoint (0 before the first), MiB: ``state_size``, the whole
    state it holds, or ``checkpointed_size``, what it wrote (less, when incremental)."""
    latest = (job.checkpoints().get("latest") or {}).get("completed") or {}
    return float(latest.get(field) or 0) / MIB


def soak(minutes: float, rate: float, state_backend: str = "hashmap", sample_s: float = 10.0) -> dict[str, Any]:
    s = Settings()
    seconds = minutes * 60
    if rate * seconds > s.events:
        raise SystemExit(f"{rate:,.0f}/s for {minutes:g} min needs {rate * seconds:,.0f} records; "
                         f"the pool has {s.events:,}: lower --rate or --minutes")
    stack.fresh()
    pool = ensure_pool(s.events)
    run = stack.run_name("soak")
    cfg = stack.job_config(run, checkpoint_interval_ms=s.checkpoint_ms, state_backend=state_backend)
    print(f"==> soak: whole job ({state_backend} state) at {rate:,.0f} records/s for {minutes:g} min ...", flush=True)
    with FlinkRun(run, job_spec("job", cfg)) as job:
        job.wait_running()
        src, out = stack.OffsetProbe(cfg.events_topic), stack.OffsetProbe(cfg.clean_topic)
        gen_out = state_path("soak-gen.json")
        gen = loadgen(["paced", pool, cfg.events_topic, "--rate", str(rate), "--seconds", str(seconds),
                       "--bootstrap", stack.bootstrap(), "--out", str(gen_out)], "soak-gen")
        wait_for(src.count, 1, 120)
        series = sample(sample_s, seconds - 2 * sample_s, {
            "in": src.count, "out": out.count, "rss_mib": lambda: job.rss_bytes() / MIB,
            "checkpoint_mib": lambda: checkpoint_mib(job),
            "written_mib": lambda: checkpoint_mib(job, "checkpointed_size"), "cpu": job.cpu_seconds}, label="soak")
        sent = finish(gen, gen_out)
    return {"state_backend": state_backend, **summarize(series, rate, sent, minutes)}


def summarize(series: dict[str, Series], rate: float, sent: dict[str, Any], minutes: float) -> dict[str, Any]:
    lag = Series("lag", [(t, a - b) for (t, a), (_, b) in zip(series["in"].points, series["out"].points,
                                                             strict=True)])
    return {"minutes": minutes, "target_rate": rate, "sent_rate": sent["rate"], "out_rate": series["out"].slope(1 / 3),
            **lag_verdict(lag, rate),
            **{name: thirds(series[name]) for name in ("rss_mib", "checkpoint_mib", "written_mib")},
            "cpu_us_per_record": _cpu_per_record(series),
            "samples": {name: [(round(t), round(v, 1)) for t, v in s.points] for name, s in series.items()}}


def thirds(series: Series) -> dict[str, float]:
    """A series' value after one third, after two thirds and at the end of the run: memory that
    grows in steps (the JVM enlarging its heap) and then holds shows apart from a steady climb."""
    n = len(series.points)
    return {"after_a_third": series.points[n // 3][1], "after_two_thirds": series.points[2 * n // 3][1],
            "end": series.last()}


def _cpu_per_record(series: dict[str, Series]) -> float:
    """CPU per clean event after the first minute (start-up and the JIT's warm-up left out)."""
    cpu, out = series["cpu"].points, series["out"].points
    first = next((i for i, (t, _) in enumerate(cpu) if t >= 60), 0)
    return (cpu[-1][1] - cpu[first][1]) / max(out[-1][1] - out[first][1], 1) * 1e6


def lines(r: dict[str, Any]) -> list[str]:
    return [
        "| rate sent | clean out (last 2/3) | lag slope | max lag (last 2/3) | flat | CPU us/record |",
        "|---|---|---|---|---|---|",
        f"| {r['sent_rate']:,.0f}/s | {r['out_rate']:,.0f}/s | {r['lag_slope_per_s']:,.1f}/s | "
        f"{r['lag_max_tail']:,.0f} | {r['flat']} | {r['cpu_us_per_record']:,.0f} |",
        "",
        "| over the run | after a third | after two thirds | at the end |",
        "|---|---|---|---|",
        *(f"| {name} | {r[name]['after_a_third']:,.0f} MiB | {r[name]['after_two_thirds']:,.0f} MiB | "
          f"{r[name]['end']:,.0f} MiB |" for name in ("rss_mib", "checkpoint_mib", "written_mib")),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--rate", type=float, default=1200.0, help="records/s the generator sends")
    parser.add_argument("--state-backend", choices=["hashmap", "rocksdb"], default="hashmap",
                        help="the job's SP_JOB_STATE_BACKEND")
    args = parser.parse_args(argv)
    result = soak(args.minutes, args.rate, args.state_backend)
    save_and_print("soak", result, lines(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
