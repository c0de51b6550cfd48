"""An erasure whose keys are not all erased is reported as overdue, again at each interval, and a
confirmed one never is (the erasure join's processing-time timer, on the mini-cluster)."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from pipelines.config import JobConfig
from udfs.erasure_acks import ack
from udfs.operators.erasure import ErasureJoinFunction
from udfs.operators.ingest import now_ms
from udfs.operators.rows import ROUTED_OUT, routed

pytestmark = pytest.mark.flink
OVERDUE_MS, HOLD_S = 400, 2.5
REQUESTS = {"r-stuck": {"request_id": "r-stuck", "user_id": "u1", "anonymous_ids": ["a1"], "requested_at": 1,
                        "reason": None},
            "r-done": {"request_id": "r-done", "user_id": "u2", "anonymous_ids": [], "requested_at": 1,
                       "reason": None}}


def acks_then_hold(name: str) -> tuple:
    """The user's ack of each request; then ("hold", ...) keeps the job running, upstream of the join."""
    if name == "hold":
        time.sleep(HOLD_S)
        return "ack", "hold", {}
    return ack(REQUESTS[name], REQUESTS[name]["user_id"], True, now_ms())


class Reporting(ErasureJoinFunction):
    """The job's join, which also emits the overdue report it logs, so the test can read it."""

    def process_element(self, value: tuple, ctx: Any) -> Iterator[Any]:
        return iter(()) if value[1] == "hold" else super().process_element(value, ctx)

    def on_timer(self, timestamp: int, ctx: Any) -> Iterator[Any]:
        pending = self.state.value()
        waited = now_ms() - pending.first_at if pending is not None else 0
        if pending is not None and waited >= self.overdue_ms:
            yield routed("overdue", pending.request["request_id"], pending.overdue(waited).encode())
        yield from super().on_timer(timestamp, ctx)


def test_an_incomplete_erasure_is_reported_at_each_interval_and_a_confirmed_one_never(job_config: JobConfig) -> None:
    from pyflink.common.typeinfo import Types

    from pipelines.flink_env import create_env
    from pipelines.job import keyed

    env, _ = create_env(job_config)
    names = env.from_collection(["r-stuck", "r-done", "hold"], type_info=Types.STRING())
    acks = names.map(acks_then_hold, output_type=Types.PICKLED_BYTE_ARRAY())  # ("ack", request id, ack)
    out = keyed(acks, False).process(Reporting(OVERDUE_MS), output_type=ROUTED_OUT)  # exchanged: own thread
    with out.map(lambda r: (r[0], bytes(r[1]).decode(), bytes(r[2]))).execute_and_collect() as results:
        rows = list(results)
    assert [(t, k) for t, k, _ in rows if t == "erased"] == [("erased", "u2")]
    reports = [v.decode() for t, k, v in rows if t == "overdue"]
    assert all(k == "r-stuck" for t, k, _ in rows if t == "overdue")
    assert 2 <= len(reports) <= HOLD_S * 1000 // OVERDUE_MS + 1, reports
    assert reports[0].startswith("erasure r-stuck overdue: 1 of 2 keys erased") and reports[0].endswith("for a1")
