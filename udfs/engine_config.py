"""Configuration of per-user state, features and the trigger engine.

``EngineConfig`` is built with ``from_env(EngineConfig, TRIGGERS_ENV_PREFIX)`` (variables
``SP_TRIGGERS_<FIELD>``). Every threshold, window and bound the engine applies lives here, so
tests can shrink windows to seconds and operators can tune without a code change.

Price level of a category (repeated_browse_offer): the median price of the products the shopper
viewed in that category inside the browse window. The category is "high" when that median is at
least ``browse_high_price`` (base currency). The median of the shopper's own views is robust to
one cheap accessory among expensive items and needs no catalogue lookup in the job.
"""
from __future__ import annotations

from dataclasses import dataclass

from udfs.envconfig import env_field

TRIGGERS_ENV_PREFIX = "SP_TRIGGERS"
MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
TRIGGER_TYPES = ("abandoned_cart", "repeated_browse_offer", "ui_personalization")
OUTBOUND = ("email", "push")


@dataclass(frozen=True)
class EngineConfig:
    """Thresholds, windows, policy and state bounds; env variables ``SP_TRIGGERS_<FIELD>``."""

    session_gap_ms: int = env_field(30 * MINUTE_MS, "Inactivity (event time) that ends a session.")
    abandon_window_ms: int = env_field(
        30 * MINUTE_MS, "abandoned_cart fires after this long with items in the cart and no activity.")
    abandon_min_value: float = env_field(0.0, "Minimum cart value (base currency) for abandoned_cart.")
    abandon_min_risk: float = env_field(
        0.0, "Minimum model abandonment_risk for abandoned_cart (ignored when no model scores).")
    browse_views: int = env_field(3, "Views of one category that make a repeated browse.")
    browse_window_ms: int = env_field(DAY_MS, "Window of the repeated-browse views; one offer per category.")
    browse_high_price: float = env_field(
        100.0, "Median viewed price (base currency) at or above which a category's price level is high.")
    browse_category_depth: int = env_field(
        0, "Category path segments the offer groups views by (0: the full path).")
    cooldown_abandoned_cart_ms: int = env_field(DAY_MS, "Per-user cooldown of abandoned_cart.")
    cooldown_repeated_browse_offer_ms: int = env_field(6 * HOUR_MS, "Per-user cooldown of offers.")
    cooldown_ui_personalization_ms: int = env_field(MINUTE_MS, "Per-user minimum gap between UI hints.")
    frequency_cap: int = env_field(3, "Most triggers per user in frequency_window_ms, all types/channels.")
    frequency_window_ms: int = env_field(DAY_MS, "Sliding window of the frequency cap.")
    cap_exempt_types: tuple[str, ...] = env_field(
        ("ui_personalization",), "Trigger types the frequency cap neither counts nor blocks.")
    quiet_start: str = env_field("21:00", "Start of quiet hours (HH:MM, user's time zone); outbound dropped.")
    quiet_end: str = env_field("08:00", "End of quiet hours (HH:MM); equal to quiet_start disables them.")
    abandoned_cart_channels: tuple[str, ...] = env_field(("email", "push", "onsite"), "Channels tried.")
    repeated_browse_offer_channels: tuple[str, ...] = env_field(("email", "push", "onsite"), "Channels.")
    ui_personalization_channels: tuple[str, ...] = env_field(("onsite",), "Channels tried.")
    holdout_pct: float = env_field(10.0, "Percent of users in the control group (recorded, never contacted).")
    holdout_salt: str = env_field("shoppulse-holdout-v1", "Salt of the holdout hash; change it to reshuffle.")
    bot_threshold: float = env_field(0.8, "bot_score at or above which no trigger is emitted.")
    bot_human_gap_ms: int = env_field(1000, "Median inter-event gap below which a session looks automated.")
    bot_regular_cv: float = env_field(0.25, "IQR/median of gaps below which timing looks machine-regular.")
    bot_min_gaps: int = env_field(8, "Gaps needed before the gap statistics count.")
    bot_rate_z: float = env_field(3.0, "Event-rate z-score vs past sessions where outlier scoring starts.")
    affinity_half_life_ms: int = env_field(7 * DAY_MS, "Half-life of category affinity.")
    ui_min_affinity: float = env_field(3.0, "Affinity a category needs for a category banner hint.")
    recommend_max: int = env_field(5, "Recommended items per trigger.")
    max_steps: int = env_field(50, "Scorer steps kept for the current session.")
    max_products: int = env_field(100, "Distinct products tracked per session (further views still count).")
    max_filters: int = env_field(40, "Distinct filters tracked per session.")
    max_cart_lines: int = env_field(50, "Cart lines kept.")
    max_gaps: int = env_field(32, "Inter-event gaps kept for the bot score.")
    affinity_top_k: int = env_field(8, "Categories kept in the affinity top-K.")
    max_views: int = env_field(24, "Category views kept for repeated browse.")
    max_visits: int = env_field(32, "Session starts kept for the 7-day visit count (it saturates there).")
    max_bought: int = env_field(20, "Recently bought products kept (excluded from recommendations).")
    max_offers: int = env_field(8, "Categories remembered as already offered.")
    erasure_overdue_ms: int = env_field(
        10 * MINUTE_MS, "An erasure whose keys have not all been erased this long after its first one (wall "
        "clock) is logged as overdue, again at each such interval, until it is confirmed.")

    def __post_init__(self) -> None:
        for name in ("session_gap_ms", "abandon_window_ms", "browse_window_ms", "frequency_window_ms",
                     "affinity_half_life_ms", "browse_views", "max_steps", "affinity_top_k", "erasure_overdue_ms"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{TRIGGERS_ENV_PREFIX}_{name.upper()} must be positive")
        if not 0.0 <= self.holdout_pct <= 100.0:
            raise ValueError(f"{TRIGGERS_ENV_PREFIX}_HOLDOUT_PCT must be within 0..100")
        for name in ("quiet_start", "quiet_end"):
            parse_hhmm(getattr(self, name))

    def channels(self, trigger_type: str) -> tuple[str, ...]:
        """Channels a trigger type is offered on before consent and quiet hours."""
        return tuple(getattr(self, f"{trigger_type}_channels"))

    def cooldown_ms(self, trigger_type: str) -> int:
        return int(getattr(self, f"cooldown_{trigger_type}_ms"))


def parse_hhmm(text: str) -> int:
    """"21:30" -> minutes after midnight (1290); raises ValueError naming the value."""
    hours, sep, minutes = text.strip().partition(":")
    try:
        h, m = int(hours), int(minutes or "0")
    except ValueError:
        raise ValueError(f"{text!r}: expected HH:MM") from None
    if not (0 <= h < 24 and 0 <= m < 60) or (sep and not minutes):
        raise ValueError(f"{text!r}: expected HH:MM within 00:00..23:59")
    return h * 60 + m
