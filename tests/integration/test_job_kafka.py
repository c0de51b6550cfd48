"""The job against the real broker: Kafka in, deduplicated and normalized events and dead
letters out, with the collector in front for the storefront path."""
from __future__ import annotations

import collections
import os
import random
import time
import uuid
from typing import Any

import pytest

from pipelines import job
from pipelines.config import JobConfig, load_job_config
from pipelines.demo_events import journey
from tests.integration.test_collector_kafka import event, post, running_collector
from udfs.avro_codec import registry

pytestmark = pytest.mark.integration


TOPIC_FIELDS = ("events_topic", "clean_topic", "dlq_topic", "triggers_topic", "profiles_topic", "consent_topic",
                "erasure_topic", "erasure_done_topic")


def job_config(kafka: Any) -> JobConfig:
    """Fresh topics and group for one run of the job, bounded to what is in the topics."""
    topics = {name: kafka.new_topic(prefix=name.split("_")[0]) for name in TOPIC_FIELDS}
    return load_job_config(
        bootstrap_servers=kafka.bootstrap, group_id=f"test-{uuid.uuid4().hex[:8]}", starting_offsets="earliest",
        bounded=True, parallelism=2, checkpoint_interval_ms=0, redis_url="", mode="replay", **topics,
    )


def run(kafka: Any, values: list[bytes], cfg: JobConfig | None = None) -> tuple[list[dict], list[dict]]:
    cfg = cfg or job_config(kafka)
    kafka.produce(cfg.events_topic, values)
    job.run(cfg)
    reg = registry()
    clean = [reg.decode(v, "behavior_event") for _, v in kafka.consume(cfg.clean_topic, timeout_s=5)]
    dlq = [reg.decode(v, "dead_letter") for _, v in kafka.consume(cfg.dlq_topic, timeout_s=5)]
    return clean, dlq


def shoppers(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    start = int(time.time() * 1000) - 3_600_000
    return sorted((e for i in range(n) for e in journey(rng, i, start)), key=lambda e: e["event_time"])


def test_thirty_percent_duplicates_give_the_same_output_as_clean_input(kafka: Any) -> None:
    encoded = [registry().encode("behavior_event", e) for e in shoppers(25, seed=5)]
    rng = random.Random(9)
    duplicated = [v for v in encoded for _ in range(2 if rng.random() < 0.3 else 1)]
    assert len(duplicated) >= len(encoded) * 1.2
    clean_once, dlq_once = run(kafka, encoded)
    clean_dup, dlq_dup = run(kafka, duplicated)
    assert sorted(e["event_id"] for e in clean_dup) == sorted(e["event_id"] for e in clean_once)
    assert len(clean_once) == len(encoded) and not dlq_once and not dlq_dup


def malformed(good: bytes, base: dict) -> dict[str, bytes]:
    reg = registry()
    wrong_type = bytearray(good)
    wrong_type[12] = 0x7F  # a union branch index that does not exist
    return {
        "random": os.urandom(64), "truncated": good[: len(good) // 3], "wrong_type": bytes(wrong_type),
        "future": reg.encode("behavior_event", dict(base, event_id=str(uuid.uuid4()),
                                                    event_time=int(time.time() * 1000) + 86_400_000)),
        "negative_price": reg.encode("behavior_event", dict(base, event_id=str(uuid.uuid4()), product={
            "product_id": "p9", "category": "a/b", "price": -1.0, "currency": "EUR", "brand": None})),
        "huge": good[:10] + b"\x00" * 600_000,
    }


def test_malformed_records_land_in_the_dlq_with_reasons_while_good_records_flow(kafka: Any) -> None:
    events = shoppers(10, seed=8)
    good = [registry().encode("behavior_event", e) for e in events]
    bad = malformed(good[0], events[0])
    clean, dlq = run(kafka, good[:20] + list(bad.values()) + good[20:])
    assert sorted(e["event_id"] for e in clean) == sorted(e["event_id"] for e in events)
    reasons = collections.Counter(d["reason"] for d in dlq)
    assert sum(reasons.values()) == len(bad), reasons
    assert {"future_timestamp", "negative_price", "oversized"} <= set(reasons), reasons
    assert all(d["detail"] and d["original_size"] > 0 for d in dlq)
    assert {bytes(d["original"]) for d in dlq if d["reason"] != "oversized"} >= {bad["random"], bad["truncated"]}


def test_events_from_the_collector_come_out_of_the_job_normalized(kafka: Any) -> None:
    cfg = job_config(kafka)
    price_usd = {"product_id": "p-77", "price": 100.0, "currency": "USD", "category": "Electronics > Audio"}
    events = [event("product_view", email="Ada@Example.com", product=price_usd,
                    url="https://shop.example/p/77?email=ada@example.com&color=red") for _ in range(3)]
    with running_collector(bootstrap_servers=kafka.bootstrap, topic=cfg.events_topic) as url:
        status, _, body = post(f"{url}/v1/events", {"events": events})
        assert status == 202, body
        status, _, body = post(f"{url}/v1/events", {"events": [events[0]]})  # a retried delivery
        assert status == 202, body
    job.run(cfg)
    clean = [registry().decode(v, "behavior_event") for _, v in kafka.consume(cfg.clean_topic, timeout_s=5)]
    assert sorted(e["event_id"] for e in clean) == sorted(e["event_id"] for e in events)
    for e in clean:
        # the e-mail is gone everywhere (random hex ids may hold "ada", so look for the address)
        assert e["user_id"].startswith("u_") and "ada@example" not in repr(e).lower()
        assert e["page_path"] == "/p/77?color=red"
        assert e["product"]["currency"] == "EUR" and e["product"]["price"] == pytest.approx(92.0)
        assert e["product"]["category"] == "electronics/audio"
