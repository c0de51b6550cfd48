"""Policy: trigger ids, holdout, consent per channel, quiet hours, cooldown and frequency cap."""
from __future__ import annotations

import uuid

import pytest

from udfs.engine_config import DAY_MS, HOUR_MS, TRIGGERS_ENV_PREFIX, EngineConfig, parse_hhmm
from udfs.envconfig import from_env
from udfs.policy import channel_allowed, gate, holdout_bucket, in_holdout, in_quiet_hours, record, trigger_id
from udfs.state import Consent, UserState

NOON = 1_709_640_000_000  # 2024-03-05 12:00 UTC
CFG = EngineConfig(holdout_pct=0.0)


def at(hour: float, minute: int = 0) -> int:
    """2024-03-05 at hour:minute UTC, in epoch millis."""
    return NOON + int((hour - 12) * HOUR_MS) + minute * 60_000


def known_user(email: bool = True, push: bool = True, personalization: bool = True) -> UserState:
    return UserState(key="u1", consent=Consent(email, push, personalization, NOON))


def test_trigger_id_is_a_stable_uuid_shaped_hash_of_its_three_parts() -> None:
    tid = trigger_id("abandoned_cart", "u1", "1709640000000")
    assert tid == trigger_id("abandoned_cart", "u1", "1709640000000")
    assert str(uuid.UUID(tid)) == tid
    assert len({tid, trigger_id("repeated_browse_offer", "u1", "1709640000000"),
                trigger_id("abandoned_cart", "u2", "1709640000000"),
                trigger_id("abandoned_cart", "u1", "1709640000001")}) == 4


def test_holdout_is_deterministic_and_sized_by_the_percentage() -> None:
    users = [f"u_{i:06d}" for i in range(20_000)]
    cfg = EngineConfig(holdout_pct=10.0)
    held = [u for u in users if in_holdout(u, cfg)]
    assert 0.09 < len(held) / len(users) < 0.11
    assert held == [u for u in users if in_holdout(u, cfg)]
    assert not any(in_holdout(u, EngineConfig(holdout_pct=0.0)) for u in users[:2000])
    assert all(in_holdout(u, EngineConfig(holdout_pct=100.0)) for u in users[:2000])
    resalted = EngineConfig(holdout_pct=10.0, holdout_salt="another-experiment")
    assert set(held) != {u for u in users if in_holdout(u, resalted)}
    assert holdout_bucket("u_000001", "s") == holdout_bucket("u_000001", "s")


@pytest.mark.parametrize(("state", "allowed"), [
    (UserState(key="u1"), set()),
    (UserState(key="u1", capture_personalization=True), {"onsite"}),
    (UserState(key="a1", anonymous=True, capture_personalization=True), {"onsite"}),
    (UserState(key="a1", anonymous=True, capture_personalization=False), set()),
    (known_user(), {"email", "push", "onsite"}),
    (known_user(email=False), {"push", "onsite"}),
    (known_user(push=False, personalization=False), {"email"}),
    (UserState(key="u1", consent=Consent(False, False, False, NOON), capture_personalization=True), set()),
    (UserState(key="u1", consent=Consent(True, True, True, NOON), capture_personalization=False),
     {"email", "push"}),
])
def test_each_channel_needs_its_own_consent(state: UserState, allowed: set[str]) -> None:
    assert {ch for ch in ("email", "push", "onsite", "sms") if channel_allowed(state, ch)} == allowed


def test_anonymous_shoppers_are_never_contacted_outbound() -> None:
    anon = UserState(key="a1", anonymous=True, consent=Consent(True, True, True, NOON))
    assert not channel_allowed(anon, "email") and not channel_allowed(anon, "push")


@pytest.mark.parametrize(("t", "tz", "quiet"), [
    (at(20, 59), "UTC", False), (at(21), "UTC", True), (at(23, 30), "UTC", True),
    (at(7, 59), "UTC", True), (at(8), "UTC", False), (at(12), "UTC", False),
    (at(20, 30), "Europe/Berlin", True),  # 21:30 in Berlin (UTC+1 in March)
    (at(7, 30), "Europe/Berlin", False),  # 08:30 in Berlin
    (at(12), "Asia/Tokyo", True),  # 21:00 in Tokyo
    (at(12), "Not/AZone", False),  # unknown zone: UTC
])
def test_quiet_hours_wrap_midnight_in_the_users_zone(t: int, tz: str, quiet: bool) -> None:
    assert in_quiet_hours(t, tz, CFG) is quiet


def test_quiet_hours_within_one_day_and_disabled() -> None:
    lunch = EngineConfig(quiet_start="12:00", quiet_end="13:30")
    assert in_quiet_hours(at(13, 15), "UTC", lunch) and not in_quiet_hours(at(13, 30), "UTC", lunch)
    off = EngineConfig(quiet_start="00:00", quiet_end="00:00")
    assert not any(in_quiet_hours(at(h), "UTC", off) for h in range(24))


def test_quiet_hours_drop_outbound_channels_but_keep_onsite() -> None:
    g = gate(known_user(), "abandoned_cart", at(22), CFG)
    assert g.channels == ("onsite",) and set(g.dropped) == {"email", "push"} and g.blocked is None
    outbound_only = gate(known_user(personalization=False), "abandoned_cart", at(22), CFG)
    assert outbound_only.blocked == "quiet_hours" and not outbound_only.channels
    assert gate(known_user(), "abandoned_cart", at(12), CFG).channels == ("email", "push", "onsite")


def test_no_consent_blocks_every_trigger_type() -> None:
    for trigger_type in ("abandoned_cart", "repeated_browse_offer", "ui_personalization"):
        assert gate(UserState(key="u1"), trigger_type, at(12), CFG).blocked == "no_consent"


def test_cooldown_is_per_type() -> None:
    state = known_user()
    record(state, "abandoned_cart", at(10), CFG)
    cooldown = CFG.cooldown_abandoned_cart_ms
    assert gate(state, "abandoned_cart", at(10) + cooldown - 1, CFG).blocked == "cooldown"
    assert gate(state, "repeated_browse_offer", at(11), CFG).blocked is None
    assert gate(state, "abandoned_cart", at(10) + cooldown, CFG).blocked is None


def test_frequency_cap_counts_across_types_in_a_sliding_window() -> None:
    cfg = EngineConfig(holdout_pct=0.0, frequency_cap=2, cooldown_abandoned_cart_ms=0,
                       cooldown_repeated_browse_offer_ms=0)
    state = known_user()
    record(state, "abandoned_cart", at(9), cfg)
    record(state, "ui_personalization", at(9, 30), cfg)  # exempt: neither counted nor blocked
    record(state, "repeated_browse_offer", at(10), cfg)
    assert gate(state, "abandoned_cart", at(12), cfg).blocked == "frequency_cap"
    assert gate(state, "ui_personalization", at(12), cfg).blocked is None
    assert gate(state, "abandoned_cart", at(9) + DAY_MS, cfg).blocked is None  # the 09:00 one slid out
    assert gate(state, "abandoned_cart", at(9) + DAY_MS - 1, cfg).blocked == "frequency_cap"
    assert len(state.cap_log) == 2


def test_holdout_users_get_a_channel_less_trigger_that_still_counts() -> None:
    cfg = EngineConfig(holdout_pct=100.0, frequency_cap=1)
    state = known_user()
    g = gate(state, "abandoned_cart", at(12), cfg)
    assert g.holdout and g.channels == () and g.blocked is None
    record(state, "abandoned_cart", at(12), cfg)
    assert gate(state, "repeated_browse_offer", at(13), cfg).blocked == "frequency_cap"


def test_config_reads_every_field_from_the_environment() -> None:
    env = {"SP_TRIGGERS_ABANDON_WINDOW_MS": "5000", "SP_TRIGGERS_HOLDOUT_PCT": "2.5",
           "SP_TRIGGERS_QUIET_START": "22:15", "SP_TRIGGERS_ABANDONED_CART_CHANNELS": "email, onsite"}
    cfg = from_env(EngineConfig, TRIGGERS_ENV_PREFIX, env)
    assert cfg.abandon_window_ms == 5000 and cfg.holdout_pct == 2.5 and cfg.quiet_start == "22:15"
    assert cfg.channels("abandoned_cart") == ("email", "onsite")
    with pytest.raises(ValueError, match="HOLDOUT_PCT"):
        from_env(EngineConfig, TRIGGERS_ENV_PREFIX, {"SP_TRIGGERS_HOLDOUT_PCT": "101"})
    with pytest.raises(ValueError, match="HH:MM"):
        from_env(EngineConfig, TRIGGERS_ENV_PREFIX, {"SP_TRIGGERS_QUIET_END": "25:00"})
    assert parse_hhmm("08:05") == 485
