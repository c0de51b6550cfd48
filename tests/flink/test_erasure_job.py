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


def shoppers_then_erasure(user: str, devices: list[str], rid: str = "r-1") -> list[Any]:
    """A shopper's events on each of ``devices`` (signed in), then the request to erase them all."""
    events = []
    for i, device in enumerate(devices):
        journey = Journey(user_id=user, anonymous_id=device, start_ms=START + i * 10_000, step_ms=1_000, jitter=False)
        events += journey.view(f"p{i}", "electronics/tv", 900.0).add(f"p{i}", "electronics/tv", 900.0).events
    request = {"request_id": rid, "user_id": user, "anonymous_ids": devices, "requested_at": START + 60_000,
               "reason": "customer request"}
    return raw_rows(registry().encode("behavior_event", e) for e in events) + control_rows("erase", [request])


@pytest.mark.parametrize("redis_url", ["", REFUSED], ids=["no-cache", "redis-down"])
def test_one_confirmation_per_request_naming_its_devices_and_no_redis_it_did_not_wipe(
        job_config: JobConfig, redis_url: str) -> None:
    cfg = dataclasses.replace(job_config, redis_url=redis_url)
    done = confirmations(cfg, shoppers_then_erasure("u-erase", ["anon-erase"]))
    assert [(d["request_id"], d["user_id"], d["anonymous_ids"]) for d in done] == [("r-1", "u-erase", ["anon-erase"])]
    assert done[0]["stores"] == ["flink_state", "timers"], "redis named though its keys were not deleted"


def test_requests_whose_keys_span_both_subtasks_are_each_confirmed_once(job_config: JobConfig) -> None:
    devices = {"u-one": [f"anon-one-{i}" for i in range(6)], "u-two": ["anon-two-0", "anon-two-1"]}
    rows = shoppers_then_erasure("u-one", devices["u-one"], "r-one") + shoppers_then_erasure(
        "u-two", devices["u-two"], "r-two")
    done = sorted(confirmations(job_config, rows), key=lambda d: d["request_id"])
    assert [(d["request_id"], d["user_id"], d["anonymous_ids"]) for d in done] == [
        ("r-one", "u-one", devices["u-one"]), ("r-two", "u-two", devices["u-two"])]
