"""``make demo``: demo events through the job on the embedded mini-cluster, and what came out.

Produces a seeded stream of shopper journeys (with 30% duplicate deliveries and a few broken
records) to the events topic of the running local stack, runs the job over exactly those records
(bounded, from the produce time) and prints the clean events, the dead letters and their reasons.
"""
from __future__ import annotations

import collections
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from pipelines.config import JobConfig, load_job_config
from pipelines.demo_events import demo_stream
from udfs.avro_codec import DecodeError, registry


def produce(cfg: JobConfig, stream: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=cfg.bootstrap_servers, acks="all", linger_ms=5)
    for value in stream:
        producer.send(cfg.events_topic, value=value)
    producer.flush(60)
    producer.close()


def read_since(cfg: JobConfig, topic: str, since_ms: int) -> list[bytes]:
    consumer = KafkaConsumer(bootstrap_servers=cfg.bootstrap_servers, enable_auto_commit=False)
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    consumer.assign(parts)
    starts = consumer.offsets_for_times({p: since_ms for p in parts})
    ends = consumer.end_offsets(parts)
    for p in parts:
        consumer.seek(p, starts[p].offset if starts[p] else ends[p])
    values: list[bytes] = []
    while any(consumer.position(p) < ends[p] for p in parts):
        for batch in consumer.poll(timeout_ms=500).values():
            values.extend(r.value for r in batch)
    consumer.close()
    return values


def summarize(cfg: JobConfig, produced: int, since_ms: int, seconds: float) -> None:
    reg = registry()
    clean = [reg.decode(v, "behavior_event") for v in read_since(cfg, cfg.clean_topic, since_ms)]
    letters = [reg.decode(v, "dead_letter") for v in read_since(cfg, cfg.dlq_topic, since_ms)]
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


def main() -> int:
    cfg = load_job_config()
    since = int(time.time() * 1000)
    stream = demo_stream(shoppers=40, start_ms=since - 15 * 60_000)
    produce(cfg, stream)
    print(f"==> produced {len(stream)} records to '{cfg.events_topic}' (30% re-delivered, 4 broken)")
    print("==> running the job on Flink's embedded mini-cluster (bounded to these records) ...", flush=True)
    from pipelines import job

    started = time.monotonic()
    job_cfg = load_job_config(bounded=True, start_timestamp_ms=since, group_id=f"demo-{since}")
    job.run(job_cfg)
    summarize(cfg, len(stream), since, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except DecodeError as exc:
        print(f"error: output not decodable: {exc}", file=sys.stderr)
        sys.exit(1)
