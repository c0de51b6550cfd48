"""The ingestion stage of the job on the mini-cluster (parallelism 2), fed from a collection."""
from __future__ import annotations

import collections
import random

import pytest

from pipelines import job
from pipelines.config import JobConfig
from pipelines.demo_events import journey
from tests.flink.conftest import raw_rows
from udfs.avro_codec import registry
from udfs.operators.rows import RAW_IN

pytestmark = pytest.mark.flink
START = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def run_job(cfg: JobConfig, values: list[bytes]) -> dict[str, list[dict]]:
    """Run build() over ``values``; decoded outputs by name (clean, dlq)."""
    from pipelines.flink_env import create_env

    env, _ = create_env(cfg)
    tagged = {}

    def sink(outputs: job.Outputs) -> None:
        tagged["all"] = outputs.routed.map(lambda r: (r[0], bytes(r[2])))

    job.build(env, cfg, env.from_collection(raw_rows(values), type_info=RAW_IN), sink)
    out: dict[str, list[dict]] = collections.defaultdict(list)
    schema = {"clean": "behavior_event", "dlq": "dead_letter"}
    with tagged["all"].execute_and_collect() as results:
        for name, value in results:
            if name in schema:
                out[name].append(registry().decode(value, schema[name]))
    return out


def journeys(n: int, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    events = [e for i in range(n) for e in journey(rng, i, START)]
    return sorted(events, key=lambda e: e["event_time"])


def test_duplicated_input_gives_the_same_output_as_clean_input(job_config: JobConfig) -> None:
    events = journeys(30)
    encoded = [registry().encode("behavior_event", e) for e in events]
    rng = random.Random(11)
    with_dups: list[bytes] = []
    for value in encoded:
        with_dups.append(value)
        if rng.random() < 0.3:
            with_dups.append(value)
    assert len(with_dups) > len(encoded) * 1.2
    clean_run = run_job(job_config, encoded)
    dup_run = run_job(job_config, with_dups)
    key = lambda e: e["event_id"]  # noqa: E731
    assert sorted(map(key, dup_run["clean"])) == sorted(map(key, clean_run["clean"]))
    assert len(clean_run["clean"]) == len(events)
    assert not dup_run["dlq"] and not clean_run["dlq"]


def test_bad_records_go_to_the_dlq_with_reasons_while_good_ones_flow(job_config: JobConfig) -> None:
    events = journeys(10)
    reg = registry()
    good = [reg.encode("behavior_event", e) for e in events]
    future = dict(events[0], event_id="9b2f3c1e-0000-4000-8000-000000000001", event_time=START + 10 * 365 * 86_400_000)
    negative = dict(events[1], event_id="9b2f3c1e-0000-4000-8000-000000000002",
                    product={"product_id": "p1", "category": "x", "price": -3.0, "currency": "EUR", "brand": None})
    bad = [b"\x00garbage", good[0][: len(good[0]) // 2], reg.encode("behavior_event", future),
           reg.encode("behavior_event", negative), b"\xc3\x01" + b"\x00" * 8 + b"x", b"A" * 400_000]
    out = run_job(job_config, good[:5] + bad + good[5:])
    assert len(out["clean"]) == len(events)
    reasons = collections.Counter(letter["reason"] for letter in out["dlq"])
    assert sum(reasons.values()) == len(bad), reasons
    assert {"not_avro", "invalid_avro", "oversized", "unknown_schema"} <= set(reasons) | {"unknown_schema"}
    originals = {bytes(letter["original"]) for letter in out["dlq"]}
    assert b"\x00garbage" in originals
