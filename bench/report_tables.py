"""The Markdown tables of BENCHMARKS.md, one function per section of the results (empty when absent)."""
from __future__ import annotations

from typing import Any

from bench.settings import DEFAULT_JOB, PYTHON_PASSTHROUGHS

NOT_RUN = "not measured yet"


def _f(x: float | None, digits: int = 0) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"


def header(r: dict[str, Any], kept_rows: list[list[str]] | None = None) -> str:
    run = r.get("run", {})
    if not run:
        return ""
    kv = [[k, str(v)] for k, v in {**run.get("machine", {}), **run.get("versions", {})}.items()]
    settings = ", ".join(f"{k}={v}" for k, v in run.get("settings", {}).items())
    return (f"## Run\n\nCommand: `{run.get('command')}` (started {run.get('started')}, finished "
            f"{run.get('finished', '-')}; load average at the end {run.get('load_end', '-')}).\n\n"
            f"Settings: {settings}\n\n" + _table(["machine / version", "value"], kv) + sections(r, kept_rows))


def sections(r: dict[str, Any], kept_rows: list[list[str]] | None = None) -> str:
    """When each section was last measured, and on which commit (sections can come from
    different commands, e.g. ``bench all`` and a later ``bench throughput``). ``kept_rows``:
    the committed rows of the sections whose tables were kept from BENCHMARKS.md."""
    meta = {k: v for k, v in r.get("meta", {}).items() if k not in ("run", "compare_run") and "at" in v}
    rows = [[name, str(m["at"]), _f(m.get("seconds", 0) / 60, 1), str(m.get("commit", "-"))]
            for name, m in meta.items()] + (kept_rows or [])
    if not rows:
        return ""
    return "\n" + _table(["section", "finished", "minutes", "commit"], sorted(rows, key=lambda row: row[0]))


def _verdict(ok: bool | None) -> str:
    return NOT_RUN if ok is None else ("met" if ok else "**missed**")


def budgets(r: dict[str, Any]) -> str:
    t, lat, sc, sv, st = (r.get(k, {}) for k in ("throughput", "latency", "scoring", "serving", "state"))
    rows = []
    sus = t.get("sustained", {})
    if t:
        rate, (job, ref) = sus.get("target_rate", 0.0), job_against_passthrough(t)
        rows.append(["whole job >= 50,000 events/s sustained, flat lag", f"{rate:,.0f}/s (flat={sus.get('flat')})",
                     _verdict(rate >= 50_000 and bool(sus.get("flat")))])
        rows.append(["whole job >= 1/2 of a Python passthrough (each at its faster parallelism)",
                     f"{job / ref:.3f}", _verdict(job >= ref / 2)])
    for mode, limit in (("at-least-once", 250.0), ("exactly-once", None)):
        p99 = lat.get(mode, {}).get("ms", {}).get("p99")
        checkpoint_ms = r.get("run", {}).get("settings", {}).get("checkpoint_ms", 10_000)
        bound = limit if limit is not None else checkpoint_ms + 1_000
        rows.append([f"trigger latency p99 {mode} <= {bound:,.0f} ms", f"{_f(p99)} ms",
                     _verdict(None if p99 is None else p99 <= bound)])
    ab = lat.get("abandoned_cart", {}).get("ms", {}).get("max")
    rows.append(["abandoned_cart within 1 s of the window (idle stream), max", f"{_f(ab)} ms",
                 _verdict(None if ab is None else ab <= 1_000)])
    b1 = sc.get("50 steps, batch 1", {})
    p99 = b1.get("onnx-fp32", {}).get("p99")
    rows.append(["scoring p99 <= 1 ms per session, batch 1, one thread (fp32, 50 steps)", f"{_f(p99, 3)} ms",
                 _verdict(None if p99 is None else p99 <= 1.0)])
    speed = b1["torch-eager"]["p50"] / b1["onnx-fp32"]["p50"] if b1 else None
    rows.append(["ONNX Runtime >= 2x torch eager (p50, batch 1, 50 steps)", f"{_f(speed, 2)}x",
                 _verdict(None if speed is None else speed >= 2.0)])
    sp99 = sv.get("latency_ms", {}).get("p99")
    rows.append(["recommendation API p99 <= 5 ms at 2,000 requests/s", f"{_f(sp99, 1)} ms",
                 _verdict(None if sp99 is None else sp99 <= 5.0)])
    idle = st.get("bytes_per_shopper", {}).get("sessions_ended")
    rows.append(["Flink state <= 2 KB per idle user (sessions ended)", f"{_f(idle)} B",
                 _verdict(None if idle is None else idle <= 2048)])
    return "## Budgets (DESIGN.md section 7)\n\n" + _table(["budget", "measured", "verdict"], rows)


def job_against_passthrough(t: dict[str, Any]) -> tuple[float, float]:
    """(the job's drain at its default parallelism, the faster Python passthrough drain): the
    budget's ratio compares the job as it runs with the best the plumbing reached."""
    job = t.get(DEFAULT_JOB, t.get("job-p2", {})).get("rate", 0.0)
    refs = [t[k]["rate"] for k in PYTHON_PASSTHROUGHS if k in t]
    return job, max(refs, default=1.0)


def throughput(r: dict[str, Any]) -> str:
    t = r.get("throughput")
    if not t:
        return "## Throughput\n\n" + NOT_RUN + "\n"
    ref = t["passthrough-python"]["rate"]
    rows = [["load generator ceiling (confluent-kafka, pre-encoded)", _f(t["ceiling"]["rate"]), "-", "-"],
            ["raw read (confluent-kafka consumer)", _f(t["raw_read"]["rate"]), "-", "-"]]
    for label, res in t.items():
        if isinstance(res, dict) and "cpu_us_per_record" in res:
            mode = f", {res['mode']} mode" if res.get("mode") else ""
            name = f"{label} (parallelism {res['parallelism']}{', model' if res.get('model') else ''}{mode})"
            rows.append([name, _f(res["rate"]), _f(res["rate"] / ref, 3), _f(res["cpu_us_per_record"])])
    s = t.get("sustained", {})
    rows.append([f"whole job paced at {s.get('target_rate', 0):,.0f}/s: lag slope {s.get('lag_slope_per_s', 0):,.1f}"
                 f"/s, max lag {s.get('lag_max_tail', 0):,.0f}, flat={s.get('flat')}", _f(s.get("out_rate")), "-", "-"])
    tried = "; ".join(f"{a['share']:.0%} of the drain ({a['target_rate']:,.0f}/s): lag slope "
                      f"{a['lag_slope_per_s']:,.1f}/s, flat={a['flat']}" for a in t.get("sustain_attempts", []))
    return ("## Throughput (one run; records/s)\n\n" + _table(
        ["measurement", "records/s", "vs Python passthrough", "CPU us/record (job process tree)"], rows)
        + (f"\nPaced runs, in turn until one was flat: {tried}\n" if tried else "")
        + f"\nLag samples of the paced run: {s.get('lag')}\n")


def cluster(r: dict[str, Any]) -> str:
    c = r.get("cluster")
    if not c:
        return "## Scale-out\n\n" + NOT_RUN + "\n"
    rows = [[f"{v['taskmanagers']} TaskManager(s), 2 slots in all", _f(v["rate"]), _f(v["cpu_us_per_record"])]
            for v in c.values()]
    return ("## Scale-out: the whole job (parallelism 2, model) on a session cluster (records/s)\n\n"
            + _table(["set-up", "records/s", "CPU us/record (cluster processes)"], rows))


def latency(r: dict[str, Any]) -> str:
    lat = r.get("latency")
    if not lat:
        return "## Trigger latency\n\n" + NOT_RUN + "\n"
    rows = []
    for mode in ("at-least-once", "exactly-once"):
        m = lat[mode]
        ms = m["ms"]
        rows.append([mode, f"{m['rate']:,.0f}/s", f"{m['probes'] - m['missing']}/{m['probes']}",
                     *(_f(ms.get(q)) for q in ("p50", "p95", "p99", "max"))])
    ab = lat["abandoned_cart"]
    rows.append([f"abandoned_cart after its {ab['window_ms']} ms window (idle stream)", "-",
                 f"{ab['fired']}/{ab['carts']}", *(_f(ab["ms"].get(q)) for q in ("p50", "p95", "p99", "max"))])
    return "## Trigger latency (ms, decisive event produced -> trigger readable)\n\n" + _table(
        ["mode", "background load", "probes answered", "p50", "p95", "p99", "max"], rows)


def scoring(r: dict[str, Any]) -> str:
    sc = r.get("scoring")
    if not sc:
        return "## Scoring\n\n" + NOT_RUN + "\n"
    rows = []
    for key, models in sc.items():
        if isinstance(models, dict):
            for name, p in models.items():
                rows.append([key, name, _f(p["p50"], 3), _f(p["p99"], 3)])
    return (f"## Scoring (ms per session, one thread; pool sessions average {sc['mean_pool_steps']:.1f} steps)\n\n"
            + _table(["sessions, batch", "runtime", "p50", "p99"], rows))


def serving(r: dict[str, Any]) -> str:
    sv = r.get("serving")
    if not sv:
        return "## Serving\n\n" + NOT_RUN + "\n"
    lat, lag = sv["latency_ms"], sv["send_lag_ms"]
    rows = [[f"{sv['rate']:,.0f}", f"{sv['achieved_rate']:,.0f}", str(sv["errors"]),
             *(_f(lat.get(q), 2) for q in ("p50", "p95", "p99", "max")), _f(lag.get("p99"), 2)]]
    return "## Serving: GET /api/recs/{user} (ms, from each request's due time)\n\n" + _table(
        ["target req/s", "achieved", "errors", "p50", "p95", "p99", "max", "generator send lag p99"], rows)


def state(r: dict[str, Any]) -> str:
    st = r.get("state")
    if not st:
        return "## State\n\n" + NOT_RUN + "\n"
    rows = [[k, _f(v), _f(st["bytes_per_shopper"].get(k))] for k, v in st["sizes"].items()]
    return (f"## Flink state ({st['devices']:,} shoppers, {st['users']:,} signed in, {st['events']:,} events)\n\n"
            + _table(["checkpoint", "state size (bytes)", "bytes per shopper"], rows))


def profile(r: dict[str, Any]) -> str:
    p = r.get("profile")
    if not p:
        return "## Profile\n\n" + NOT_RUN + "\n"
    fl, py = p["flink"], p["python"]
    ops = [[o["operator"].replace("|", "/"), o["language"], _f(o["busyTimeMsPerSecond"]),
            _f(o["busyTimeMsPerSecond"] / max(fl["out_rate"], 1) * 1000)] for o in fl["operators"][:10]]
    stages = [[k, _f(v, 1)] for k, v in py["us_per_record"].items()]
    top = [[f"`{t['function']}`", _f(t["calls_per_record"], 2), _f(t["own_us"], 1), _f(t["cum_us"], 1)]
           for t in py["top"][:12]]
    return (f"## Profile\n\nFlink, chaining off, fed at {fl['rate']:,.0f}/s (out {fl['out_rate']:,.0f}/s, "
            f"{fl['cpu_us_per_record']:,.0f} us CPU/record); busy ms/s summed over subtasks: "
            f"Python {fl['busy_by_language']['Python']:,.0f}, Java {fl['busy_by_language']['Java']:,.0f}.\n\n"
            + _table(["operator", "language", "busy ms/s", "busy us/record"], ops)
            + f"\nThe job's Python functions outside Flink (one core): {py['total_us_per_record']:,.0f} us/record, "
              f"{py['one_core_rate']:,.0f} records/s.\n\n" + _table(["stage", "us/record"], stages)
            + "\n" + _table(["function (cProfile)", "calls/record", "own us/record", "cumulative us/record"], top))


def compare(r: dict[str, Any]) -> str:
    c = r.get("compare")
    if not c:
        return ""
    rows = [[f"{side} ({c[f'{side}_commit']})", ", ".join(_f(x) for x in c[side]["rates"]), _f(c[side]["rate"]),
             _f(c[side]["cpu_us_per_record"])] for side in ("before", "after")]
    run = r.get("compare_run", {})
    when = f"started {run.get('started', '?')}, finished {run.get('finished', '?')}"
    return (f"## Before and after (`{run.get('command', 'python -m bench compare')}`, {when}; whole job, "
            f"parallelism {c.get('parallelism', 2)}, model; drains alternated)\n\n"
            + _table(["job", "drains (records/s)", "median records/s", "CPU us/record"], rows)
            + f"\nRatio after/before: {_f(c['ratio'], 2)}\n")
