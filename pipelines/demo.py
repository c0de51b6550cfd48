"""``make demo``: demo events through the job on the embedded mini-cluster, and what came out.

The job runs in replay mode: records are applied in event-time order and every pending
deadline fires when the bounded input ends, so the demo shows abandoned carts at once.

Produces a seeded stream of shopper journeys (with 30% duplicate deliveries and a few broken
records) to the events topic of the running local stack, runs the job over exactly those records
(bounded, from the offsets where they begin) and prints the clean events, the dead letters and their reasons.
"""
from __future__ import annotations

import collections
import sys
import time

import redis
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from pipelines.config import JobConfig, load_job_config
from pipelines.demo_events import demo_consents, demo_stream, shop_products
from pipelines.demo_model import ensure_model
from udfs.avro_codec import DecodeError, registry
from udfs.event_time import Stamper


def produce(cfg: JobConfig, topic: str, stream: list[bytes], keys: list[bytes | None] | None = None) -> None:
    """Send and wait for every acknowledgement (an error is raised, never ignored)."""
    producer = KafkaProducer(bootstrap_servers=cfg.bootstrap_servers, acks="all", linger_ms=5)
    stamp = Stamper(int(time.time() * 1000))  # Kafka timestamp = the record's own time
    futures = [producer.send(topic, value=value, key=key, timestamp_ms=stamp(value))
               for value, key in zip(stream, keys or [None] * len(stream), strict=True)]
    producer.flush(60)
    for future in futures:
        future.get(timeout=30)
    producer.close()


def end_offsets(cfg: JobConfig, topic: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=cfg.bootstrap_servers)
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    ends = consumer.end_offsets(parts)
    consumer.close()
    return dict(ends)


def read_from(cfg: JobConfig, marks: dict[TopicPartition, int]) -> list[bytes]:
    """Every record after ``marks`` (offsets taken before the job ran) up to the current end."""
    consumer = KafkaConsumer(bootstrap_servers=cfg.bootstrap_servers, enable_auto_commit=False)
    consumer.assign(list(marks))
    ends = consumer.end_offsets(list(marks))
    for part, offset in marks.items():
        consumer.seek(part, offset)
    values: list[bytes] = []
    while any(consumer.position(p) < ends[p] for p in marks):
        for batch in consumer.poll(timeout_ms=500).values():
            values.extend(r.value for r in batch)
    consumer.close()
    return values


def summarize(cfg: JobConfig, produced: int, marks: dict[str, dict], seconds: float) -> None:
    reg = registry()
    clean = [reg.decode(v, "behavior_event") for v in read_from(cfg, marks['clean'])]
    letters = [reg.decode(v, "dead_letter") for v in read_from(cfg, marks['dlq'])]
    print(f"\n==> job finished in {seconds:.1f}s: {produced} records in, {len(clean)} clean events "
          f"to '{cfg.clean_topic}', {len(letters)} dead letters to '{cfg.dlq_topic}'")
    kinds = collections.Counter(e["event_type"] for e in clean)
    print("    clean events by type: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    for e in clean[:3]:
        product = e["product"] or {}
        print(f"    e.g. {e['event_type']:<13} user={e['user_id'] or e['anonymous_id']} "
              f"product={product.get('product_id')} {product.get('category')} {product.get('price')} "
              f"{product.get('currency')}")
    for letter in letters:
        print(f"    dead letter: {letter['reason']} ({letter['stage']}): {letter['detail'][:90]}")
    triggers = [reg.decode(v, "trigger") for v in read_from(cfg, marks['triggers'])]
    kinds = collections.Counter(t["trigger_type"] for t in triggers)
    print(f"==> {len(triggers)} triggers to '{cfg.triggers_topic}': "
          + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    for t in sorted(triggers, key=lambda t: t["trigger_type"] == "ui_personalization")[:4]:
        who = "holdout (not contacted)" if t["holdout"] else "channels " + ",".join(t["channels"])
        print(f"    {t['trigger_type']:<22} {t['user_id']}  {who}\n      why: {t['rule'][:110]}")
        if t["model_version"]:
            scores = ", ".join(f"{k}={v:.2f}" for k, v in sorted(t["scores"].items()))
            print(f"      model {t['model_version']}: {scores}; recommends {', '.join(t['recommended_items'][:5])}")
    keys = redis.Redis.from_url(cfg.redis_url).keys("sp:*")
    print(f"==> Redis: {len(keys)} keys (hints, recommendations, features), every one with a TTL")


def main() -> int:
    cfg = load_job_config()
    since = int(time.time() * 1000)
    stream = demo_stream(shoppers=40, start_ms=since - 60 * 60_000, products=shop_products())
    consents = demo_consents(40, since - 2 * 60 * 60_000)
    produce(cfg, cfg.consent_topic, [v for _, v in consents], [k for k, _ in consents])
    start = end_offsets(cfg, cfg.events_topic)
    produce(cfg, cfg.events_topic, stream)
    print(f"==> produced {len(consents)} consent records to '{cfg.consent_topic}' (compacted, keyed by user)")
    print(f"==> produced {len(stream)} records to '{cfg.events_topic}' (30% re-delivered, 4 broken)")
    version = ensure_model()
    print(f"==> session model {version} from the registry scores every decision" if version
          else "==> no session model: triggers run on rules alone")
    print("==> running the job on Flink's embedded mini-cluster (bounded to these records) ...", flush=True)
    from pipelines import job

    marks = {name: end_offsets(cfg, topic) for name, topic in
             (("clean", cfg.clean_topic), ("dlq", cfg.dlq_topic), ("triggers", cfg.triggers_topic))}
    started = time.monotonic()
    offsets = ";".join(f"partition:{p.partition},offset:{o}" for p, o in sorted(start.items()))
    job_cfg = load_job_config(bounded=True, start_offsets=offsets, group_id=f"demo-{since}", mode="replay")
    job.run(job_cfg)
    summarize(cfg, len(stream), marks, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except DecodeError as exc:
        print(f"error: output not decodable: {exc}", file=sys.stderr)
        sys.exit(1)
