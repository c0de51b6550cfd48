"""Start a bench Flink job in its own process, watch it over its REST API, stop it.

The mini-cluster of each job listens on ``REST_PORT``; its REST API gives the job's vertices,
per-vertex metrics (busy/back-pressured/idle time per second) and checkpoint sizes. CPU time and
resident memory are read from /proc for the job's whole process tree (the Python client and its
JVM).
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.settings import REST_PORT, ROOT, state_path

TICKS = os.sysconf("SC_CLK_TCK")


class FlinkRun:
    """One job process; use as a context manager so it is always stopped."""

    def __init__(self, name: str, spec: dict[str, Any], env: dict[str, str] | None = None,
                 root: Path = ROOT) -> None:
        """``root``: the checkout whose ``bench.flinkjob`` (and so whose job code) runs."""
        self.name, self.port = name, REST_PORT
        if _port_open(self.port):
            raise RuntimeError(f"port {self.port} is taken: is an earlier bench job still running?")
        spec_file = state_path(f"{name}.spec.json")
        spec_file.write_text(json.dumps({"rest_port": self.port, **spec}))
        self.log = state_path(f"{name}.log")
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.flinkjob", str(spec_file)], cwd=root,
                                     stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
                                     env={**os.environ, **(env or {})})
        self.job_id: str | None = None

    def __enter__(self) -> FlinkRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as reply:
            return json.loads(reply.read())

    def wait_running(self, timeout_s: float = 180.0) -> str:
        """Block until every task of the job runs; returns the job id (or raises with the log)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {tail(self.log)}")
            try:
                jobs = self.get("/jobs/overview")["jobs"]
                running = [j for j in jobs if j["state"] == "RUNNING"]
                if running and self._all_tasks_running(running[0]["jid"]):
                    self.job_id = running[0]["jid"]
                    return self.job_id
            except OSError:
                pass
            time.sleep(1.0)
        raise TimeoutError(f"{self.name} not running after {timeout_s:.0f} s: {tail(self.log)}")

    def _all_tasks_running(self, jid: str) -> bool:
        vertices = self.get(f"/jobs/{jid}")["vertices"]
        return all(v["status"] == "RUNNING" for v in vertices)

    def vertices(self) -> list[dict[str, Any]]:
        return list(self.get(f"/jobs/{self.job_id}")["vertices"])

    def vertex_metrics(self, vertex: str, names: list[str]) -> dict[str, float]:
        """Metrics aggregated over the vertex's subtasks (sum and max)."""
        query = ",".join(names)
        rows = self.get(f"/jobs/{self.job_id}/vertices/{vertex}/subtasks/metrics?get={query}&agg=sum,max")
        return {f"{r['id']}.{agg}": float(r[agg]) for r in rows for agg in ("sum", "max") if agg in r}

    def checkpoints(self) -> dict[str, Any]:
        return dict(self.get(f"/jobs/{self.job_id}/checkpoints"))

    def jvm_pid(self) -> int:
        """The job's JVM (a child of its Python process), which runs the thread-mode Python."""
        jvms = [p for p in _tree(self.proc.pid) if b"java" in Path(f"/proc/{p}/cmdline").read_bytes()]
        if not jvms:
            raise RuntimeError(f"{self.name}: no JVM under pid {self.proc.pid}")
        return jvms[0]

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the job's process tree so far."""
        return sum(_cpu(pid) for pid in _tree(self.proc.pid))

    def rss_bytes(self) -> int:
        """Resident memory of the job's process tree (the Python client and its JVM)."""
        return sum(_rss(pid) for pid in _tree(self.proc.pid))

    def stop(self) -> None:
        stop_tree(self.proc, self.port)


def stop_tree(proc: subprocess.Popen[Any], port: int | None = None) -> None:
    """SIGTERM a child started in its own session (its process group), then SIGKILL whatever of its
    tree is left (a JVM can outlive its Python parent); wait until ``port`` is free again."""
    if proc.poll() is not None and not _children(proc.pid):
        return
    tree = _tree(proc.pid)
    _signal_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10.0)
    _signal_group(proc.pid, signal.SIGKILL)
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(10.0)
    deadline = time.monotonic() + 30
    while port is not None and _port_open(port) and time.monotonic() < deadline:
        time.sleep(0.5)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(_children(p))
    return out


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def _rss(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:")), 0)


def tail(path: Path, lines: int = 30) -> str:
    text = path.read_text(errors="replace").splitlines() if path.exists() else []
    return "\n".join(text[-lines:])
