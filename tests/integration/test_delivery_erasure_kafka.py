"""An erasure reaches the delivery service's own stores on the real broker and Redis: the
journal streams, the JSONL copy and the address key lose the shopper, and triggers the job
emitted before it forgot them are never sent, while a trigger after a newer consent is."""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from services.delivery.claims import RedisJournal, read_journal
from services.delivery.core import Outcome
from services.delivery.render import TRIGGER_HEADER
from services.delivery.service import email_delivery
from services.delivery.smtp_sink import SmtpSink
from tests.integration.test_delivery_kafka import configs, journal, running, wait_for
from tests.unit.delivery_samples import abandoned_cart
from udfs.avro_codec import registry

pytestmark = pytest.mark.integration
GONE, DEVICE, STAY = "u-gone", "a-gone", "u-stay"


def produce(kafka: Any, topic: str, schema: str, records: list[dict[str, Any]]) -> None:
    kafka.produce(topic, [registry().encode(schema, r) for r in records],
                  [str(r["user_id"]).encode() for r in records])


def named(client: Any, jsonl: Path, some_id: str) -> int:
    """How many entries of the streams and the JSONL copy name ``some_id``."""
    entries = read_journal(client) + read_journal(client, failed=True)
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()] if jsonl.exists() else []
    return sum(1 for e in entries + lines if e["user_id"] == some_id)


def seed_failure(client: Any) -> None:
    """A failed delivery of the shopper's, as the push service would have recorded it."""
    failed = Outcome(trigger_id="t-failed", channel="push", user_id=GONE, trigger_type="abandoned_cart",
                     outcome="failed", detail="HTTP 503", attempts=5, at_ms=0)
    RedisJournal(client, "sp", 1000).record(failed, abandoned_cart(GONE, seed="failed"))


def test_an_erasure_purges_the_services_stores_and_stops_earlier_triggers(
        kafka: Any, redis_url: str, redis_client: Any, tmp_path: Path) -> None:
    topic, jsonl, now = kafka.new_topic(prefix="triggers"), tmp_path / "journal.jsonl", int(time.time() * 1000)
    redis_client.set(f"sp:contact:{GONE}", "gone@mail.example")
    seed_failure(redis_client)
    with SmtpSink(tmp_path / "mail") as sink:
        cfg = replace(configs(kafka, redis_url, topic, sink.port)[0], journal_file=str(jsonl))
        with running(cfg, "email", email_delivery):
            first = [abandoned_cart(GONE, emitted_at=now - 5000), abandoned_cart(STAY, emitted_at=now - 5000)]
            produce(kafka, topic, "trigger", first)
            wait_for(lambda: len(journal(redis_client, "email")) >= 2, "the two triggers before the erasure")
            assert named(redis_client, jsonl, GONE) == 4, "sent (stream, JSONL), the failure (both streams)"

            produce(kafka, cfg.erasure_topic, "erasure_request", [{
                "request_id": "r-1", "user_id": GONE, "anonymous_ids": [DEVICE], "requested_at": now,
                "reason": "customer request"}])
            wait_for(lambda: redis_client.exists(f"sp:erased:{GONE}") and not named(redis_client, jsonl, GONE),
                     "the request's purge")
            assert redis_client.get(f"sp:contact:{GONE}") is None
            assert named(redis_client, jsonl, STAY) == 2, "the other shopper's entries stay"

            before = [abandoned_cart(GONE, seed="pending", emitted_at=now - 1000),
                      abandoned_cart(DEVICE, emitted_at=now - 1000)]
            produce(kafka, topic, "trigger", before)
            wait_for(lambda: len(erased(redis_client)) >= 2, "the pending triggers skipped")

            completed = now + 60_000  # the job confirms later than the service read the request
            produce(kafka, cfg.erasure_done_topic, "erasure_confirmation", [{
                "request_id": "r-1", "user_id": GONE, "stores": ["flink_state", "timers", "redis"],
                "completed_at": completed}])
            wait_for(lambda: not redis_client.exists("sp:erasure:r-1"), "the confirmation")
            mid, late = (abandoned_cart(GONE, seed="mid", emitted_at=completed - 1),
                         abandoned_cart(GONE, seed="late", emitted_at=completed + 1))
            produce(kafka, topic, "trigger", [mid, late])
            wait_for(lambda: len(journal(redis_client, "email")) >= 5, "the triggers after the confirmation")
        mails = sink.messages()
    sent = {m[TRIGGER_HEADER]: m["X-Envelope-To"] for m in mails}
    assert len(mails) == 3 and sent == {
        first[0]["trigger_id"]: "gone@mail.example", first[1]["trigger_id"]: f"{STAY}@shop.example",
        late["trigger_id"]: f"{GONE}@shop.example"}, "after the erasure, only the trigger of a newer consent"
    assert len(erased(redis_client)) == 3 and {t["trigger_id"] for t in (*before, mid)} == \
        {e["trigger_id"] for e in erased(redis_client)}
    assert named(redis_client, jsonl, GONE) == 2 and named(redis_client, jsonl, DEVICE) == 0


def erased(client: Any) -> list[dict[str, str]]:
    return [e for e in journal(client, "email") if e["detail"] == "erased" and e["user_id"] == ""]


def test_forget_walks_every_page_of_both_streams(redis_client: Any, tmp_path: Path) -> None:
    jsonl = tmp_path / "journal.jsonl"
    store = RedisJournal(redis_client, "sp", 1000, str(jsonl))
    for i in range(10):
        user = GONE if i % 3 == 0 else STAY
        store.record(Outcome(f"t-{i}", "push", user, "abandoned_cart", "failed" if i % 2 else "sent", "", 1, i),
                     abandoned_cart(user, seed=str(i)))
    assert named(redis_client, jsonl, GONE) == 4 + 2 + 4  # 4 in the stream, 2 of them failed, 4 JSONL lines
    assert store.forget({GONE}, page=3) == 10
    assert named(redis_client, jsonl, GONE) == 0 and named(redis_client, jsonl, STAY) == 6 + 3 + 6
