"""The job live (unbounded, wall-clock deadlines) on the real broker and Redis: an abandoned cart
fires on an idle stream within a second of its window, and an erasure reaches every store.
The job runs at its default parallelism (1 here: its stages chained into one task, no exchange
between them); the other Kafka tests run it at parallelism 2, with the exchanges."""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import redis

from pipelines import job
from pipelines.config import JobConfig, load_job_config
from tests.integration.journeys import consent, contactable_user
from udfs.avro_codec import registry
from udfs.journey import Journey

pytestmark = pytest.mark.integration
WINDOW_MS = 3_000


@pytest.fixture(scope="module")
def live(kafka: Any, redis_url: str) -> Iterator[dict[str, Any]]:
    topics = {name: kafka.new_topic(prefix=name.split("_")[0]) for name in (
        "events_topic", "clean_topic", "dlq_topic", "triggers_topic", "profiles_topic", "consent_topic",
        "erasure_topic", "erasure_done_topic")}
    cfg = load_job_config(bootstrap_servers=kafka.bootstrap, group_id=f"live-{uuid.uuid4().hex[:8]}",
                          starting_offsets="earliest", checkpoint_interval_ms=5_000,
                          redis_url=redis_url, mode="live", **topics)
    stages = job.Stages.from_env()
    stages = replace(stages, engine=replace(stages.engine, abandon_window_ms=WINDOW_MS, holdout_pct=0.0,
                                            quiet_start="00:00", quiet_end="00:00"))
    users = {r: contactable_user(stages.engine, f"live{r}") for r in ("cart", "erase")}
    reg = registry()
    kafka.produce(cfg.consent_topic, [reg.encode("consent_record", consent(u, now() - 60_000)) for u in users.values()])
    client = job.run(cfg, stages, detached=True)
    try:
        warm_up(kafka, cfg)
        yield {"cfg": cfg, "users": users, "kafka": kafka, "redis": redis.Redis.from_url(redis_url)}
    finally:
        client.cancel().result()


def now() -> int:
    return int(time.time() * 1000)


def send(kafka: Any, cfg: JobConfig, events: list[dict]) -> None:
    kafka.produce(cfg.events_topic, [registry().encode("behavior_event", e) for e in events])


def warm_up(kafka: Any, cfg: JobConfig) -> None:
    """Wait until the job has read an event through to the clean topic (it is running)."""
    send(kafka, cfg, Journey(anonymous_id="warm-up", start_ms=now()).page().events)
    assert kafka.consume(cfg.clean_topic, 1, timeout_s=90), "the live job did not start within 90 s"


def wait_for(kafka: Any, topic: str, schema: str, match: Any, timeout_s: float) -> tuple[dict | None, float]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for _, value in kafka.consume(topic, timeout_s=0.3):
            record = registry().decode(value, schema)
            if match(record):
                return record, time.time()
    return None, time.time()


def test_abandoned_cart_fires_on_an_idle_stream_within_a_second_of_the_window(live: dict[str, Any]) -> None:
    kafka, cfg, user = live["kafka"], live["cfg"], live["users"]["cart"]
    journey = Journey(user_id=user, anonymous_id="anon-live-cart", start_ms=now(), step_ms=1, jitter=False)
    send(kafka, cfg, journey.add("p-live", "shoes/running", 80.0).events)
    window_end = journey.events[-1]["event_time"] + WINDOW_MS
    trigger, seen_at = wait_for(kafka, cfg.triggers_topic, "trigger",
                                lambda t: t["user_id"] == user and t["trigger_type"] == "abandoned_cart", 30)
    assert trigger is not None, "no abandoned_cart on an idle stream"
    late_by = seen_at * 1000 - window_end
    print(f"abandoned_cart readable {late_by:.0f} ms after the window's end (idle stream)")
    assert late_by <= 1_000, f"abandoned_cart readable {late_by:.0f} ms after the window's end"
    assert trigger["event_time"] == window_end


def test_an_erasure_wipes_redis_and_state_and_nothing_follows(live: dict[str, Any]) -> None:
    kafka, cfg, r, user = live["kafka"], live["cfg"], live["redis"], live["users"]["erase"]
    journey = Journey(user_id=user, anonymous_id="anon-live-erase", start_ms=now(), step_ms=1, jitter=False)
    send(kafka, cfg, journey.view("p-e1", "electronics/tv", 900.0).add("p-e1", "electronics/tv", 900.0).events)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not r.keys(f"sp:*:{user}"):
        time.sleep(0.2)
    assert r.keys(f"sp:*:{user}"), "no cache entries for the user before the erasure"
    request = {"request_id": str(uuid.uuid4()), "user_id": user, "anonymous_ids": ["anon-live-erase"],
               "requested_at": now(), "reason": "gdpr"}
    kafka.produce(cfg.erasure_topic, [registry().encode("erasure_request", request)])
    done, _ = wait_for(kafka, cfg.erasure_done_topic, "erasure_confirmation",
                       lambda c: c["request_id"] == request["request_id"], 30)
    assert done is not None and done["stores"] == ["flink_state", "timers", "redis"]
    assert done["anonymous_ids"] == ["anon-live-erase"]
    assert r.keys(f"sp:*:{user}") == [] and r.keys("sp:*:anon-live-erase") == [], "confirmed before Redis was wiped"
    cart_deadline = journey.events[-1]["event_time"] + WINDOW_MS
    send(kafka, cfg, journey.wait(seconds=1).add("p-e2", "electronics/tv", 950.0).events)
    time.sleep(max(0.0, (cart_deadline - now()) / 1000) + WINDOW_MS / 1000 + 2)
    after = [t for _, v in kafka.consume(cfg.triggers_topic, timeout_s=2)
             if (t := registry().decode(v, "trigger"))["user_id"] == user and t["emitted_at"] > request["requested_at"]]
    assert after == [], "a trigger for an erased user"


def test_an_event_behind_the_watermark_beyond_the_lateness_goes_to_the_dlq(live: dict[str, Any]) -> None:
    kafka, cfg = live["kafka"], live["cfg"]
    send(kafka, cfg, Journey(anonymous_id="anon-live-now", start_ms=now()).page().events)
    time.sleep(1.5)  # let the watermark pass the fresh event
    stale = Journey(anonymous_id="anon-live-late", start_ms=now() - 10 * 60_000).page().events
    send(kafka, cfg, stale)
    letter, _ = wait_for(kafka, cfg.dlq_topic, "dead_letter", lambda d: d["reason"] == "late_event", 30)
    assert letter is not None and letter["stage"] == "late"
    assert registry().decode(bytes(letter["original"]), "behavior_event")["event_id"] == stale[0]["event_id"]
