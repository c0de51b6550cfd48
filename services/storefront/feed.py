"""The service's one consumer of the triggers and erasure topics, in a background thread.

kafka-python's consumer blocks, so it polls in a daemon thread and hands each decoded record
(with its schema: trigger, erasure request or confirmation) to the event loop
(``call_soon_threadsafe``), where the router fans triggers out and acts on erasures. It reads
committed records only (``read_committed``: with an exactly-once job nothing from an aborted
transaction is shown), joins no consumer group (every storefront instance must see every
record) and starts at the end of each partition: live push is about what happens from now on.
It waits for every topic to exist (no live push without the erasures that gate it), and an
undecodable record is logged and skipped.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

from udfs.avro_codec import registry

from .config import StorefrontConfig, kafka_servers

log = logging.getLogger(__name__)
Deliver = Callable[[str, dict[str, Any]], Any]  # (schema, decoded record)


def schemas(cfg: StorefrontConfig) -> dict[str, str]:
    """The topics the feed reads, each with the schema of its records."""
    return {cfg.triggers_topic: "trigger", cfg.erasure_topic: "erasure_request",
            cfg.erasure_done_topic: "erasure_confirmation"}


def make_consumer(cfg: StorefrontConfig) -> Any:
    from kafka import KafkaConsumer

    return KafkaConsumer(bootstrap_servers=kafka_servers(cfg), client_id="shoppulse-storefront",
                         group_id=None, enable_auto_commit=False, isolation_level="read_committed",
                         fetch_max_wait_ms=100, request_timeout_ms=30_000)


def decode(value: bytes, schema: str) -> dict[str, Any] | None:
    try:
        return registry().decode(value, schema)
    except Exception as exc:  # fastavro raises several types; a bad record must not stop the feed
        log.warning("skipping an undecodable %s record: %s: %s", schema, type(exc).__name__, exc)
        return None


class TriggerFeed:
    """Consumes the triggers and erasure topics (``schemas``) and calls ``deliver(schema, record)``
    on ``loop`` for each record."""

    def __init__(self, cfg: StorefrontConfig, loop: asyncio.AbstractEventLoop, deliver: Deliver,
                 consumer_factory: Callable[[StorefrontConfig], Any] = make_consumer) -> None:
        self.cfg, self.loop, self.deliver, self.factory = cfg, loop, deliver, consumer_factory
        self.schemas = schemas(cfg)
        self.stopping = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="storefront-triggers", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self.stopping.set()
        if self.thread.ident is not None:  # started
            self.thread.join(timeout_s)

    def _connect(self) -> Any:
        """A consumer, retried every few seconds while the broker cannot be reached."""
        while not self.stopping.is_set():
            try:
                return self.factory(self.cfg)
            except Exception as exc:  # kafka-python raises on an unreachable bootstrap server
                log.error("cannot create the triggers consumer (retrying): %s: %s", type(exc).__name__, exc)
                self.stopping.wait(5.0)
        return None

    def _run(self) -> None:
        consumer = self._connect()
        if consumer is None:
            return
        try:
            if self._assign(consumer):
                self.ready.set()
                self._poll(consumer)
        finally:
            consumer.close()

    def _assign(self, consumer: Any) -> bool:
        """Assign every partition of the topics, at their ends; waits for every topic to exist."""
        while not self.stopping.is_set():
            parts = {topic: self._partitions(consumer, topic) for topic in self.schemas}
            missing = [topic for topic, found in parts.items() if not found]
            if not missing:
                everything = [tp for found in parts.values() for tp in found]
                consumer.assign(everything)
                consumer.seek_to_end(*everything)
                for part in everything:  # resolve the end offsets now, not at the first poll
                    consumer.position(part)
                log.info("live push reads %s from their ends (%d partitions)", ", ".join(parts), len(everything))
                return True
            log.info("waiting for topic(s) %s", ", ".join(missing))
            self.stopping.wait(1.0)
        return False

    @staticmethod
    def _partitions(consumer: Any, topic: str) -> list[Any]:
        """The topic's partitions, or none while the topic (or the broker) is not there yet."""
        from kafka import TopicPartition

        try:
            partitions = consumer.partitions_for_topic(topic)
        except Exception as exc:  # broker not reachable yet: kafka-python times out
            log.warning("no metadata for %s yet: %s: %s", topic, type(exc).__name__, exc)
            partitions = None
        return [TopicPartition(topic, p) for p in sorted(partitions or ())]

    def _poll(self, consumer: Any) -> None:
        while not self.stopping.is_set():
            batches = consumer.poll(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    schema = self.schemas.get(record.topic, "trigger")
                    value = decode(record.value, schema)
                    if value is not None:
                        self._hand_over(schema, value)

    def _hand_over(self, schema: str, value: dict[str, Any]) -> None:
        try:
            self.loop.call_soon_threadsafe(self.deliver, schema, value)
        except RuntimeError:  # the loop closed during shutdown
            self.stopping.set()
