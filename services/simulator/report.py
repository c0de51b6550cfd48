"""``python -m services.simulator.report --truth truth.jsonl``: the job's triggers against the truth.

Reads the triggers topic from the beginning to the offsets current at start (``--wait`` keeps
reading that many seconds longer, for abandonments still due in live mode), decodes each record
as ``trigger``, and prints precision and recall per persona, per trigger type, and per both
(``services.simulator.accuracy``). Records that do not decode are counted and reported.
"""
from __future__ import annotations

import argparse
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from services.simulator.accuracy import accuracy, format_table
from services.simulator.config import add_config_arguments, config_from_args
from services.simulator.truth import read_truth
from udfs.avro_codec import DecodeError, registry

FIELDS = ("brokers", "triggers_topic")


@dataclass
class TopicRead:
    """Decoded triggers and the records that would not decode."""

    triggers: list[dict[str, Any]] = field(default_factory=list)
    undecodable: int = 0


def _consumer(brokers: str) -> Any:
    from confluent_kafka import Consumer

    return Consumer({"bootstrap.servers": brokers, "group.id": f"shoppulse-report-{uuid.uuid4().hex[:8]}",
                     "enable.auto.commit": False, "auto.offset.reset": "earliest",
                     "isolation.level": "read_committed"})


def _ends(consumer: Any, topic: str, timeout_s: float) -> dict[int, int]:
    from confluent_kafka import TopicPartition

    meta = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
    if meta is None or meta.error is not None or not meta.partitions:
        raise RuntimeError(f"topic {topic!r} not found: {getattr(meta, 'error', None)}")
    return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s)[1]
            for p in meta.partitions}


def _take(value: bytes, out: TopicRead) -> None:
    try:
        out.triggers.append(registry().decode(value, "trigger"))
    except DecodeError:
        out.undecodable += 1


def read_triggers(brokers: str, topic: str, wait_s: float = 0.0, timeout_s: float = 30.0) -> TopicRead:
    """Every trigger on ``topic`` up to its current end (and ``wait_s`` seconds beyond)."""
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    consumer, out = _consumer(brokers), TopicRead()
    try:
        ends = _ends(consumer, topic, timeout_s)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        done = {p for p, end in ends.items() if end == 0}
        deadline, settle = time.monotonic() + timeout_s + wait_s, time.monotonic() + wait_s
        while time.monotonic() < deadline and (len(done) < len(ends) or time.monotonic() < settle):
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                _take(msg.value(), out)
                if msg.offset() + 1 >= ends[msg.partition()]:
                    done.add(msg.partition())
    finally:
        consumer.close()
    return out


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m services.simulator.report", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--truth", required=True, help="ground truth JSONL written by the simulator")
    p.add_argument("--wait", type=float, default=0.0, help="keep reading this many seconds past the end [0]")
    p.add_argument("--timeout", type=float, default=30.0, help="give up reading to the end after this [30]")
    add_config_arguments(p, FIELDS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        cfg = config_from_args(args, FIELDS)
        truth = read_truth(args.truth)
        read = read_triggers(cfg.brokers, cfg.triggers_topic, args.wait, args.timeout)
    except (OSError, ValueError, RuntimeError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    print(format_table(accuracy(truth, read.triggers)))
    if read.undecodable:
        print(f"{read.undecodable} record(s) on {cfg.triggers_topic!r} did not decode as triggers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
