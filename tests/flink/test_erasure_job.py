"""Erasure on the mini-cluster (parallelism 2): the job confirms each request once, naming the
request's devices, and names Redis among the stores wiped only when the cache deletes reached it."""
from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from pipelines import job
from pipelines.config import JobConfig
from tests.flink.conftest import control_rows, raw_rows
from udfs.avro_codec import registry
from udfs.journey import Journey
from udfs.operators.rows import RAW_IN

pytestmark = pytest.mark.flink
START = 1_767_225_600_000  # 2026-01-01T00:00:00Z
REFUSED = "redis://127.0.0.1:9/0"  # the discard port: nothing listens, every write fails at once


def confirmations(cfg: JobConfig, rows: list[Any]) -> list[dict[str, Any]]:
    """Run build() over ``rows``; the decoded erasure confirmations it emitted."""
    from pipelines.flink_env import create_env

    env, _ = create_env(cfg)
    tagged = {}

    def sink(outputs: job.Outputs) -> None:
        tagged["all"] = outputs.routed.map(lambda r: (r[0], bytes(r[2])))

    job.build(env, cfg, env.from_collection(rows, type_info=RAW_IN), sink)
    with tagged["all"].execute_and_collect() as results:
        return [registry().decode(v, "erasure_confirmation") for route, v in results if route == "erased"]


def shoppers_then_erasure(user: str, device: str) -> list[Any]:
    journey = Journey(user_id=user, anonymous_id=device, start_ms=START, step_ms=1_000, jitter=False)
    events = journey.view("p1", "electronics/tv", 900.0).add("p1", "electronics/tv", 900.0).events
    request = {"request_id": "r-1", "user_id": user, "anonymous_ids": [device], "requested_at": START + 60_000,
               "reason": "customer request"}
    return raw_rows(registry().encode("behavior_event", e) for e in events) + control_rows("erase", [request])


@pytest.mark.parametrize("redis_url", ["", REFUSED], ids=["no-cache", "redis-down"])
def test_one_confirmation_per_request_naming_its_devices_and_no_redis_it_did_not_wipe(
        job_config: JobConfig, redis_url: str) -> None:
    cfg = dataclasses.replace(job_config, redis_url=redis_url)
    done = confirmations(cfg, shoppers_then_erasure("u-erase", "anon-erase"))
    assert [(d["request_id"], d["user_id"], d["anonymous_ids"]) for d in done] == [("r-1", "u-erase", ["anon-erase"])]
    assert done[0]["stores"] == ["flink_state", "timers"], "redis named though its keys were not deleted"
