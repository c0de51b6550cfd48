"""Time series of counters and what the benchmarks read from them: steady rates, lag slopes, percentiles."""
from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.settings import ROOT, state_path


@dataclass
class Series:
    """Samples (seconds since start, value) of one counter."""

    name: str
    points: list[tuple[float, float]] = field(default_factory=list)

    def add(self, t: float, value: float) -> None:
        self.points.append((t, value))

    def slope(self, skip: float = 0.0) -> float:
        """Least-squares slope (per second) of the samples after the first ``skip`` share of them."""
        pts = self.points[int(len(self.points) * skip):]
        if len(pts) < 2:
            return 0.0
        n = len(pts)
        mt, mv = sum(t for t, _ in pts) / n, sum(v for _, v in pts) / n
        var = sum((t - mt) ** 2 for t, _ in pts)
        return sum((t - mt) * (v - mv) for t, v in pts) / var if var else 0.0

    def rates(self) -> list[float]:
        """Rate between consecutive samples."""
        return [(b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(self.points, self.points[1:], strict=False)
                if b[0] > a[0]]

    def last(self) -> float:
        return self.points[-1][1] if self.points else 0.0


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max (nearest rank) of ``values``; empty dict when there are none."""
    if not values:
        return {}
    s = sorted(values)

    def rank(q: float) -> float:
        return s[min(len(s) - 1, max(0, int(round(q * len(s) + 0.5)) - 1))]

    return {"n": float(len(s)), "p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99), "max": s[-1]}


def sample(period: float, seconds: float, probes: dict[str, Callable[[], float]],
           until: Callable[[dict[str, Series]], bool] | None = None, label: str = "") -> dict[str, Series]:
    """Sample every probe each ``period`` for at most ``seconds`` (or until ``until``), printing progress."""
    series = {name: Series(name) for name in probes}
    start = time.monotonic()
    while True:
        t = time.monotonic() - start
        for name, probe in probes.items():
            series[name].add(t, probe())
        print(f"    {label} t={t:5.0f}s " + " ".join(f"{n}={s.last():,.0f}" for n, s in series.items()), flush=True)
        if t >= seconds or (until is not None and until(series)):
            return series
        time.sleep(max(0.0, period - (time.monotonic() - start - t)))


def wait_for(probe: Callable[[], float], at_least: float, timeout_s: float, period: float = 0.5) -> float:
    """Seconds until ``probe()`` reaches ``at_least`` (raises TimeoutError)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if probe() >= at_least:
            return time.monotonic() - start
        time.sleep(period)
    raise TimeoutError(f"no progress within {timeout_s:.0f} s")


def loadgen(args: list[str], name: str) -> subprocess.Popen[bytes]:
    """Start ``python -m bench.loadgen ARGS`` as its own process (output in .state/bench/NAME.log)."""
    log = state_path(f"{name}.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "bench.loadgen", *args], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT)


def finish(proc: subprocess.Popen[bytes], out: Path, timeout_s: float = 600.0) -> dict[str, Any]:
    import json

    if proc.wait(timeout_s) != 0:
        raise RuntimeError(f"load generator failed (exit {proc.returncode}); see {state_path('')}")
    return dict(json.loads(out.read_text()))


def save_and_print(name: str, result: dict[str, Any], table: list[str]) -> None:
    """A standalone bench command's end: ``result`` to ``.state/bench/NAME.json``, ``table`` to stdout."""
    import json

    path = state_path(f"{name}.json")
    path.write_text(json.dumps(result, indent=1))
    print("\n".join(table), flush=True)
    print(f"==> results in {path}", flush=True)
