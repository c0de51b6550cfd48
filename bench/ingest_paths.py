"""How the ingest stage's Python could run: a DataStream map against a Table API scalar UDF.

    python -m bench.ingest_paths [--events N] [--parallelism P]

The way to 50,000 events/s (BENCHMARKS.md) has the job's Python see a fraction of the events,
so everything before the decision stage must run where Python's per-record price is lowest.
This measures that price in one run, on the throughput bench's preloaded pool, each job draining
the same backlog from the start (``bench.throughput.drain``), alternated:

- ``passthrough-python``: one DataStream ``map`` copying the bytes (the least a DataStream pays);
- ``passthrough-udf``: one Table API scalar Python UDF copying the bytes, in SQL;
- ``ingest-datastream``: a DataStream ``map`` doing the job's decode, validation and
  normalization (``udfs.ingest.process_raw``) and encoding the clean event or the dead letter;
- ``ingest-udf``: the same function as a scalar UDF in SQL;
- ``passthrough-python-keyed``: two DataStream maps with a Python key selector between them,
  copying the bytes, exchanged by key;
- ``passthrough-python-state``: one keyed stage reading and writing a value state per record,
  keyed as the job keys (at parallelism 1 chained, not exchanged): the least a stage keeping
  per-user Python state pays per record;
- ``sql-front-dedup``: the ingest UDF, then deduplication in Flink SQL and the clean events out;
- ``sql-front``: the same plus per-shopper counters as SQL ``OVER`` aggregates and the rows where
  a decision could change on their own topic (``bench.sqlfront``: per-event state in SQL, Python
  once per event);
- ``job``: the whole job with the bench model, for scale (a drain samples at most
  ``drain_window_s``, so it need not finish the backlog).

Each writes one record per record in (k = route, v = bytes). Not a test: it prints numbers.
"""
from __future__ import annotations

import argparse
import functools
from typing import Any

from bench import stack
from bench.measure import save_and_print
from bench.settings import Settings
from bench.throughput import drain, ensure_pool, preload
from udfs.avro_codec import registry
from udfs.clean import encode_clean
from udfs.envconfig import from_env
from udfs.ingest import process_raw
from udfs.ingest_config import IngestConfig
from udfs.operators.ingest import now_ms

KINDS = ("passthrough-python", "passthrough-udf", "ingest-datastream", "ingest-udf", "passthrough-python-keyed",
         "passthrough-python-state", "sql-front-dedup", "sql-front", "job")


def ingest_bytes(raw: bytes, partition: int | None, offset: int | None) -> tuple[bytes, bytes]:
    """(route, bytes) of one events-topic record: the clean event, or the dead letter."""
    outcome, record = process_raw(raw, _config(), now_ms(), "events", partition, offset)
    if outcome == "event":
        return b"clean", encode_clean(record)
    return b"dlq", registry().encode("dead_letter", record)


@functools.cache
def _config() -> IngestConfig:
    """The job's ingest settings (``SP_INGEST_*``), read once per worker."""
    return from_env(IngestConfig, "SP_INGEST")


def run(events: int, parallelism: int, rounds: int, kinds: tuple[str, ...] = KINDS) -> dict[str, Any]:
    stack.fresh()
    s = Settings()
    pool = ensure_pool(events)
    topic, ceiling = preload(pool, events)
    results: dict[str, Any] = {"events": events, "parallelism": parallelism, "ceiling": ceiling["rate"],
                               "drains": {k: [] for k in kinds}}
    for r in range(rounds):
        for kind in kinds:
            res = drain(f"{kind}-r{r}", kind, topic, events, s, parallelism, model=kind == "job")
            if kind == "sql-front":
                res["decision_rows"] = decision_rows(f"{kind}-r{r}-")
            results["drains"][kind].append(res)
    return results


def decision_rows(run_prefix: str) -> int:
    """Rows the SQL front wrote to its run's triggers topic (``bench.sqlfront``)."""
    return sum(stack.end_offsets(t) for t in stack.topics() if t.startswith(run_prefix) and t.endswith(".triggers"))


def summary(results: dict[str, Any]) -> list[str]:
    base = _median([d["rate"] for d in results["drains"]["passthrough-python"]])
    lines = [f"| {'job':20s} | records/s (median) | drains | CPU us/record | vs DataStream passthrough |",
             "|---|---|---|---|---|"]
    for kind, drains in results["drains"].items():
        rate = _median([d["rate"] for d in drains])
        cpu = _median([d["cpu_us_per_record"] for d in drains])
        each = ", ".join(f"{d['rate']:,.0f}" for d in drains)
        lines.append(f"| {kind:20s} | {rate:,.0f} | {each} | {cpu:,.0f} | {rate / base:.2f} |")
    for d in results["drains"].get("sql-front", []):
        share = d["decision_rows"] / results["events"]
        lines.append(f"sql-front decision rows: {d['decision_rows']:,} ({share:.1%} of the records)")
    return lines


def _median(xs: list[float]) -> float:
    ordered = sorted(xs)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2_000_000, help="records preloaded and drained by each job")
    parser.add_argument("--parallelism", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2, help="drains of each job, alternated")
    parser.add_argument("--kinds", default=",".join(KINDS),
                        help="comma-separated jobs to drain (passthrough-python is always one: the base)")
    args = parser.parse_args(argv)
    kinds = ("passthrough-python", *[k for k in args.kinds.split(",") if k and k != "passthrough-python"])
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown job(s) {', '.join(unknown)}; choose from {', '.join(KINDS)}")
    results = run(args.events, args.parallelism, args.rounds, kinds)
    save_and_print("ingest_paths", results, summary(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
