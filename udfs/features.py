"""Session and user features (DESIGN.md section 3) as pure functions of the state at a time.

``features(state, now_ms)`` is the map every trigger carries as its explanation and the job
caches for serving. It reads the state only, so the same events in the same order give the same
map, live or replayed. Times are event time; durations are in seconds; a "since" feature is -1
when the thing never happened. Keys:

- session: ``session_duration_s``, ``session_events``, ``count_<event_type>`` (every type),
  ``products_viewed`` (distinct), ``filters_applied`` (distinct);
- cart: ``cart_lines``, ``cart_items``, ``cart_value``, ``abandon_pending`` (deadline armed),
  ``cart_abandoned`` (abandoned_cart fired for the current cart);
- visits: ``visits_7d`` (session starts in the sliding 7 days up to now), ``visit_days_7d``
  (distinct local dates in the profile's time zone), ``since_last_visit_s`` (end of the previous
  session), ``since_last_purchase_s``;
- affinity: ``top_affinity`` and ``affinity:<category>`` for the three strongest categories,
  decayed to ``now``;
- bot/outlier: ``event_rate_per_min``, ``gap_median_s``, ``gap_iqr_s``, ``rate_z`` and
  ``bot_score`` in [0, 1] = max of: fast (median gap below a human's), regular (IQR/median of the
  gaps below ``bot_regular_cv``: metronome timing) and outlier (this session's log event rate
  more than ``bot_rate_z`` standard deviations above the user's past sessions).
"""
from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from udfs.engine_config import EngineConfig
from udfs.sessionize import VISIT_WINDOW_MS
from udfs.state import EVENT_TYPES, UserState

DEFAULT_CONFIG = EngineConfig()


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; UTC when unknown (a bad profile must not break the job)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quantile(sorted_values: list[int], q: float) -> float:
    """Linear-interpolated quantile of an ascending, non-empty list."""
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _clamp01(x: float) -> float:
    return min(1.0, max(0.0, x))


def rate_features(state: UserState, cfg: EngineConfig = DEFAULT_CONFIG) -> dict[str, float]:
    """Event rate, gap statistics, rate z-score and the bot score of the current session."""
    s = state.session
    if s is None:
        return {"event_rate_per_min": 0.0, "gap_median_s": 0.0, "gap_iqr_s": 0.0, "rate_z": 0.0,
                "bot_score": 0.0}
    events = sum(s.counts.values())
    rate = events / max((s.last - s.start) / 60_000, 1.0)
    gaps = sorted(s.gaps)
    median = quantile(gaps, 0.5) if gaps else 0.0
    iqr = quantile(gaps, 0.75) - quantile(gaps, 0.25) if gaps else 0.0
    fast = regular = 0.0
    if len(gaps) >= cfg.bot_min_gaps:
        fast = _clamp01(1.0 - median / cfg.bot_human_gap_ms)
        regular = 1.0 if median <= 0 else _clamp01(1.0 - (iqr / median) / cfg.bot_regular_cv)
    n, mean, m2 = state.rate
    std = math.sqrt(m2 / (n - 1)) if n >= 3 else 0.0
    z = (math.log(rate) - mean) / std if std > 0 else 0.0
    outlier = _clamp01((z - cfg.bot_rate_z) / cfg.bot_rate_z)
    return {"event_rate_per_min": rate, "gap_median_s": median / 1000, "gap_iqr_s": iqr / 1000,
            "rate_z": z, "bot_score": max(fast, regular, outlier)}


def bot_score(state: UserState, cfg: EngineConfig = DEFAULT_CONFIG) -> float:
    return rate_features(state, cfg)["bot_score"]


def _session_features(state: UserState) -> dict[str, float]:
    s = state.session
    out = {f"count_{name}": float(s.counts.get(name, 0)) if s else 0.0 for name in EVENT_TYPES}
    out["session_duration_s"] = (s.last - s.start) / 1000 if s else 0.0
    out["session_events"] = float(sum(s.counts.values())) if s else 0.0
    out["products_viewed"] = float(len(s.products) + s.extra_views) if s else 0.0
    out["filters_applied"] = float(len(s.filters)) if s else 0.0
    return out


def _cart_features(state: UserState) -> dict[str, float]:
    return {"cart_lines": float(len(state.cart)),
            "cart_items": float(sum(line.quantity for line in state.cart)),
            "cart_value": state.cart_value(),
            "abandon_pending": float(state.abandon_deadline is not None),
            "cart_abandoned": float(state.abandon_fired)}


def _since(now_ms: int, then: int | None) -> float:
    return -1.0 if then is None else max(0, now_ms - then) / 1000


def _visit_features(state: UserState, now_ms: int) -> dict[str, float]:
    recent = [v for v in state.visits if now_ms - VISIT_WINDOW_MS < v <= now_ms]
    tz = zone(state.timezone)
    days = {datetime.fromtimestamp(v / 1000, UTC).astimezone(tz).date() for v in recent}
    return {"visits_7d": float(len(recent)), "visit_days_7d": float(len(days)),
            "since_last_visit_s": _since(now_ms, state.prev_end),
            "since_last_purchase_s": _since(now_ms, state.last_purchase)}


def affinity_at(state: UserState, now_ms: int, cfg: EngineConfig = DEFAULT_CONFIG) -> list[tuple[str, float]]:
    """Categories by decayed affinity at ``now_ms``, strongest first (ties by name)."""
    factor = 0.5 ** (max(0, now_ms - state.affinity_at) / cfg.affinity_half_life_ms)
    return sorted(((c, v * factor) for c, v in state.affinity.items()), key=lambda cv: (-cv[1], cv[0]))


def top_affinity(state: UserState, now_ms: int,
                 cfg: EngineConfig = DEFAULT_CONFIG) -> tuple[str, float] | None:
    """The strongest category and its affinity at ``now_ms`` (ties by name), or None."""
    if not state.affinity:
        return None
    category = min(state.affinity, key=lambda c: (-state.affinity[c], c))
    factor = 0.5 ** (max(0, now_ms - state.affinity_at) / cfg.affinity_half_life_ms)
    return category, state.affinity[category] * factor


def features(state: UserState, now_ms: int, cfg: EngineConfig = DEFAULT_CONFIG) -> dict[str, float]:
    """The feature map of ``state`` at event time ``now_ms``."""
    out = _session_features(state)
    out.update(_cart_features(state))
    out.update(_visit_features(state, now_ms))
    ranked = affinity_at(state, now_ms, cfg)
    out["top_affinity"] = ranked[0][1] if ranked else 0.0
    out.update({f"affinity:{c}": v for c, v in ranked[:3]})
    out.update(rate_features(state, cfg))
    return out
