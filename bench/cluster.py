"""Scale-out: the whole job on a standalone session cluster with one or two TaskManagers.

In thread mode every Python function of a TaskManager runs in that JVM's one embedded
interpreter, under one GIL, so a TaskManager's Python uses one core at most whatever the
parallelism. Two TaskManagers with one slot each give the job two interpreters. Both set-ups
run back to back on the same backlog (the job at parallelism 2, with the model), through the
project's cluster scripts (``services/stack/flink_cluster.py``) on REST port ``PORT``.
"""
from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import stack
from bench.jobrun import _cpu, _port_open
from bench.measure import sample, wait_for
from bench.settings import ROOT, Settings, stack_config, state_path
from bench.throughput import job_spec, steady
from services.stack import flink_cluster

PORT = 8293


def start(taskmanagers: int) -> Path:
    """A session cluster with ``taskmanagers`` TaskManagers and 2 slots in all."""
    conf = flink_cluster.write_conf(replace(stack_config(), flink_taskmanagers=taskmanagers), PORT,
                                    slots=2 // taskmanagers)
    env = flink_cluster._env(conf)
    done = subprocess.run([str(flink_cluster.flink_home() / "bin" / "start-cluster.sh")], env=env,
                          capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        raise RuntimeError(f"start-cluster.sh failed: {done.stderr[-2000:]}")
    wait_for(lambda: _taskmanagers(), taskmanagers, 120, 1.0)
    return conf


def stop(conf: Path) -> None:
    flink_cluster.stop(conf)
    deadline = time.monotonic() + 60
    while _port_open(PORT) and time.monotonic() < deadline:
        time.sleep(1)


def _get(path: str) -> Any:
    import urllib.request

    with urllib.request.urlopen(f"http://localhost:{PORT}{path}", timeout=10) as reply:
        return json.loads(reply.read())


def _taskmanagers() -> float:
    try:
        return float(len(_get("/taskmanagers")["taskmanagers"]))
    except OSError:
        return 0.0


def _cluster_cpu(conf: Path) -> float:
    pids = [int(p) for f in conf.parent.glob("*.pid") for p in f.read_text().split()]
    return sum(_cpu(pid) for pid in pids)


def submit(name: str, spec: dict[str, Any], conf: Path) -> str:
    """``flink run -d -py bench/flinkjob.py SPEC`` against the cluster; returns the job id."""
    spec_file = state_path(f"{name}.spec.json")
    spec_file.write_text(json.dumps({"rest_port": PORT, **spec}))
    argv = [str(flink_cluster.flink_home() / "bin" / "flink"), "run", "-d", "-m", f"localhost:{PORT}",
            "-py", str(ROOT / "bench" / "flinkjob.py"), "-pyclientexec", sys.executable, "-pyexec", sys.executable,
            str(spec_file)]
    log = state_path(f"{name}.log")
    done = subprocess.run(argv, env=flink_cluster._env(conf), capture_output=True, text=True, timeout=300)
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"flink run failed: see {log}")
    wait_for(lambda: float(any(j["state"] == "RUNNING" for j in _get("/jobs/overview")["jobs"])), 1, 120)
    return str(next(j["jid"] for j in _get("/jobs/overview")["jobs"] if j["state"] == "RUNNING"))


def drain(topic: str, total: int, s: Settings, taskmanagers: int) -> dict[str, Any]:
    label = f"cluster-{taskmanagers}tm"
    run = stack.run_name(label)
    cfg = stack.job_config(run, events_topic=topic, parallelism=2, checkpoint_interval_ms=s.checkpoint_ms)
    print(f"==> {label}: whole job (parallelism 2, model) on {taskmanagers} TaskManager(s) ...", flush=True)
    conf = start(taskmanagers)
    try:
        jid = submit(run, job_spec("job", cfg), conf)
        probe = stack.OffsetProbe(cfg.clean_topic)
        wait_for(probe.count, 1, 180)
        series = sample(s.sample_s, s.drain_window_s, {"out": probe.count, "cpu": lambda: _cluster_cpu(conf)},
                        until=lambda ss: ss["out"].last() >= total, label=label)
        probe.close()
        with contextlib.suppress(OSError):  # a job that already failed cannot be cancelled
            _get_patch(f"/jobs/{jid}?mode=cancel")
    finally:
        stop(conf)
    result = {"taskmanagers": taskmanagers, **steady(series["out"], series["cpu"], total)}
    print(f"    {label}: {result['rate']:,.0f} records/s, {result['cpu_us_per_record']:.0f} us CPU/record", flush=True)
    return result


def _get_patch(path: str) -> None:
    import urllib.request

    request = urllib.request.Request(f"http://localhost:{PORT}{path}", method="PATCH")
    with urllib.request.urlopen(request, timeout=10):
        pass


def run(s: Settings) -> dict[str, Any]:
    from bench.throughput import ensure_pool, preload

    pool = ensure_pool(s.events)
    topic, _ = preload(pool, s.events)
    return {f"{n}tm": drain(topic, s.events, s, n) for n in (1, 2)}
