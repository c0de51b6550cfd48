"""Where the Python time goes: the job's own functions driven record by record outside Flink.

The pool's records go through the same function objects the job runs (``IngestFunction`` ->
``IdentityDedupFunction`` -> ``EngineFunction`` (which encodes the clean event) with the
bench model and the bench Redis), on in-memory state (``bench.fakeflink``). Each stage is timed
with ``perf_counter``; a second pass runs under cProfile for the top functions. Compared with
the job's CPU per record in Flink, the difference is Flink's share (Java, the pemja bridge,
the state backend, serialization between operators, Kafka).
"""
from __future__ import annotations

import cProfile
import pstats
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from pyflink.common import Row

from bench import stack
from bench.fakeflink import opened
from bench.model import build_export
from bench.pool import PoolSpec, chunk_events, encode
from bench.scorer import DirScorer
from pipelines.job import Stages
from udfs.operators.engine import EngineFunction
from udfs.operators.ingest import IdentityDedupFunction, IngestFunction

STAGES = ("decode-validate", "dedup-identity", "triggers")


def rows(n: int) -> list[Any]:
    """``n`` source rows as the Kafka source hands them to the job, from the pool's journeys."""
    out: list[Any] = []
    chunk = 0
    while len(out) < n:
        events = chunk_events(PoolSpec(), chunk, int(time.time() * 1000) - 86_400_000)
        for (_, value), e in zip(encode(events), events, strict=True):
            out.append(Row(kind="event", value=value, partition=0, offset=len(out), rowtime=e["event_time"]))
        chunk += 1
    return out[:n]


class Pipeline:
    """The job's Python functions, opened on fakes, with per-stage timers."""

    def __init__(self, with_model: bool = True) -> None:
        st = Stages.from_env()
        scorer = DirScorer(str(build_export())) if with_model else None
        self.ingest, _, self.ictx = opened(IngestFunction(st.ingest, {"event": "events"}))
        self.dedup, self.dscope, self.dctx = opened(IdentityDedupFunction(st.ingest))
        engine = EngineFunction(st.engine, st.cache, stack.redis_url(), True, scorer, scorer is not None)
        self.engine, self.escope, self.ectx = opened(engine)
        self.seconds: dict[str, float] = defaultdict(float)
        self.out: dict[str, int] = defaultdict(int)

    def _timed(self, stage: str, items: Iterator[Any]) -> list[Any]:
        start = time.perf_counter()
        result = list(items)
        self.seconds[stage] += time.perf_counter() - start
        self.out[stage] += len(result)
        return result

    def feed(self, row: Any) -> None:
        self.ictx.ts = row[4]
        for decoded in self._timed("decode-validate", self.ingest.process_element(row, self.ictx)):
            self.dscope.key = decoded[1]
            for value in self._timed("dedup-identity", self.dedup.process_element(decoded, self.dctx)):
                self.escope.key = value[1]  # the engine also encodes the clean event
                self._timed("triggers", self.engine.process_element(value, self.ectx))


def breakdown(n: int) -> dict[str, Any]:
    """Per-record microseconds of each stage over ``n`` records, and the throughput it implies."""
    data = rows(n)
    pipe = Pipeline()
    for row in data[: n // 10]:  # warm-up: imports, model load, first states
        pipe.feed(row)
    pipe.seconds.clear()
    start = time.perf_counter()
    for row in data[n // 10:]:
        pipe.feed(row)
    total = time.perf_counter() - start
    measured = n - n // 10
    per = {stage: pipe.seconds[stage] / measured * 1e6 for stage in STAGES}
    return {"records": measured, "us_per_record": per, "total_us_per_record": total / measured * 1e6,
            "one_core_rate": measured / total, "triggers": pipe.out["triggers"]}


def top_functions(n: int, limit: int = 15) -> list[dict[str, Any]]:
    """cProfile of the same pipeline: the functions with the most own time."""
    data = rows(n)
    pipe = Pipeline()
    for row in data[: n // 10]:
        pipe.feed(row)
    profiler = cProfile.Profile()
    profiler.enable()
    for row in data[n // 10:]:
        pipe.feed(row)
    profiler.disable()
    stats = pstats.Stats(profiler)
    measured = n - n // 10
    rows_out = []
    for (path, line, name), (_, calls, own, cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows_out.append({"function": f"{_short(path)}:{line}({name})", "calls_per_record": calls / measured,
                         "own_us": own / measured * 1e6, "cum_us": cum / measured * 1e6})
    rows_out.sort(key=lambda r: -r["own_us"])
    return rows_out[:limit]


def _short(path: str) -> str:
    for marker in ("site-packages/", "/work/main/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def run(n: int = 20_000) -> dict[str, Any]:
    print(f"==> Python profile: the job's functions outside Flink over {n:,} records ...", flush=True)
    result = {**breakdown(n), "top": top_functions(n)}
    for stage, us in result["us_per_record"].items():
        print(f"    {stage:16s} {us:8.1f} us/record", flush=True)
    for row in result["top"][:8]:
        print(f"    {row['own_us']:7.1f} us own  {row['function']}", flush=True)
    return result
