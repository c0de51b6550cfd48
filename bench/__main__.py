"""``python -m bench all|scoring|throughput|cluster|latency|serving|state|profile [--quick]``,
``python -m bench compare --before <git ref>`` (an earlier commit's job against this one's)

Starts the bench's own Kafka (9192/9193) and Redis (6479) in ``.state/bench`` (left running for
the next run; ``python -m bench down`` stops them), runs the measurements with progress output,
prints the tables and writes them to BENCHMARKS.md. ``all`` runs everything in one go, so the
ratios come from one run; ``--quick`` is a smoke run of seconds whose numbers mean nothing.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from bench import report, stack
from bench.settings import Settings

ORDER = ("scoring", "throughput", "cluster", "latency", "profile", "state", "serving")


def sustained_rate(s: Settings) -> float:
    """The whole job's sustained rate from the throughput results (a small default without them)."""
    t = report.load().get("throughput", {})
    return float(t.get("sustained", {}).get("target_rate", 200.0 if s.quick else 500.0))


def pool(s: Settings) -> str:
    from bench.throughput import ensure_pool

    return ensure_pool(s.events)


def section(name: str, s: Settings, before: str = "HEAD~1", parallelism: int = 1) -> Any:
    from bench import cluster, compare, latency, profile, scoring, serving, state, throughput

    runners: dict[str, Callable[[], Any]] = {
        "scoring": lambda: scoring.run(s.quick),
        "throughput": lambda: throughput.run(s),
        "cluster": lambda: cluster.run(s),
        "latency": lambda: latency.run(pool(s), sustained_rate(s), s),
        "profile": lambda: profile.run(s, pool(s), sustained_rate(s)),
        "state": lambda: state.run(s),
        "serving": lambda: serving.run(s.serving_rps, s.serving_s),
        "compare": lambda: compare.run(s, before, parallelism),
    }
    return runners[name]()


def run_meta(command: str, s: Settings) -> dict[str, Any]:
    return {"command": command, "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "machine": report.machine(), "versions": report.versions(), "settings": dataclasses.asdict(s)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["all", *ORDER, "compare", "report", "down"])
    parser.add_argument("--quick", action="store_true", help="smoke run of seconds (numbers mean nothing)")
    parser.add_argument("--events", type=int, help="records preloaded for the drain measurements")
    parser.add_argument("--before", default="HEAD~1", help="compare: the git ref whose job is 'before'")
    parser.add_argument("--parallelism", type=int, default=1,
                        help="compare: the jobs' parallelism (1, the job's own on the embedded mini-cluster)")
    args = parser.parse_args(argv)
    if args.command == "down":
        stack.down()
        return 0
    s = Settings().quick_run() if args.quick else Settings()
    if args.events:
        s = dataclasses.replace(s, events=args.events)
    if args.command != "report":
        stack.fresh()
        meta = run_meta("python -m bench " + " ".join(sys.argv[1:] if argv is None else argv), s)
        run_key = "compare_run" if args.command == "compare" else "run"  # compare keeps the tables' run
        report.save(run_key, meta, {})
        for name in ORDER if args.command == "all" else (args.command,):
            started = time.time()
            result = section(name, s, args.before, args.parallelism)
            report.save(name, result, {"seconds": time.time() - started, "at": time.ctime(), "commit": report.commit()})
            report.write(report.load())
        meta.update(finished=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                    load_end=" ".join(f"{x:.2f}" for x in os.getloadavg()))
        report.save(run_key, meta, {})
    path = report.write(report.load())
    print(report.render(report.load()))
    print(f"==> written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
