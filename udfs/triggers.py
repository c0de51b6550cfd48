"""The trigger engine: per-user state in, triggers, timers and cache writes out (no pyflink).

A keyed process function (key: user_id, else anonymous_id) holds ``state.to_bytes()`` and calls:

- ``on_event(state, event, now_ms, scorer)`` for each event, in event-time order per key;
- ``on_timer(state, timer_ms, scorer, now_ms)`` when an event-time timer fires;
- ``on_profile`` / ``on_consent`` for the compacted profile and consent topics;
- ``erase`` for a right-to-erasure request; ``merge`` when a login links an anonymous id.

Each returns a ``Decision``: the state to store (None: clear it), trigger dicts (trigger.avsc),
event-time timers to register and delete, and what to cache in Redis (hints, recommendations,
scores, features; only for users with personalization consent outside the holdout group).

Time: every decision is taken in event time; ``now_ms`` only stamps ``emitted_at``. Deadlines
(abandonment, session end) are due at a time T once event time passes T: a timer at T, or an
event later than T, whichever comes first, handles them (before that event is applied), so the
outcome is the same whether the watermark fires the timer before or after the next event. The
engine keeps at most one timer per key, at its earliest deadline, re-registered when it fires.
Watermarks stall on an idle stream; ``next_wakeup`` lets the wrapper add a processing-time
fallback so an abandonment still fires on time.

Erasure leaves a tombstone: an erased user gets nothing more (events are ignored) until a
consent record newer than the erasure starts a fresh state. A bot_score at or above
``bot_threshold`` suppresses every trigger.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from udfs.engine_config import TRIGGERS_ENV_PREFIX, EngineConfig
from udfs.envconfig import from_env
from udfs.features import features
from udfs.identity import merge
from udfs.policy import Gate, channel_allowed, gate, in_holdout, record
from udfs.scoring import SessionScorer, SessionScores
from udfs.sessionize import apply_event, end_session
from udfs.state import Consent, UserState
from udfs.trigger_rules import (
    abandoned_cart_payload,
    abandoned_cart_rule,
    abandonment_applies,
    browse_match,
    browse_rule,
    build,
    hints_signature,
    recommended,
    remember_offer,
    score,
    ui_hints,
    ui_rule,
)


@dataclass
class Decision:
    """Everything one call decided; the Flink wrapper applies it and emits the triggers."""

    state: UserState | None
    triggers: list[dict[str, Any]] = field(default_factory=list)
    register_timers: list[int] = field(default_factory=list)
    delete_timers: list[int] = field(default_factory=list)
    hints: dict[str, str] | None = None
    recommendations: list[str] | None = None
    scores: dict[str, float] | None = None
    features: dict[str, float] | None = None
    clear_cache: bool = False
    blocked: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Admitted:
    """A trigger the policy lets through: its gate (channels, holdout) and the features it carries."""

    gate: Gate
    features: dict[str, float]


class _Scores:
    """Scores the session at most once per call, and only when a rule needs them."""

    def __init__(self, state: UserState, scorer: SessionScorer) -> None:
        self.state, self.scorer, self.done = state, scorer, False
        self.value: SessionScores | None = None

    def get(self) -> SessionScores | None:
        if not self.done:
            self.value, self.done = score(self.state, self.scorer), True
        return self.value


class TriggerEngine:
    """Pure trigger logic over ``UserState``; one instance per operator, built from config."""

    def __init__(self, cfg: EngineConfig | None = None) -> None:
        self.cfg = cfg if cfg is not None else from_env(EngineConfig, TRIGGERS_ENV_PREFIX)

    def on_event(self, state: UserState | None, event: dict[str, Any], now_ms: int,
                 scorer: SessionScorer) -> Decision:
        """Apply one event: due deadlines first, then the event, then the on-event rules."""
        if state is None:
            user = event.get("user_id")
            state = UserState(key=user or event["anonymous_id"], anonymous=user is None)
        d = Decision(state)
        if state.erased_at is not None:
            return d
        clock = state.last_event
        self._advance(state, max(event["event_time"], clock or 0), True, now_ms, scorer, d)
        fx = apply_event(state, event, self.cfg)
        scores = _Scores(state, scorer)
        if fx.browse_category is not None:
            self._browse(state, fx.browse_category, event, fx.time, now_ms, scores, d)
        self._ui(state, fx.time, now_ms, scores, d)
        if fx.cart_changed:
            self._cache(state, fx.time, scores, d)
        self._sync_timers(state, d)
        return d

    def on_timer(self, state: UserState, timer_ms: int, scorer: SessionScorer,
                 now_ms: int | None = None) -> Decision:
        """An event-time timer fired: handle what is due at ``timer_ms`` and set the next timer."""
        d = Decision(state)
        if state.timer == timer_ms:
            state.timer = None
        if state.erased_at is None:
            self._advance(state, timer_ms, False, timer_ms if now_ms is None else now_ms, scorer, d)
        self._sync_timers(state, d)
        return d

    def on_profile(self, state: UserState | None, profile: dict[str, Any]) -> Decision:
        """Remember the profile fields the engine uses (time zone for quiet hours, loyalty tier)."""
        state = state if state is not None else UserState(key=profile["user_id"])
        if state.erased_at is None:
            state.timezone = profile.get("timezone") or "UTC"
            state.loyalty_tier = profile.get("loyalty_tier")
        return Decision(state)

    def on_consent(self, state: UserState | None, consent: dict[str, Any]) -> Decision:
        """Remember the latest consent; withdrawing personalization clears the cached hints."""
        state = state if state is not None else UserState(key=consent["user_id"])
        updated = consent["updated_at"]
        if state.erased_at is not None:
            if updated <= state.erased_at:
                return Decision(state)
            state = UserState(key=state.key)
        if state.consent is not None and updated < state.consent.updated_at:
            return Decision(state)
        had_onsite = channel_allowed(state, "onsite")
        state.consent = Consent(bool(consent.get("email")), bool(consent.get("push")),
                                bool(consent.get("personalization")), updated)
        d = Decision(state)
        if had_onsite and not channel_allowed(state, "onsite"):
            d.clear_cache, state.hints_sig = True, None
        return d

    def erase(self, state: UserState | None, key: str, requested_at: int) -> Decision:
        """Right to erasure: everything goes; a tombstone keeps later events from rebuilding a profile."""
        d = Decision(UserState(key=key, erased_at=requested_at), clear_cache=True)
        if state is not None and state.timer is not None:
            d.delete_timers.append(state.timer)
        return d

    def merge(self, user_state: UserState | None, anon_state: UserState,
              user_id: str) -> tuple[Decision, Decision]:
        """A login linked ``anon_state``'s id to ``user_id``: decisions for the user and the anonymous key."""
        merged = merge(user_state if user_state is not None else UserState(key=user_id), anon_state, self.cfg)
        du = Decision(merged)
        self._sync_timers(merged, du)
        da = Decision(None, clear_cache=True)
        if anon_state.timer is not None:
            da.delete_timers.append(anon_state.timer)
        return du, da

    # -- deadlines and timers -------------------------------------------------------------

    def _due(self, state: UserState, t: int, strict: bool) -> list[tuple[int, int]]:
        """(time, kind) of deadlines due at ``t``; kind 0 = abandonment, 1 = session end."""
        due = []
        if state.abandon_deadline is not None:
            due.append((state.abandon_deadline, 0))
        s = state.session
        if s is not None and not s.ended:
            due.append((s.last + self.cfg.session_gap_ms, 1))
        due = [x for x in due if (x[0] < t if strict else x[0] <= t)]
        return sorted(due) if len(due) > 1 else due

    def _advance(self, state: UserState, t: int, strict: bool, now_ms: int, scorer: SessionScorer,
                 d: Decision) -> None:
        for when, kind in self._due(state, t, strict):
            if kind == 0:
                self._abandon(state, when, now_ms, scorer, d)
            else:
                end_session(state, self.cfg)

    def next_wakeup(self, state: UserState) -> int | None:
        """Event time of the earliest pending deadline (abandonment, session end), or None.

        For a processing-time fallback on an idle stream: arm a wall-clock timer for this instant
        and call ``on_timer(state, next_wakeup(state), ...)`` when it fires; the outcome equals
        the event-time timer's."""
        s = state.session
        ends = [s.last + self.cfg.session_gap_ms] if s is not None and not s.ended else []
        pending = ends + ([state.abandon_deadline] if state.abandon_deadline is not None else [])
        return min(pending) if pending else None

    def _sync_timers(self, state: UserState, d: Decision) -> None:
        """Keep one timer at or before the earliest deadline (a later deadline re-arms on firing)."""
        want = self.next_wakeup(state)
        if want is not None and state.timer is not None and state.timer <= want:
            return
        if state.timer is not None:
            d.delete_timers.append(state.timer)
        state.timer = want
        if want is not None:
            d.register_timers.append(want)

    # -- rules ----------------------------------------------------------------------------

    def _admit(self, state: UserState, trigger_type: str, t: int, d: Decision) -> Admitted | None:
        """Policy and bot check, before anything is scored: the gate and the features, or None
        (the reason in ``d.blocked``). A trigger the policy blocks costs no model run."""
        g = gate(state, trigger_type, t, self.cfg)
        feats = features(state, t, self.cfg) if g.blocked is None else {}
        blocked = g.blocked or ("bot" if feats["bot_score"] >= self.cfg.bot_threshold else None)
        if blocked is not None:
            d.blocked.append((trigger_type, blocked))
            return None
        return Admitted(g, feats)

    def _emit(self, state: UserState, trigger_type: str, decisive: str, t: int, now_ms: int, admitted: Admitted,
              scores: SessionScores | None, rule: str, d: Decision, **payload: Any) -> dict[str, Any]:
        """The admitted trigger, recorded for cooldown and the cap."""
        g, feats = admitted.gate, admitted.features
        trig = build(state, trigger_type, decisive, t, now_ms, g, rule, feats, scores, **payload)
        d.triggers.append(trig)
        record(state, trigger_type, t, self.cfg)
        if not g.holdout and "onsite" in g.channels:
            d.features = feats
        return trig

    def _abandon(self, state: UserState, deadline: int, now_ms: int, scorer: SessionScorer,
                 d: Decision) -> None:
        state.abandon_deadline = None
        scores = score(state, scorer)  # the risk decides whether the cart counts as abandoned
        if abandonment_applies(state, scores, self.cfg):
            state.abandon_fired = True
            admitted = self._admit(state, "abandoned_cart", deadline, d)
            if admitted is not None:
                self._emit(state, "abandoned_cart", str(deadline), deadline, now_ms, admitted, scores,
                           abandoned_cart_rule(state, self.cfg), d, **abandoned_cart_payload(state, scores, self.cfg))
        if state.session is not None and state.session.ended:
            state.session = None

    def _browse(self, state: UserState, category: str, event: dict[str, Any], t: int, now_ms: int,
                scores: _Scores, d: Decision) -> None:
        match = browse_match(state, category, t, self.cfg)
        if match is None:
            return
        admitted = self._admit(state, "repeated_browse_offer", t, d)
        if admitted is None:
            return
        decisive = f"{category}|{t}|{event.get('event_id') or event['event_type']}"
        sc = scores.get()
        self._emit(state, "repeated_browse_offer", decisive, t, now_ms, admitted, sc,
                   browse_rule(category, *match, self.cfg), d, category=category,
                   recommended_items=recommended(state, sc, self.cfg))
        remember_offer(state, category, t, self.cfg)

    def _ui(self, state: UserState, t: int, now_ms: int, scores: _Scores, d: Decision) -> None:
        if not channel_allowed(state, "onsite"):
            return
        hints = ui_hints(state, t, self.cfg)
        sig = hints_signature(hints)
        if sig == state.hints_sig:
            return
        admitted = self._admit(state, "ui_personalization", t, d)
        if admitted is None:
            return
        sc = scores.get()
        trig = self._emit(state, "ui_personalization", f"{t}|{sig}", t, now_ms, admitted, sc,
                          ui_rule(hints, self.cfg), d, hints=hints, recommended_items=recommended(state, sc, self.cfg))
        state.hints_sig = sig
        d.hints = None if trig["holdout"] else hints

    def _cache(self, state: UserState, t: int, scores: _Scores, d: Decision) -> None:
        """Cart change: fresh recommendations and features for the serving cache."""
        if not channel_allowed(state, "onsite") or in_holdout(state.key, self.cfg):
            return
        sc = scores.get()
        if sc is not None:
            d.recommendations, d.scores = recommended(state, sc, self.cfg), sc.as_map()
        d.features = features(state, t, self.cfg)
