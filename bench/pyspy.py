"""Where the Python time goes inside Flink: py-spy samples the job's JVM, in which thread mode
runs every Python operator, while the whole job drains the preloaded pool.

    python -m bench.pyspy [--parallelism N] [--seconds S] [--events N]

py-spy comes from PyPI on first use into ``.state/bench/tools`` (not into the job's
environment). Prints the leaf functions and the stages by share of samples, with the drain
rate while sampling, and keeps the raw samples in ``.state/bench/pyspy-p<N>.txt``. A sample
is one thread's Python stack at one instant, so a stage's share includes time spent waiting
for the interpreter lock inside it; an empty stack is a thread that is in Java.
"""
from __future__ import annotations

import argparse
import collections
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.sampling import draining_job, measured, share_table
from bench.settings import state_path

STAGES = {"decode-validate": "IngestFunction.process_element",
          "dedup-identity": "IdentityDedupFunction.process_element",
          "triggers": "EngineFunction.", "ONNX Runtime": "Session.run", "ranking": "top_items",
          "state access": "ValueStateImpl.", "metric counters": "CounterImpl.inc"}


def summarize(lines: list[str], top: int = 15) -> dict[str, Any]:
    """py-spy ``raw`` lines (``frame;frame;... count``) -> shares of samples (percent)."""
    total, empty = 0, 0
    leaf: collections.Counter[str] = collections.Counter()
    stages: collections.Counter[str] = collections.Counter()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        if not stack.strip():
            empty += n
            continue
        leaf[stack.split(";")[-1].split(" (")[0]] += n
        stages.update({name: n for name, frame in STAGES.items() if frame in stack})
    pct = 100.0 / max(total, 1)
    return {"samples": total, "java_pct": empty * pct,
            "leaf": [(name, n * pct) for name, n in leaf.most_common(top)],
            "stages": [(name, stages[name] * pct) for name in STAGES]}


def ensure_pyspy() -> Path:
    tools = state_path("tools")
    exe = tools / "bin" / "py-spy"
    if not exe.exists():
        print("==> installing py-spy into .state/bench/tools (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", str(tools), "py-spy"], check=True)
    return exe


def profile(parallelism: int, seconds: int, events: int) -> dict[str, Any]:
    exe = ensure_pyspy()
    raw = state_path(f"pyspy-p{parallelism}.txt")
    with draining_job("pyspy", parallelism, events) as (job, probe), measured(probe) as span:
        subprocess.run([str(exe), "record", "--pid", str(job.jvm_pid()), "--duration", str(seconds), "--rate", "100",
                        "--format", "raw", "--nonblocking", "--output", str(raw)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {"parallelism": parallelism, "rate": span.rate, **summarize(raw.read_text().splitlines())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pyspy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--parallelism", type=int, default=1, help="1: the job's own on the embedded mini-cluster")
    parser.add_argument("--seconds", type=int, default=40)
    parser.add_argument("--events", type=int, default=120_000)
    args = parser.parse_args(argv)
    r = profile(args.parallelism, args.seconds, args.events)
    print(f"parallelism {r['parallelism']}: {r['rate']:,.0f} events/s while sampling, {r['samples']:,} samples, "
          f"{r['java_pct']:.1f}% in Java (no Python frame)")
    print(share_table("stage (cumulative, of samples)", r["stages"]))
    print(share_table("leaf function", r["leaf"], code=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
