"""Scripted shopper journeys for the trigger tests, with what each shopper should get."""
from __future__ import annotations

import random
from typing import Any

from udfs.engine_config import EngineConfig
from udfs.journey import Journey
from udfs.policy import in_holdout

MIN = 60_000


def consent(user: str, at: int, yes: bool = True) -> dict[str, Any]:
    return {"user_id": user, "email": yes, "push": yes, "personalization": yes, "analytics": yes,
            "source": "cmp", "updated_at": at}


def holdout_user(cfg: EngineConfig) -> str:
    return next(u for u in (f"u_hold{i:04d}" for i in range(10_000)) if in_holdout(u, cfg))


def contactable_user(cfg: EngineConfig, name: str) -> str:
    return next(u for u in (f"u_{name}{i:03d}" for i in range(1000)) if not in_holdout(u, cfg))


def history(t0: int, cfg: EngineConfig) -> tuple[list[dict], list[dict], dict[str, str]]:
    """(events, consents, role -> user id) for the scripted journeys, all in event time."""
    users = {role: contactable_user(cfg, role) for role in ("abandoner", "buyer", "browser", "nocons", "repeat")}
    users["holdout"] = holdout_user(cfg)
    j: dict[str, Journey] = {r: Journey(user_id=u, anonymous_id=f"anon-{r}", session_id=f"s-{r}", start_ms=t0)
                             for r, u in users.items()}
    j["abandoner"].view("p1", "shoes/running", 120.0).add("p1", "shoes/running", 120.0)
    j["buyer"].view("p2", "shoes/running", 90.0).add("p2", "shoes/running", 90.0).wait(minutes=2).checkout().purchase()
    for price in (900.0, 1100.0, 1300.0):
        j["browser"].view(f"tv{int(price)}", "electronics/tv", price).wait(minutes=5)
    j["nocons"].add("p3", "toys/lego", 60.0)
    j["holdout"].add("p4", "toys/lego", 60.0)
    j["repeat"].add("p5", "shoes/running", 50.0).wait(minutes=45).add("p6", "shoes/running", 70.0)
    events = sorted((e for journey in j.values() for e in journey.events), key=lambda e: e["event_time"])
    consents = [consent(u, t0 - 10 * MIN) for r, u in users.items() if r != "nocons"]
    return events, consents, users


def shuffled_within(events: list[dict], bound_ms: int, seed: int = 4) -> list[dict]:
    """Arrival order with each event displaced by less than ``bound_ms`` of event time."""
    rng = random.Random(seed)
    return [e for _, e in sorted((e["event_time"] + rng.uniform(0, bound_ms * 0.9), e) for e in events)]
