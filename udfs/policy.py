"""Policy every trigger passes: consent, quiet hours, cooldown, frequency cap, holdout, ids.

``gate(state, trigger_type, t, cfg)`` decides the channels of a would-be trigger at event time
``t``, in this order:

1. Consent. email needs ``consent.email``, push ``consent.push`` (both: a consent record of a
   known user; anonymous shoppers are never contacted outbound). onsite needs
   ``consent.personalization``; without a consent record, the personalization flag the tag
   captured with the latest event; a captured ``personalization: false`` always withdraws onsite
   (the most restrictive signal wins). No channel left: no trigger.
2. Quiet hours (``quiet_start``-``quiet_end`` in the profile's time zone, default UTC) drop the
   outbound channels (email, push); onsite is not outbound. We drop rather than defer: a deferred
   cart reminder arrives hours later and stale. No channel left: no trigger.
3. Per-type cooldown and the frequency cap across types and channels (a sliding window; the
   types in ``cap_exempt_types`` neither count nor are blocked; ``frequency_cap`` 0 disables it).
4. Holdout: a deterministic hash of the user key puts ``holdout_pct`` percent of users in the
   control group. Their triggers are emitted with ``holdout: true`` and no channels, and count
   for cooldown and cap like any other, so both groups see the same decision process.

``trigger_id`` hashes type, user and the decisive event or window, so a retry, a restart or a
replay yields the same id and delivery services can deduplicate.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from udfs.engine_config import OUTBOUND, EngineConfig, parse_hhmm
from udfs.features import zone
from udfs.state import UserState

HOLDOUT_BUCKETS = 10_000


@dataclass(frozen=True)
class Gate:
    """The policy's answer: channels to use, or why nothing is emitted (``blocked``)."""

    channels: tuple[str, ...] = ()
    holdout: bool = False
    dropped: tuple[str, ...] = field(default_factory=tuple)
    blocked: str | None = None


def trigger_id(trigger_type: str, user: str, decisive: str) -> str:
    """Deterministic id: the same type, user and decisive event/window give the same id."""
    digest = hashlib.sha256(f"{trigger_type}\x1f{user}\x1f{decisive}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def holdout_bucket(user: str, salt: str) -> int:
    """The user's bucket in 0..9999, stable across runs and machines."""
    digest = hashlib.sha256(f"{salt}\x1f{user}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % HOLDOUT_BUCKETS


def in_holdout(user: str, cfg: EngineConfig) -> bool:
    return holdout_bucket(user, cfg.holdout_salt) < cfg.holdout_pct * HOLDOUT_BUCKETS / 100


def channel_allowed(state: UserState, channel: str) -> bool:
    """Whether the consent the engine last saw allows ``channel`` for this user."""
    c = state.consent
    if channel == "onsite":
        given = c.personalization if c is not None else bool(state.capture_personalization)
        return given and state.capture_personalization is not False
    if channel in OUTBOUND and c is not None and not state.anonymous:
        return c.email if channel == "email" else c.push
    return False


def in_quiet_hours(t_ms: int, tz_name: str, cfg: EngineConfig) -> bool:
    """Whether event time ``t_ms`` falls in quiet hours in the zone ``tz_name``."""
    start, end = parse_hhmm(cfg.quiet_start), parse_hhmm(cfg.quiet_end)
    if start == end:
        return False
    local = datetime.fromtimestamp(t_ms / 1000, UTC).astimezone(zone(tz_name))
    minute = local.hour * 60 + local.minute
    return start <= minute < end if start < end else minute >= start or minute < end


def _in_cooldown(state: UserState, trigger_type: str, t: int, cfg: EngineConfig) -> bool:
    last = state.last_fired.get(trigger_type)
    return last is not None and t - last < cfg.cooldown_ms(trigger_type)


def _capped(state: UserState, trigger_type: str, t: int, cfg: EngineConfig) -> bool:
    if cfg.frequency_cap <= 0 or trigger_type in cfg.cap_exempt_types:
        return False
    return sum(1 for ft in state.cap_log if ft > t - cfg.frequency_window_ms) >= cfg.frequency_cap


def gate(state: UserState, trigger_type: str, t: int, cfg: EngineConfig) -> Gate:
    """Channels for a ``trigger_type`` trigger at event time ``t``, or ``blocked`` with the reason."""
    channels = tuple(ch for ch in cfg.channels(trigger_type) if channel_allowed(state, ch))
    if not channels:
        return Gate(blocked="no_consent")
    dropped: tuple[str, ...] = ()
    if any(ch in OUTBOUND for ch in channels) and in_quiet_hours(t, state.timezone, cfg):
        dropped = tuple(ch for ch in channels if ch in OUTBOUND)
        channels = tuple(ch for ch in channels if ch not in OUTBOUND)
        if not channels:
            return Gate(dropped=dropped, blocked="quiet_hours")
    if _in_cooldown(state, trigger_type, t, cfg):
        return Gate(blocked="cooldown")
    if _capped(state, trigger_type, t, cfg):
        return Gate(blocked="frequency_cap")
    if in_holdout(state.key, cfg):
        return Gate(holdout=True, dropped=dropped)
    return Gate(channels=channels, dropped=dropped)


def record(state: UserState, trigger_type: str, t: int, cfg: EngineConfig) -> None:
    """Remember an emitted trigger (holdout included) for cooldown and the cap."""
    state.last_fired[trigger_type] = t
    if cfg.frequency_cap > 0 and trigger_type not in cfg.cap_exempt_types:
        recent = [ft for ft in state.cap_log if ft > t - cfg.frequency_window_ms]
        state.cap_log = (recent + [t])[-cfg.frequency_cap:]
