"""Producing to Kafka with confluent-kafka, every failure counted, and a progress line on stderr.

``Sender.send`` hands a record to librdkafka (acks=all, idempotent, batched; see
``config.producer_conf``); when the local queue is full it serves acknowledgements and retries,
so nothing is dropped. Only failed deliveries call back (``delivery.report.only.error``), which
keeps the per-record Python cost low: delivered = sent - failed - still queued. Client-level
errors (broker down, authentication) are counted too. ``close`` flushes and returns the counts.
"""
from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any, TextIO

from udfs.event_time import record_timestamp


@dataclass(frozen=True)
class Counts:
    """What happened to the records handed to the producer."""

    sent: int
    delivered: int
    failed: int
    pending: int
    errors: dict[str, int]

    def ok(self) -> bool:
        return self.failed == 0 and self.pending == 0


class Sender:
    """A confluent-kafka producer for one topic that counts deliveries and failures."""

    def __init__(self, conf: dict[str, Any], topic: str, producer: Any = None) -> None:
        if producer is None:
            from confluent_kafka import Producer

            producer = Producer({**conf, "on_delivery": self._delivered, "error_cb": self._client_error})
        self.producer, self.topic = producer, topic
        self.sent = self.failed = 0
        self.errors: Counter[str] = Counter()

    def _delivered(self, err: Any, msg: Any) -> None:
        if err is not None:
            self.failed += 1
            self.errors[str(err)] += 1

    def _client_error(self, err: Any) -> None:
        self.errors[f"client: {err}"] += 1

    def send(self, key: bytes | None, value: bytes, timestamp_ms: int = 0) -> None:
        """Queue one record; waits for room (serving acknowledgements) rather than dropping it.
        ``timestamp_ms`` is the Kafka timestamp (the event's time, ``udfs.event_time``; 0 = now)."""
        while True:
            try:
                self.producer.produce(self.topic, value, key, timestamp=timestamp_ms)
                break
            except BufferError:
                self.producer.poll(0.05)
        self.sent += 1
        if not self.sent & 1023:
            self.producer.poll(0)

    def send_many(self, records: Iterable[tuple[bytes | None, bytes]]) -> int:
        """Queue ``records`` in a tight loop (the benchmark's path); returns how many."""
        produce, topic, n = self.producer.produce, self.topic, 0
        for key, value in records:
            try:
                produce(topic, value, key)
            except BufferError:
                self.producer.poll(0.05)
                self.send(key, value)
                self.sent -= 1
            n += 1
        self.sent += n
        self.producer.poll(0)
        return n

    def serve(self) -> None:
        """Run pending delivery callbacks without waiting."""
        self.producer.poll(0)

    def counts(self) -> Counts:
        pending = len(self.producer)
        return Counts(self.sent, self.sent - self.failed - pending, self.failed, pending, dict(self.errors))

    def close(self, timeout_s: float) -> Counts:
        """Wait up to ``timeout_s`` for every acknowledgement; the final counts."""
        self.producer.flush(timeout_s)
        return self.counts()


class ProgressLine:
    """About once a second on stderr: events sent, events/s, shoppers active, delivery errors."""

    def __init__(self, label: str, every_s: float = 1.0, stream: TextIO | None = None) -> None:
        self.label, self.every_s = label, every_s
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.start = self.last = time.monotonic()
        self.last_sent = 0

    def line(self, counts: Counts, active: int | None, rate: float) -> str:
        shoppers = "" if active is None else f" | {active:,} shoppers active"
        failures = counts.failed + sum(n for e, n in counts.errors.items() if e.startswith("client:"))
        return (f"{self.label}: {counts.sent:,} events sent | {rate:,.0f} events/s{shoppers} | "
                f"{failures:,} delivery errors | {counts.pending:,} awaiting ack")

    def update(self, counts: Counts, active: int | None = None, final: bool = False) -> None:
        """Print when a second has passed (or ``final``); the rate is over the last interval."""
        now = time.monotonic()
        if not final and now - self.last < self.every_s:
            return
        span = now - (self.start if final else self.last)
        sent = counts.sent if final else counts.sent - self.last_sent
        text = self.line(counts, active, sent / span if span > 0 else 0.0)
        self.stream.write(("\r" if self.tty else "") + text + ("\n" if final or not self.tty else ""))
        self.stream.flush()
        self.last, self.last_sent = now, counts.sent


def report_counts(counts: Counts, out: IO[str]) -> int:
    """Print the delivery summary; exit status 1 when any record failed or is unacknowledged."""
    out.write(f"delivered {counts.delivered:,} of {counts.sent:,} events; {counts.failed:,} failed, "
              f"{counts.pending:,} unacknowledged\n")
    for error, n in sorted(counts.errors.items(), key=lambda kv: -kv[1]):
        out.write(f"  {n:,} x {error}\n")
    return 0 if counts.ok() else 1


def stamp_of(event: dict[str, Any]) -> int:
    """Kafka timestamp of a sent event: its own time, never ahead of the clock (udfs.event_time)."""
    return record_timestamp(event["event_time"], int(time.time() * 1000))
