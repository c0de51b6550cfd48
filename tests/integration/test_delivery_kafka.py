"""The e-mail and webhook delivery services on the real broker and Redis, with the real SMTP sink
and a local webhook receiver that fails its first requests: each trigger reaches each channel
exactly once, holdout users are never contacted, and every outcome is in the journal."""
from __future__ import annotations

import asyncio
import collections
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from kafka import KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewPartitions, NewTopic

from services.delivery.claims import read_journal
from services.delivery.config import DeliveryConfig, EmailConfig, WebhookConfig, load
from services.delivery.render import TRIGGER_HEADER
from services.delivery.service import email_delivery, make_consumer, redis_client, serve, topics, webhook_delivery
from services.delivery.smtp_sink import SmtpSink
from services.stack.topics import ensure_topics
from tests.unit.delivery_samples import abandoned_cart, browse_offer, ui_hint
from udfs.avro_codec import registry

pytestmark = pytest.mark.integration
FAIL_FIRST = 3
MAX_ATTEMPTS = 5


class WebhookReceiver:
    """aiohttp on its own loop in a thread: 503 for the first ``fail_first`` requests and always
    for ``dead_user``; 200 otherwise. Every request is kept as (status, headers, body)."""

    def __init__(self, fail_first: int, dead_user: str) -> None:
        self.fail_first, self.dead_user = fail_first, dead_user
        self.requests: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        self.url = ""
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def _push(self, request: web.Request) -> web.Response:
        body = await request.json()
        failing = len(self.requests) < self.fail_first or body["user_id"] == self.dead_user
        status = 503 if failing else 200
        self.requests.append((status, dict(request.headers), body))
        return web.json_response({"ok": not failing}, status=status)

    def _run(self) -> None:
        app = web.Application()
        app.router.add_post("/push", self._push)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/push"
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the webhook receiver did not start within 10 s")
        return self

    def __exit__(self, *exc: Any) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def delivered(self) -> collections.Counter[str]:
        return collections.Counter(h["Idempotency-Key"] for s, h, _ in self.requests if s == 200)


@contextmanager
def running(cfg: DeliveryConfig, channel: str, build: Callable[..., Any]) -> Iterator[None]:
    """One delivery service consuming in a thread until the block ends; its errors fail the test."""
    stop, errors = threading.Event(), []
    client = redis_client(cfg)

    def target() -> None:
        try:
            serve(cfg, channel, build(cfg, client, stop), stop)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    (thread := threading.Thread(target=target, name=f"delivery-{channel}", daemon=True)).start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)
        client.close()
    assert not thread.is_alive(), f"{channel} service did not stop"
    assert not errors, errors


def journal(client: Any, channel: str) -> list[dict[str, str]]:
    return [e for e in read_journal(client) if e["channel"] == channel]


def wait_for(check: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.2)


def produce_aborted(bootstrap: str, topic: str, trigger: dict[str, Any]) -> None:
    """A trigger written in a transaction that aborts: read_committed consumers never see it."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"t-{uuid.uuid4().hex[:8]}")
    producer.init_transactions()
    producer.begin_transaction()
    producer.send(topic, value=registry().encode("trigger", trigger), key=trigger["user_id"].encode())
    producer.flush(30)
    producer.abort_transaction()
    producer.close()


@pytest.fixture()
def triggers() -> dict[str, dict[str, Any]]:
    return {
        "cart": abandoned_cart("u-ann"),
        "cart_email_only": abandoned_cart("u-bob", channels=["email"]),
        "offer": browse_offer("u-cid", channels=["email", "push"]),
        "holdout": abandoned_cart("u-held", holdout=True, channels=[]),
        "onsite": abandoned_cart("u-ona", channels=["onsite"]),
        "hint": ui_hint("u-ann"),
        "dead_push": abandoned_cart("u-dead", channels=["push"]),
        "aborted": abandoned_cart("u-abo", channels=["email", "push"]),
    }


def configs(kafka: Any, redis_url: str, topic: str, smtp_port: int,
            webhook_url: str = "") -> tuple[EmailConfig, WebhookConfig]:
    """Both services on ``topic`` and fresh erasure topics, with fresh groups and fast retries."""
    group = uuid.uuid4().hex[:8]
    common = dict(bootstrap_servers=kafka.bootstrap, topic=topic, redis_url=redis_url, poll_timeout_ms=200,
                  erasure_topic=kafka.new_topic(prefix="erasure"), erasure_done_topic=kafka.new_topic(prefix="done"),
                  max_attempts=MAX_ATTEMPTS, backoff_base_s=0.05, backoff_max_s=0.2)
    email = load(EmailConfig, {}, group_id=f"{group}-email", address_key="sp:contact:{user}", smtp_port=smtp_port,
                 **common)
    return email, load(WebhookConfig, {}, group_id=f"{group}-push", webhook_url=webhook_url, **common)


def test_each_trigger_reaches_each_channel_once_and_holdout_never(
        kafka: Any, redis_url: str, redis_client: Any, tmp_path: Path, triggers: dict[str, dict[str, Any]]) -> None:
    topic = kafka.new_topic(prefix="triggers")
    produce_aborted(kafka.bootstrap, topic, triggers["aborted"])
    order = [triggers[k] for k in ("cart", "cart_email_only", "cart", "offer", "holdout", "onsite", "hint",
                                   "dead_push")]
    kafka.produce(topic, [registry().encode("trigger", t) for t in order] + [b"not a trigger"],
                  [t["user_id"].encode() for t in order] + [b"u-ann"])
    redis_client.set("sp:contact:u-bob", "bob@mail.example")
    with SmtpSink(tmp_path / "mail") as sink, WebhookReceiver(FAIL_FIRST, "u-dead") as hook:
        email_cfg, push_cfg = configs(kafka, redis_url, topic, sink.port, hook.url)
        with running(email_cfg, "email", email_delivery), running(push_cfg, "push", webhook_delivery):
            wait_for(lambda: len(journal(redis_client, "email")) >= 6, "6 e-mail journal entries")
            wait_for(lambda: len(journal(redis_client, "push")) >= 5, "5 push journal entries")
            time.sleep(1.0)  # anything extra (a second send) would show up now
        mails = sink.messages()
        assert_emails(mails, triggers)
        assert_webhook(hook, triggers)
    assert_journal(redis_client, triggers)


def assert_emails(mails: list[Any], triggers: dict[str, dict[str, Any]]) -> None:
    by_id = collections.Counter(m[TRIGGER_HEADER] for m in mails)
    expected = {triggers[k]["trigger_id"] for k in ("cart", "cart_email_only", "offer")}
    assert set(by_id) == expected and all(n == 1 for n in by_id.values()), by_id
    recipients = {m[TRIGGER_HEADER]: m["X-Envelope-To"] for m in mails}
    assert recipients[triggers["cart"]["trigger_id"]] == "u-ann@shop.example"
    assert recipients[triggers["cart_email_only"]["trigger_id"]] == "bob@mail.example", "Redis directory first"
    cart_mail = next(m for m in mails if m[TRIGGER_HEADER] == triggers["cart"]["trigger_id"])
    for part in ("plain", "html"):
        body = cart_mail.get_body((part,)).get_content()
        assert all(item in body for item in ("p-kettle", "p-toaster", "p-mug", "p-grinder", "120.00 EUR")), body
    offer = next(m for m in mails if m[TRIGGER_HEADER] == triggers["offer"]["trigger_id"])
    assert "electronics/cameras" in offer["Subject"]
    assert not [m for m in mails if "u-held" in m["X-Envelope-To"] or "u-abo" in m["X-Envelope-To"]]


def assert_webhook(hook: WebhookReceiver, triggers: dict[str, dict[str, Any]]) -> None:
    delivered = hook.delivered()
    assert delivered == {triggers["cart"]["trigger_id"]: 1, triggers["offer"]["trigger_id"]: 1}, delivered
    assert sum(1 for s, _, _ in hook.requests if s == 503) >= FAIL_FIRST, "the first requests were retried"
    dead = [r for r in hook.requests if r[2]["user_id"] == "u-dead"]
    assert len(dead) == MAX_ATTEMPTS and all(s == 503 for s, _, _ in dead), "bounded: gave up after max_attempts"
    assert not [r for r in hook.requests if r[2]["user_id"] in ("u-held", "u-abo", "u-ona", "u-bob")]
    body = next(b for s, _, b in hook.requests if s == 200 and b["user_id"] == "u-ann")
    assert body["trigger_id"] == triggers["cart"]["trigger_id"] and body["cart"][0]["product_id"] == "p-kettle"


def assert_journal(client: Any, triggers: dict[str, dict[str, Any]]) -> None:
    outcomes = collections.Counter((e["channel"], e["user_id"], e["outcome"]) for e in read_journal(client))
    assert outcomes == {
        ("email", "u-ann", "sent"): 1, ("email", "u-ann", "duplicate"): 1, ("email", "u-bob", "sent"): 1,
        ("email", "u-cid", "sent"): 1, ("email", "u-held", "skipped"): 1, ("email", "", "failed"): 1,
        ("push", "u-ann", "sent"): 1, ("push", "u-ann", "duplicate"): 1, ("push", "u-cid", "sent"): 1,
        ("push", "u-held", "skipped"): 1, ("push", "u-dead", "failed"): 1, ("push", "", "failed"): 1,
    }, outcomes
    held = [e for e in read_journal(client) if e["user_id"] == "u-held"]
    assert {e["detail"] for e in held} == {"holdout"}
    dead_letters = read_journal(client, failed=True)
    dead = next(e for e in dead_letters if e["user_id"] == "u-dead")
    assert dead["attempts"] == str(MAX_ATTEMPTS) and "HTTP 503" in dead["detail"]
    assert json.loads(dead["trigger"])["trigger_id"] == triggers["dead_push"]["trigger_id"]
    assert client.get(f"sp:delivered:email:{triggers['cart']['trigger_id']}") == b"sent"
    assert client.ttl(f"sp:delivered:push:{triggers['cart']['trigger_id']}") > 0


def test_a_restart_resumes_after_committed_offsets_and_a_replay_sends_nothing_again(
        kafka: Any, redis_url: str, redis_client: Any, tmp_path: Path) -> None:
    topic = kafka.new_topic(prefix="triggers")
    carts = [abandoned_cart(f"u-{i}") for i in range(4)]
    kafka.produce(topic, [registry().encode("trigger", t) for t in carts], [t["user_id"].encode() for t in carts])
    with SmtpSink(tmp_path / "mail") as sink:
        cfg, _ = configs(kafka, redis_url, topic, sink.port)
        with running(cfg, "email", email_delivery):
            wait_for(lambda: len(journal(redis_client, "email")) >= 4, "4 e-mails")
        assert len(sink.messages()) == 4
        with running(cfg, "email", email_delivery):  # same group: resumes after the committed offsets
            time.sleep(4.0)
        assert len(journal(redis_client, "email")) == 4, "a restarted group re-read handled records"
        replay = replace(cfg, group_id=f"{cfg.group_id}-replay")  # a new group reads everything again
        with running(replay, "email", email_delivery):
            wait_for(lambda: len(journal(redis_client, "email")) >= 8, "4 replayed triggers")
            time.sleep(1.0)
        assert len(sink.messages()) == 4, "a replay must not send again"
    outcomes = collections.Counter(e["outcome"] for e in journal(redis_client, "email"))
    assert outcomes == {"sent": 4, "duplicate": 4}


def test_the_sink_says_why_it_cannot_listen(tmp_path: Path) -> None:
    with SmtpSink(tmp_path / "a") as first:
        taken = SmtpSink(tmp_path / "b", port=first.port)
        with pytest.raises(RuntimeError, match=f"cannot listen on 127.0.0.1:{first.port}"):
            taken.start()


def test_the_first_join_assigns_every_partition(kafka: Any, caplog: pytest.LogCaptureFixture) -> None:
    """kafka-python joins before its metadata lists the topic unless told to wait: it then assigns
    itself nothing and depends on a rejoin after the next refresh, which a race can lose. The
    first consumer of a process happens to win the race, so three are made in turn."""
    caplog.set_level(logging.WARNING, logger="kafka.coordinator")
    for _ in range(3):
        cfg = configs(kafka, "redis://127.0.0.1:1/0", kafka.new_topic(partitions=2, prefix="triggers-join"), 25)[0]
        consumer = make_consumer(cfg, "email")
        try:
            deadline = time.monotonic() + 30
            while not consumer.assignment() and time.monotonic() < deadline:
                consumer.poll(timeout_ms=200)
            assert consumer.assignment() == {TopicPartition(t, p) for t in topics(cfg) for p in (0, 1)}
        finally:
            consumer.close()
    assert not [r for r in caplog.records if "No partition metadata" in r.getMessage()], caplog.text


def test_a_service_started_before_its_topic_exists_picks_it_up_within_seconds(
        kafka: Any, redis_url: str, redis_client: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    name = f"triggers-late-{uuid.uuid4().hex[:8]}"
    cart = abandoned_cart("u-late")
    with SmtpSink(tmp_path / "mail") as sink:
        cfg, _ = configs(kafka, redis_url, name, sink.port)
        with running(cfg, "email", email_delivery):
            time.sleep(3.0)  # the service waits for the topic, saying so in its log
            assert f"topic {name} has no partitions yet" in caplog.text
            ensure_topics(kafka.bootstrap, [NewTopic(name, 2, 1)])
            kafka.produce(name, [registry().encode("trigger", cart)], [b"u-late"])
            wait_for(lambda: len(journal(redis_client, "email")) >= 1, "the trigger of a topic created late", 30)
    assert len(sink.messages()) == 1


def test_a_partition_added_to_the_topic_is_read_within_seconds(
        kafka: Any, redis_url: str, redis_client: Any, tmp_path: Path) -> None:
    """With kafka-python's default metadata age (5 min) the new partition would wait that long."""
    topic = kafka.new_topic(partitions=1, prefix="triggers-grow")
    with SmtpSink(tmp_path / "mail") as sink:
        cfg, _ = configs(kafka, redis_url, topic, sink.port)
        with running(cfg, "email", email_delivery):
            kafka.produce(topic, [registry().encode("trigger", abandoned_cart("u-first"))], [b"u-first"])
            wait_for(lambda: len(journal(redis_client, "email")) >= 1, "the trigger on partition 0", 30)
            KafkaAdminClient(bootstrap_servers=kafka.bootstrap).create_partitions({topic: NewPartitions(2)})
            producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
            producer.send(topic, registry().encode("trigger", abandoned_cart("u-second")), b"u-second", partition=1)
            producer.flush(30)
            producer.close()
            wait_for(lambda: len(journal(redis_client, "email")) >= 2, "the trigger on the added partition", 30)
    assert len(sink.messages()) == 2
