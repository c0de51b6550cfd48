"""At parallelism 1 the job's keyed stages are not exchanged but chained (one task, one thread
for all its Python), and they give the same outputs as the exchanged job at parallelism 2."""
from __future__ import annotations

import json
import random

import pytest

from pipelines import job
from pipelines.config import load_job_config
from tests.flink.conftest import raw_rows
from tests.flink.test_ingest_job import journeys, run_job
from udfs.avro_codec import registry
from udfs.operators.rows import RAW_IN

pytestmark = pytest.mark.flink


def ship_strategies(parallelism: int) -> set[str]:
    """How records move into each operator of the job's plan at ``parallelism``."""
    from pipelines.flink_env import create_env

    cfg = load_job_config(parallelism=parallelism, checkpoint_interval_ms=0, redis_url="", mode="replay")
    env, _ = create_env(cfg)
    source = env.from_collection(raw_rows([b"x"]), type_info=RAW_IN)
    job.build(env, cfg, source, lambda outputs: outputs.routed.print())
    plan = json.loads(env.get_execution_plan())
    return {p["ship_strategy"] for node in plan["nodes"] for p in node.get("predecessors", [])}


def test_one_subtask_keys_without_exchanges_and_two_exchange_by_key() -> None:
    assert ship_strategies(1) == {"FORWARD"}
    assert "HASH" in ship_strategies(2)


def test_one_subtask_gives_what_two_give() -> None:
    encoded = [registry().encode("behavior_event", e) for e in journeys(20, seed=5)]
    rng = random.Random(2)
    values = [v for v in encoded for _ in range(2 if rng.random() < 0.3 else 1)] + [b"junk"]
    runs = [run_job(load_job_config(parallelism=p, checkpoint_interval_ms=0, redis_url="", mode="replay"), values)
            for p in (1, 2)]
    ids = [sorted(e["event_id"] for e in r["clean"]) for r in runs]
    assert ids[0] == ids[1] and len(ids[0]) == len(encoded)
    assert [d["reason"] for d in runs[0]["dlq"]] == [d["reason"] for d in runs[1]["dlq"]] == ["not_avro"]
