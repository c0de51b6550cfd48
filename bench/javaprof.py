"""Where the job's CPU goes, Java and native code included: async-profiler samples the job's JVM
(every thread, Java, JIT, GC, and the CPython interpreter that thread mode embeds in it) while
the whole job drains the preloaded pool.

    python -m bench.javaprof [--parallelism N] [--seconds S] [--warmup S] [--events N]

The agent (async-profiler, Linux x64) comes from Maven Central on first use through
``bench/profiler/pom.xml`` into ``.state/bench/tools``. It is loaded at the JVM's start
(``JAVA_TOOL_OPTIONS``; attaching to a running JVM failed here) and writes one collapsed-stack
file per 10 s window; only the windows inside the measured span, after ``--warmup`` seconds of
draining, are counted, because the JIT compiler takes a third of the CPU in the first half
minute. Samples are CPU time (``itimer``), so a share is of the CPU the JVM used; stacks are
walked by the JVM (``cstack=vm``), so native frames (CPython, ONNX Runtime, numpy) and Java
frames appear in one stack. Python
function names are not visible here (``python -m bench.pyspy`` shows them); what is visible is
the price of the bridge: hand-offs of the interpreter lock between threads, and calls between
Java and Python.
"""
from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

from bench.sampling import draining_job, measured, share_table
from bench.settings import state_path

WINDOW_S = 10
POM = Path(__file__).parent / "profiler" / "pom.xml"


def category(frames: list[str]) -> str:
    """The cost one collapsed stack (root first) stands for."""
    joined = ";".join(frames)
    if "CompileBroker" in joined:
        return "JIT compiler"
    if any(f in joined for f in ("GCTaskThread", "G1ConcurrentRefine", "ConcurrentGCThread", "G1YoungCollector")):
        return "garbage collector"
    if "take_gil" in frames or "drop_gil" in frames:
        return "interpreter-lock hand-offs between threads"
    if "onnxruntime" in joined:
        return "ONNX Runtime"
    bridge = [i for i, f in enumerate(frames) if f.startswith("pemja/")]
    if bridge and any(f.startswith("org/apache/flink") for f in frames[bridge[-1] + 1:]):
        # async-profiler loses the native Python frames between pemja and the Java it calls back
        return "Python calling Java (state, timers, output)"
    py = [i for i, f in enumerate(frames) if f.startswith("_PyEval_EvalFrame")]
    if py:
        after = frames[py[-1] + 1:]
        if "numpy" in joined or any(f.startswith(("PyArray", "npy_", "introselect")) for f in after):
            return "numpy"
        return "Python interpreter (the job's Python code)"
    if any(f.startswith("pemja/") for f in frames):
        return "Java calling Python (pemja: calls, conversions, end-of-iteration exceptions)"
    if "org/apache/kafka" in joined:
        return "Kafka clients (source, sinks)"
    if "checkpoint" in joined.lower() or "snapshot" in joined.lower():
        return "checkpoints"
    if "org/apache/flink" in joined:
        return "Flink runtime (network, serializers, timers)"
    return "other (JVM, kernel)"


def summarize(lines: list[str], top: int = 15) -> dict[str, Any]:
    """Collapsed lines (``frame;frame;... count``) -> shares (percent) by category and leaf."""
    total = 0
    cats: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not count.isdigit() or not stack:
            continue
        n, frames = int(count), stack.split(";")
        total += n
        cats[category(frames)] += n
        leaf[frames[-1].rsplit("/", 1)[-1]] += n
    pct = 100.0 / max(total, 1)
    return {"samples": total, "categories": [(c, n * pct) for c, n in cats.most_common()],
            "leaf": [(f, n * pct) for f, n in leaf.most_common(top)]}


def windows_within(files: list[Path], start: float, end: float) -> list[Path]:
    """The window files (named by their start in local time, ``YYYYmmdd-HHMMSS.txt``, as the agent
    names them) wholly inside [start, end] (epoch seconds)."""
    inside = []
    for f in files:
        try:
            began = time.mktime(time.strptime(f.stem, "%Y%m%d-%H%M%S"))
        except ValueError:
            continue
        if began >= start and began + WINDOW_S <= end + 1:
            inside.append(f)
    return sorted(inside)


def ensure_agent() -> Path:
    tools = state_path("tools") / "async-profiler"
    lib = tools / "libasyncProfiler.so"
    if not lib.exists():
        print("==> fetching async-profiler from Maven Central into .state/bench/tools (once) ...", flush=True)
        subprocess.run(["mvn", "-q", "-f", str(POM), "dependency:copy-dependencies", f"-Dtools.dir={tools}"],
                       check=True)
        jar = next(tools.glob("async-profiler-*-linux-x64.jar"))
        with zipfile.ZipFile(jar) as z:
            lib.write_bytes(z.read("linux-x64/libasyncProfiler.so"))
    return lib


def profile(parallelism: int, seconds: int, warmup: int, events: int) -> dict[str, Any]:
    lib = ensure_agent()
    out = state_path(f"javaprof-p{parallelism}")
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.txt"):
        old.unlink()
    agent = (f"-agentpath:{lib}=start,event=itimer,interval=10ms,cstack=vm,loop={WINDOW_S}s,"
             f"file={out}/%t.txt,collapsed")
    env = {"JAVA_TOOL_OPTIONS": agent}
    with draining_job("javaprof", parallelism, events, env, warmup) as (_, probe), measured(probe) as span:
        time.sleep(seconds)
    used = windows_within(list(out.glob("*.txt")), span.start, span.end)
    lines = [line for f in used for line in f.read_text().splitlines()]
    return {"parallelism": parallelism, "rate": span.rate, "windows": len(used), **summarize(lines)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.javaprof", description=__doc__.split("\n\n")[0])
    parser.add_argument("--parallelism", type=int, default=1, help="1: the job's own on the embedded mini-cluster")
    parser.add_argument("--seconds", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args(argv)
    r = profile(args.parallelism, args.seconds, args.warmup, args.events)
    print(f"parallelism {r['parallelism']}: {r['rate']:,.0f} events/s while sampling, {r['samples']:,} samples "
          f"(10 ms of CPU each) in {r['windows']} windows of {WINDOW_S} s")
    print(share_table("cost (of the JVM's CPU)", r["categories"]))
    print(share_table("leaf frame", r["leaf"], code=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
