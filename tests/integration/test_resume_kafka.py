"""A restarted job resumes its state from the newest checkpoint of its earlier run, on the real
broker and Redis: a cart added before the restart is abandoned after it, and an event delivered
again after the restart is still a duplicate. Started from empty state instead, the job would
forget both (the cart's deadline and the event id live only in keyed state). The restored
checkpoint is gone once the new run has written its own. Both state backends: the heap's full
checkpoints and RocksDB's incremental ones (``SP_JOB_STATE_BACKEND``)."""
from __future__ import annotations

import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipelines import job
from pipelines.config import JobConfig, load_job_config
from pipelines.resume import checkpoint_location, newest_checkpoint
from tests.integration.journeys import consent, contactable_user
from tests.integration.test_job_kafka import TOPIC_FIELDS
from tests.integration.test_live_kafka import now, send, wait_for
from udfs.avro_codec import registry
from udfs.journey import Journey

pytestmark = pytest.mark.integration
WINDOW_MS = 20_000


def config(kafka: Any, redis_url: str, tmp_path: Path, state_backend: str = "hashmap") -> JobConfig:
    topics = {name: kafka.new_topic(prefix=name.split("_")[0]) for name in TOPIC_FIELDS}
    return load_job_config(bootstrap_servers=kafka.bootstrap, group_id=f"resume-{uuid.uuid4().hex[:8]}",
                           starting_offsets="earliest", checkpoint_interval_ms=1_000, redis_url=redis_url,
                           mode="live", resume=True, checkpoint_dir=str(tmp_path), state_backend=state_backend,
                           **topics)


def clean_ids(kafka: Any, cfg: JobConfig, expected: int, settle_s: float = 0.0) -> list[str]:
    return [registry().decode(v, "behavior_event")["event_id"]
            for _, v in kafka.consume(cfg.clean_topic, expected, timeout_s=90, settle_s=settle_s)]


def checkpoint_after(cfg: JobConfig, t: float, timeout_s: float = 30) -> Path:
    """A complete checkpoint written after ``t`` (wall clock): it holds what was processed by then."""
    scope, deadline = Path(checkpoint_location(cfg)), time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        newest = newest_checkpoint(scope)
        if newest is not None and (newest / "_metadata").stat().st_mtime > t:
            return newest
        time.sleep(0.2)
    raise AssertionError(f"no checkpoint completed in {scope} within {timeout_s} s")


@pytest.mark.parametrize("state_backend", ["hashmap", "rocksdb"])
def test_a_restart_resumes_carts_and_dedup_from_the_newest_checkpoint(kafka: Any, redis_url: str, tmp_path: Path,
                                                                      state_backend: str) -> None:
    cfg = config(kafka, redis_url, tmp_path, state_backend)
    stages = job.Stages.from_env()
    stages = replace(stages, engine=replace(stages.engine, abandon_window_ms=WINDOW_MS, holdout_pct=0.0,
                                            quiet_start="00:00", quiet_end="00:00"))
    user = contactable_user(stages.engine, "resume")
    kafka.produce(cfg.consent_topic, [registry().encode("consent_record", consent(user, now() - 60_000))])
    cart = Journey(user_id=user, anonymous_id="anon-resume", start_ms=now(), step_ms=1, jitter=False)
    cart.view("p-r1", "shoes/running", 120.0).add("p-r1", "shoes/running", 120.0)
    first = job.run(cfg, stages, detached=True)
    try:
        send(kafka, cfg, cart.events)
        assert len(clean_ids(kafka, cfg, 2)) == 2, "the first run did not process the cart"
        kept = checkpoint_after(cfg, time.time())
    finally:
        first.cancel().result()
    assert (kept / "_metadata").is_file(), "the cancelled run's checkpoint was not retained"
    shared = [f for f in (kept.parent / "shared").glob("*") if f.is_file()]
    assert bool(shared) == (state_backend == "rocksdb"), \
        f"{state_backend} state: {len(shared)} files shared between checkpoints (incremental only with rocksdb)"
    window_end = cart.events[-1]["event_time"] + WINDOW_MS
    second = job.run(cfg, stages, detached=True)
    try:
        marker = Journey(anonymous_id="anon-resume-marker", start_ms=now()).page().events
        send(kafka, cfg, cart.events[-1:] + marker)  # the add_to_cart delivered again, then a new event
        seen, _ = wait_for(kafka, cfg.clean_topic, "behavior_event",
                           lambda e: e["event_id"] == marker[0]["event_id"], 90)
        assert seen is not None, "the second run did not start"
        ids = clean_ids(kafka, cfg, 3, settle_s=2)
        assert sorted(ids) == sorted(e["event_id"] for e in cart.events + marker), \
            "events read again or delivered again passed dedup after the restart"
        trigger, _ = wait_for(kafka, cfg.triggers_topic, "trigger",
                              lambda t: t["user_id"] == user and t["trigger_type"] == "abandoned_cart",
                              (window_end - now()) / 1000 + 30)
        newer = checkpoint_after(cfg, time.time())
    finally:
        second.cancel().result()
    assert trigger is not None, "the cart added before the restart was never abandoned after it"
    assert trigger["event_time"] == window_end
    assert newer.parent != kept.parent and not kept.exists(), \
        "the restored checkpoint outlived the new run's first checkpoint (it may hold erased users' state)"
