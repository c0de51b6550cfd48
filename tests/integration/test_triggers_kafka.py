"""Shopper journeys through the whole job on the real broker and Redis: which triggers come out,
exactly once, gated by consent and policy, and the same on a replay or a shuffled replay."""
from __future__ import annotations

import collections
import json
import uuid
from typing import Any

import pytest

from pipelines import job
from pipelines.config import JobConfig, load_job_config
from tests.integration.journeys import history, shuffled_within
from udfs.avro_codec import registry
from udfs.cache import KINDS
from udfs.engine_config import EngineConfig
from udfs.replay import replay
from udfs.triggers import TriggerEngine

pytestmark = pytest.mark.integration
T0 = 1_767_261_600_000  # 2026-01-01T10:00:00Z, outside quiet hours in UTC


def replay_config(kafka: Any, redis_url: str) -> JobConfig:
    topics = {name: kafka.new_topic(prefix=name.split("_")[0], compacted=name in ("profiles_topic", "consent_topic"))
              for name in ("events_topic", "clean_topic", "dlq_topic", "triggers_topic", "profiles_topic",
                           "consent_topic", "erasure_topic", "erasure_done_topic")}
    return load_job_config(bootstrap_servers=kafka.bootstrap, group_id=f"t-{uuid.uuid4().hex[:8]}",
                           starting_offsets="earliest", bounded=True, parallelism=2, checkpoint_interval_ms=0,
                           redis_url=redis_url, mode="replay", **topics)


def run_history(kafka: Any, redis_url: str, events: list[dict], consents: list[dict]) -> list[dict]:
    cfg = replay_config(kafka, redis_url)
    reg = registry()
    kafka.produce(cfg.consent_topic, [reg.encode("consent_record", c) for c in consents],
                  [c["user_id"].encode() for c in consents])
    kafka.produce(cfg.events_topic, [reg.encode("behavior_event", e) for e in events])
    job.run(cfg)
    out = [reg.decode(v, "trigger") for _, v in kafka.consume(cfg.triggers_topic, timeout_s=5)]
    assert out, _silent_run(kafka, cfg, len(events))
    return out


def _silent_run(kafka: Any, cfg: JobConfig, produced: int) -> str:
    """Why a run that should trigger came out empty: what the job wrote to its other topics."""
    clean = kafka.consume(cfg.clean_topic, timeout_s=5)
    dead = [registry().decode(v, "dead_letter") for _, v in kafka.consume(cfg.dlq_topic, timeout_s=5)]
    again = kafka.consume(cfg.triggers_topic, timeout_s=10)
    return (f"no triggers from {produced} events: {len(clean)} clean, {len(again)} triggers on a second "
            f"read, dead letters {collections.Counter(d['reason'] for d in dead)}")


def outbound(triggers: list[dict]) -> list[tuple[str, str]]:
    return sorted((t["trigger_type"], t["user_id"]) for t in triggers if t["trigger_type"] != "ui_personalization")


def comparable(triggers: list[dict]) -> list[str]:
    """Triggers as they travel (Avro round trip), without emitted_at (wall clock), in a stable order."""
    reg = registry()
    wire = [reg.decode(reg.encode("trigger", t), "trigger") for t in triggers]
    return sorted(json.dumps({k: v for k, v in t.items() if k != "emitted_at"}, sort_keys=True) for t in wire)


@pytest.fixture(scope="module")
def scripted(kafka: Any, redis_url: str) -> dict[str, Any]:
    cfg = EngineConfig()
    events, consents, users = history(T0, cfg)
    first = run_history(kafka, redis_url, events, consents)
    return {"events": events, "consents": consents, "users": users, "triggers": first, "cfg": cfg}


def test_each_journey_gets_exactly_the_triggers_its_script_earns(scripted: dict[str, Any]) -> None:
    u = scripted["users"]
    by_user = collections.Counter(outbound(scripted["triggers"]))
    assert by_user[("abandoned_cart", u["abandoner"])] == 1
    assert by_user[("repeated_browse_offer", u["browser"])] == 1
    assert by_user[("abandoned_cart", u["repeat"])] == 1, "cooldown: the second cart of the day does not fire again"
    assert not [k for k in by_user if k[1] in (u["buyer"], u["nocons"])], by_user
    held = [t for t in scripted["triggers"] if t["user_id"] == u["holdout"] and t["trigger_type"] == "abandoned_cart"]
    assert len(held) == 1 and held[0]["holdout"] and held[0]["channels"] == []


def test_abandoned_cart_fires_at_the_window_end_with_the_cart_and_an_explanation(scripted: dict[str, Any]) -> None:
    cfg, u = scripted["cfg"], scripted["users"]
    [trigger] = [t for t in scripted["triggers"]
                 if t["user_id"] == u["abandoner"] and t["trigger_type"] == "abandoned_cart"]
    last = max(e["event_time"] for e in scripted["events"] if e["user_id"] == u["abandoner"])
    assert trigger["event_time"] == last + cfg.abandon_window_ms
    assert [line["product_id"] for line in trigger["cart"]] == ["p1"] and trigger["cart_value"] == 120.0
    assert "abandoned_cart" in trigger["rule"] and trigger["features"] and set(trigger["channels"]) >= {"email"}


def test_the_job_agrees_with_the_pure_replay_of_the_same_history(scripted: dict[str, Any]) -> None:
    pure = replay(scripted["events"], TriggerEngine(scripted["cfg"]), consents=scripted["consents"])
    assert comparable(scripted["triggers"]) == comparable(pure.triggers), _diff(scripted["triggers"], pure.triggers)


def test_replaying_the_same_history_again_gives_identical_triggers(kafka: Any, redis_url: str,
                                                                    scripted: dict[str, Any]) -> None:
    again = run_history(kafka, redis_url, scripted["events"], scripted["consents"])
    assert comparable(again) == comparable(scripted["triggers"])


def test_shuffled_input_within_the_lateness_bound_gives_the_same_triggers(kafka: Any, redis_url: str,
                                                                          scripted: dict[str, Any]) -> None:
    shuffled = shuffled_within(scripted["events"], 4_000)
    assert [e["event_id"] for e in shuffled] != [e["event_id"] for e in scripted["events"]]
    out = run_history(kafka, redis_url, shuffled, scripted["consents"])
    assert comparable(out) == comparable(scripted["triggers"])


def test_redis_holds_hints_for_consenting_users_with_a_ttl(redis_url: str, scripted: dict[str, Any]) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    u = scripted["users"]
    assert client.exists(f"sp:hints:{u['browser']}") and 0 < client.ttl(f"sp:hints:{u['browser']}") <= 7 * 86_400
    assert not client.keys(f"sp:*:{u['nocons']}") and not client.keys(f"sp:*:{u['holdout']}")
    cached = [k for kind in KINDS for k in client.keys(f"sp:{kind}:*")]
    assert cached and all(client.ttl(k) > 0 for k in cached)


def _diff(a: list[dict], b: list[dict]) -> str:
    """What differs between two trigger lists (for assertion messages)."""
    ka = {(t["trigger_type"], t["user_id"], t["event_time"]): t for t in a}
    kb = {(t["trigger_type"], t["user_id"], t["event_time"]): t for t in b}
    lines = [f"only first: {sorted(set(ka) - set(kb))}", f"only second: {sorted(set(kb) - set(ka))}"]
    for k in sorted(set(ka) & set(kb)):
        fields = [f for f in ka[k] if f != "emitted_at" and ka[k][f] != kb[k][f]]
        if fields:
            lines.append(f"{k}: " + "; ".join(f"{f}: {ka[k][f]!r} != {kb[k][f]!r}" for f in fields))
    return "\n".join(lines)
