"""The thin Kafka loop around ``core.Delivery``, and the two services wired from their config.

The consumer joins a group with ``isolation_level=read_committed`` (triggers written in a Flink
transaction appear only once it commits) and auto-commit off: each record's offset is committed
after it is handled, so a restart resumes after the last handled trigger, and the claims catch
the few a crash between handling and committing would replay. A record that does not decode as
a trigger is recorded as failed (with its position) and committed: bad input never stops delivery.

The same consumer reads the erasure requests and the job's confirmations (``erasure``): they
purge the service's own stores and stop triggers of erased shoppers. A bad erasure record is
recorded as failed the same way.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from .claims import RedisClaims, RedisJournal
from .config import DeliveryConfig, EmailConfig, WebhookConfig
from .core import EMAIL_TYPES, PUSH_TYPES, Delivery, Journal, Outcome, now_ms
from .directory import from_config
from .erasure import Erasures
from .senders import EmailSender, WebhookSender

log = logging.getLogger(__name__)


def redis_client(cfg: DeliveryConfig) -> Any:
    import redis

    return redis.Redis.from_url(cfg.redis_url, socket_timeout=10, socket_connect_timeout=10)


def email_delivery(cfg: EmailConfig, client: Any, stop: threading.Event) -> Delivery:
    """The e-mail channel: abandoned_cart and repeated_browse_offer triggers, over SMTP."""
    sender = EmailSender(cfg, from_config(cfg, client), sleep=stop.wait)
    template = cfg.address_key
    return _delivery(cfg, client, "email", EMAIL_TYPES, sender,
                     lambda some_id: [template.format(user=some_id)] if template else [])


def webhook_delivery(cfg: WebhookConfig, client: Any, stop: threading.Event) -> Delivery:
    """The push channel: every trigger type carrying ``push``, POSTed to the webhook."""
    return _delivery(cfg, client, "push", PUSH_TYPES, WebhookSender(cfg, sleep=stop.wait))


def _delivery(cfg: DeliveryConfig, client: Any, channel: str, types: tuple[str, ...], send: Any,
              directory_keys: Callable[[str], list[str]] | None = None) -> Delivery:
    journal = RedisJournal(client, cfg.key_prefix, cfg.journal_maxlen, cfg.journal_file)
    erasures = Erasures(client, cfg.key_prefix, cfg.claim_ttl_s, journal, directory_keys)
    return Delivery(channel=channel, types=types, claims=RedisClaims(client, cfg.claim_ttl_s),
                    journal=journal, send=send, prefix=cfg.key_prefix, erasures=erasures)


METADATA_MAX_AGE_MS = 10_000


def schemas(cfg: DeliveryConfig) -> dict[str, str]:
    """What a delivery service reads (the triggers, the erasure requests and their confirmations):
    topic -> the schema its records are decoded with."""
    return {cfg.topic: "trigger", cfg.erasure_topic: "erasure_request", cfg.erasure_done_topic: "erasure_confirmation"}


def topics(cfg: DeliveryConfig) -> list[str]:
    """The topics of ``schemas(cfg)``, triggers first."""
    return list(schemas(cfg))


def make_consumer(cfg: DeliveryConfig, channel: str, stop: threading.Event | None = None) -> Any:
    """A group consumer of ``topics(cfg)``: read_committed, offsets committed by hand.

    It subscribes only once the topics' partitions are in its metadata (``await_partitions``).
    kafka-python otherwise joins the group before its first metadata response lists the topic,
    assigns itself nothing ("No partition metadata for topic ...") and relies on a rejoin after
    the next refresh, which a race can lose: the consumer then reads nothing. Metadata is refreshed
    every ``METADATA_MAX_AGE_MS`` (not kafka-python's 5 minutes), so new partitions of the topic
    are read within seconds."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        bootstrap_servers=[s.strip() for s in cfg.bootstrap_servers.split(",") if s.strip()],
        group_id=cfg.group(channel), client_id=f"shoppulse-delivery-{channel}",
        isolation_level="read_committed", enable_auto_commit=False, auto_offset_reset=cfg.auto_offset_reset,
        max_poll_records=20, max_poll_interval_ms=max(300_000, int(cfg.give_up_after_s * 1000 * 25)),
        metadata_max_age_ms=METADATA_MAX_AGE_MS,
    )
    wanted, stop = topics(cfg), stop or threading.Event()
    for topic in wanted:
        await_partitions(consumer, topic, channel, stop)
    consumer.subscribe(wanted)
    return consumer


def await_partitions(consumer: Any, topic: str, channel: str, stop: threading.Event,
                     retry_s: float = 2.0) -> set[int]:
    """Block until ``topic`` has partitions in the consumer's metadata (or ``stop``), saying so
    every ``retry_s`` while it has none: a missing topic is a deployment error to see in the log."""
    while not (partitions := set(consumer.partitions_for_topic(topic) or ())) and not stop.is_set():
        log.warning("%s delivery: topic %s has no partitions yet (not created?); retrying in %.0f s",
                    channel, topic, retry_s)
        stop.wait(retry_s)
    return partitions


def undecodable(record: Any, channel: str, reason: str) -> Outcome:
    """The journal entry of a record that is not a trigger, named by its position."""
    where = f"{record.topic}/{record.partition}/{record.offset}"
    return Outcome(trigger_id=where, channel=channel, user_id="", trigger_type="", outcome="failed",
                   detail=f"undecodable: {reason}", attempts=0, at_ms=now_ms())


def handle_record(record: Any, delivery: Delivery, journal: Journal,
                  by_topic: dict[str, str] | None = None) -> Any:
    """Decode one Kafka record and hand it to ``delivery`` (a trigger) or its erasures."""
    from udfs.avro_codec import DecodeError, registry

    schema = (by_topic or {}).get(record.topic, "trigger")
    try:
        value = registry().decode(record.value, schema)
    except DecodeError as exc:
        log.error("%s: record %s/%s/%s is not a %s: %s", delivery.channel, record.topic,
                  record.partition, record.offset, schema, exc)
        outcome = undecodable(record, delivery.channel, str(exc))
        journal.record(outcome, {"topic": record.topic, "partition": record.partition, "offset": record.offset})
        return outcome
    if schema == "trigger":
        return delivery.handle(value)
    if delivery.erasures is None:
        raise RuntimeError(f"{delivery.channel}: an erasure record arrived and nothing acts on erasures")
    if schema == "erasure_request":
        return delivery.erasures.on_request(value, now_ms())
    return delivery.erasures.on_confirmation(value)


def consume(consumer: Any, delivery: Delivery, stop: threading.Event, poll_timeout_ms: int = 500,
            by_topic: dict[str, str] | None = None) -> int:
    """Handle records until ``stop`` is set, committing each offset after its record; returns the count."""
    handled = 0
    while not stop.is_set():
        for records in consumer.poll(timeout_ms=poll_timeout_ms).values():
            for record in records:
                if stop.is_set():
                    return handled
                handle_record(record, delivery, delivery.journal, by_topic)
                handled += 1
                commit_after(consumer, record, delivery.channel)
    return handled


def commit_after(consumer: Any, record: Any, channel: str) -> None:
    """Commit the offset following ``record``; a failed commit only means a replay the claims absorb."""
    from kafka import OffsetAndMetadata, TopicPartition
    from kafka.errors import CommitFailedError

    try:
        consumer.commit({TopicPartition(record.topic, record.partition): OffsetAndMetadata(record.offset + 1)})
    except CommitFailedError as exc:  # rebalanced away: the new owner re-reads, its claim check stops a resend
        log.warning("%s: offset commit failed (%s); the claims prevent a second send", channel, exc)


def serve(cfg: DeliveryConfig, channel: str, delivery: Delivery, stop: threading.Event) -> int:
    """Consume ``topics(cfg)`` as ``channel``'s group until ``stop``; the consumer is closed on the way out."""
    consumer = make_consumer(cfg, channel, stop)
    log.info("%s delivery: topics %s, group %s, brokers %s", channel, ", ".join(topics(cfg)), cfg.group(channel),
             cfg.bootstrap_servers)
    try:
        return consume(consumer, delivery, stop, cfg.poll_timeout_ms, schemas(cfg))
    finally:
        consumer.close()
        log.info("%s delivery stopped", channel)
