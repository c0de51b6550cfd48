"""The job on the real broker and Redis, exactly-once: a device's anonymous cart counts for the
user after login, the frequency cap holds across trigger types, profiles reach Redis, and
triggers are readable (read_committed) only once their transaction commits."""
from __future__ import annotations

import collections
import json
import uuid
from typing import Any

import pytest
import redis

from pipelines import job
from pipelines.config import load_job_config
from tests.integration.journeys import MIN, consent, contactable_user
from udfs.avro_codec import registry
from udfs.engine_config import EngineConfig
from udfs.journey import Journey
from udfs.replay import replay
from udfs.triggers import TriggerEngine

pytestmark = pytest.mark.integration
T0 = 1_767_261_600_000  # 2026-01-01T10:00:00Z, outside quiet hours in UTC
HOUR = 60 * MIN


def journeys(cfg: EngineConfig) -> tuple[list[dict], dict[str, str]]:
    users = {role: contactable_user(cfg, role) for role in ("shopper", "capped")}
    shopper = Journey(anonymous_id="anon-device-7", session_id="s-login", start_ms=T0)
    shopper.view("p7", "shoes/trail", 140.0).add("p7", "shoes/trail", 140.0).wait(minutes=1).login(users["shopper"])
    capped = Journey(user_id=users["capped"], anonymous_id="anon-capped", session_id="s-cap", start_ms=T0)
    categories = ("electronics/tv", "electronics/laptops", "furniture/sofas", "jewelry/watches")
    for round_, category in enumerate(categories):  # an offer per category, 6 h apart (its cooldown)
        for step, price in enumerate((900.0, 1000.0, 1100.0)):  # irregular, human gaps (not a bot)
            capped.view(f"x{round_}{int(price)}", category, price).wait(minutes=1 + (7 * round_ + 3 * step) % 5)
        capped.wait(hours=6, minutes=round_ * 13)
    capped.add("p9", "shoes/trail", 80.0)  # and a cart left behind: five contacts due within 24 h
    events = sorted(shopper.events + capped.events, key=lambda e: e["event_time"])
    return events, users


def profile(user: str) -> dict[str, Any]:
    return {"user_id": user, "email_hash": None, "timezone": "Europe/Berlin", "country": "DE", "locale": "de-DE",
            "currency": "EUR", "loyalty_tier": "gold", "segments": ["runners"], "created_at": T0 - 400 * HOUR,
            "updated_at": T0 - HOUR}


@pytest.fixture(scope="module")
def exactly_once(kafka: Any, redis_url: str) -> dict[str, Any]:
    cfg = EngineConfig()
    events, users = journeys(cfg)
    topics = {name: kafka.new_topic(prefix=name.split("_")[0], compacted=name in ("profiles_topic", "consent_topic"))
              for name in ("events_topic", "clean_topic", "dlq_topic", "triggers_topic", "profiles_topic",
                           "consent_topic", "erasure_topic", "erasure_done_topic")}
    job_cfg = load_job_config(bootstrap_servers=kafka.bootstrap, group_id=f"eo-{uuid.uuid4().hex[:8]}",
                              starting_offsets="earliest", bounded=True, parallelism=2, checkpoint_interval_ms=2_000,
                              delivery="exactly-once", redis_url=redis_url, mode="replay", **topics)
    reg = registry()
    consents = [consent(u, T0 - 10 * MIN) for u in users.values()]
    kafka.produce(job_cfg.consent_topic, [reg.encode("consent_record", c) for c in consents],
                  [c["user_id"].encode() for c in consents])
    kafka.produce(job_cfg.profiles_topic, [reg.encode("user_profile", profile(users["shopper"]))],
                  [users["shopper"].encode()])
    kafka.produce(job_cfg.events_topic, [reg.encode("behavior_event", e) for e in events])
    job.run(job_cfg)
    triggers = [reg.decode(v, "trigger") for _, v in kafka.consume(job_cfg.triggers_topic, timeout_s=5)]
    return {"events": events, "users": users, "triggers": triggers, "consents": consents, "cfg": cfg,
            "redis": redis.Redis.from_url(redis_url)}


def outbound(triggers: list[dict], user: str) -> list[dict]:
    return [t for t in triggers if t["user_id"] == user and t["trigger_type"] != "ui_personalization"]


def test_the_anonymous_cart_is_abandoned_by_the_user_who_logged_in(exactly_once: dict[str, Any]) -> None:
    [trigger] = outbound(exactly_once["triggers"], exactly_once["users"]["shopper"])
    assert trigger["trigger_type"] == "abandoned_cart"
    assert [line["product_id"] for line in trigger["cart"]] == ["p7"] and trigger["cart_value"] == 140.0
    assert not [t for t in exactly_once["triggers"] if t["user_id"] == "anon-device-7"
                and t["trigger_type"] == "abandoned_cart"], "the cart also fired for the anonymous key"


def test_the_frequency_cap_holds_across_a_day_of_offers(exactly_once: dict[str, Any]) -> None:
    cfg, user = exactly_once["cfg"], exactly_once["users"]["capped"]
    got = outbound(exactly_once["triggers"], user)
    uncapped = replay(exactly_once["events"], TriggerEngine(EngineConfig(frequency_cap=100)),
                      consents=exactly_once["consents"])
    assert len(outbound(uncapped.triggers, user)) > cfg.frequency_cap, "the journey does not test the cap"
    day = [t for t in got if t["event_time"] < got[0]["event_time"] + cfg.frequency_window_ms]
    assert len(day) == cfg.frequency_cap, collections.Counter(t["trigger_type"] for t in got)


def test_committed_triggers_match_the_pure_replay_once_each(exactly_once: dict[str, Any]) -> None:
    ids = [t["trigger_id"] for t in exactly_once["triggers"]]
    assert len(ids) == len(set(ids)), "a trigger was committed twice"
    pure = replay(exactly_once["events"], TriggerEngine(exactly_once["cfg"]), consents=exactly_once["consents"])
    want = {t["trigger_id"] for t in pure.triggers if t["user_id"] in exactly_once["users"].values()}
    assert want <= set(ids)


def test_the_latest_profile_is_readable_from_redis_without_direct_identifiers(exactly_once: dict[str, Any]) -> None:
    raw = exactly_once["redis"].get(f"sp:profile:{exactly_once['users']['shopper']}")
    assert raw is not None, "no profile in Redis"
    cached = json.loads(raw)
    assert cached["timezone"] == "Europe/Berlin" and cached["loyalty_tier"] == "gold"
    assert "email_hash" not in cached and "user_id" not in cached
    assert exactly_once["redis"].ttl(f"sp:profile:{exactly_once['users']['shopper']}") > 0
