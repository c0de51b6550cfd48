"""The per-user stage: a thin keyed process function around ``udfs.triggers.TriggerEngine``.

Input, keyed by user key: (kind, key, payload) with kind "event" / "replay" (an event),
"handoff" (the anonymous key's activity moved to a user), "profile", "consent" or "erase".
State is the engine's ``UserState.to_bytes()``; the engine's deadlines become event-time timers
and, in live mode, processing-time timers too, so an abandoned cart fires on time even when no
further events arrive.

Live mode applies each record as it arrives (lowest latency). Replay mode holds records until
the watermark passes their timestamp and applies them in event-time order (controls before
events at equal times, ties by event id), so a history replayed twice, or shuffled within the
lateness bound, gives the same triggers as the pure ``udfs.replay`` driver.

Everything leaves as one stream of routed rows (``udfs.operators.rows.routed``): the clean
event (encoded the moment it arrives, whatever the mode), dead letters passed on from the
earlier stages and triggers. Each erased key acknowledges on the side output ``ERASURE_ACKS``
(``udfs.operators.erasure`` confirms a request once all its keys have). Redis writes are
batched per subtask and flushed in one pipelined round trip (by size or at most ``flush_ms``
later; at once for an erased key).
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from pyflink.common.typeinfo import Types
from pyflink.datastream import KeyedProcessFunction, RuntimeContext, TimeDomain
from pyflink.datastream.state import MapStateDescriptor, ValueStateDescriptor

from udfs.cache import CacheBatch, CacheConfig
from udfs.clean import encode_clean, encode_record
from udfs.counters import batched
from udfs.engine_config import EngineConfig
from udfs.erasure_acks import ack
from udfs.event_time import record_time
from udfs.operators.erasure import ERASURE_ACKS
from udfs.operators.ingest import now_ms
from udfs.operators.rows import routed
from udfs.scoring import NullScorer, SessionScorer
from udfs.state import UserState
from udfs.triggers import Decision, TriggerEngine

log = logging.getLogger("shoppulse.engine")


class EngineFunction(KeyedProcessFunction):
    def __init__(self, engine_cfg: EngineConfig, cache_cfg: CacheConfig, redis_url: str | None,
                 live: bool, scorer: SessionScorer | None = None, use_model: bool = False) -> None:
        """``scorer``: a ready scorer (tests); else with ``use_model`` the ONNX scorer over the
        model registry is built in ``open()``, else rules alone."""
        self.engine_cfg, self.cache_cfg, self.redis_url, self.live = engine_cfg, cache_cfg, redis_url, live
        self.scorer: SessionScorer = scorer or NullScorer()
        self.custom_scorer, self.use_model = scorer is not None, use_model
        self.scorer_config = _resolved_scorer_config() if use_model and scorer is None else None

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickled on the worker: load ONNX Runtime and MLflow's client now when the model will be
        used. Imported first from ``open()``, with the Kafka connector starting in other threads,
        ONNX Runtime's native module initialization hung the job."""
        self.__dict__.update(state)
        if state.get("use_model"):
            from udfs.session_scorer import preload

            preload()

    def open(self, runtime_context: RuntimeContext) -> None:
        self.engine = TriggerEngine(self.engine_cfg)
        self.state = runtime_context.get_state(ValueStateDescriptor("user", Types.PICKLED_BYTE_ARRAY()))
        self.pending = runtime_context.get_map_state(
            MapStateDescriptor("pending", Types.LONG(), Types.PICKLED_BYTE_ARRAY()))
        self.batch = CacheBatch(self.cache_cfg)
        self.redis = _connect(self.redis_url)
        if not self.custom_scorer:
            self.scorer = _model_scorer(self.use_model, self.scorer_config)
        opener = getattr(self.scorer, "open", None)
        if callable(opener):
            opener()
        group = runtime_context.get_metrics_group()
        self.emitted, self.blocked, self.cache_errors = batched(
            group.counter("triggers_emitted"), group.counter("triggers_blocked"), group.counter("cache_errors"))

    def close(self) -> None:
        self._flush()
        for counter in (self.emitted, self.blocked, self.cache_errors):
            counter.flush()

    def process_element(self, value: tuple, ctx: KeyedProcessFunction.Context) -> Iterator[Any]:
        kind = value[0]
        if kind == "dlq":
            yield routed("dlq", None, value[2])
            return
        if kind == "event":
            yield routed("clean", value[1], encode_clean(value[2]))
        if self.live:
            yield from self._handle(value, ctx)
            return
        ts = record_time(value, ctx.timestamp())
        held = self.pending.get(ts) or []
        self.pending.put(ts, [*held, value])
        ctx.timer_service().register_event_time_timer(ts)

    def _release(self, timestamp: int, ctx: Any) -> Iterator[Any]:
        """Replay mode: apply the records held for ``timestamp`` in a deterministic order."""
        held = self.pending.get(timestamp)
        if not held:
            return
        self.pending.remove(timestamp)
        for value in sorted(held, key=_order):
            yield from self._handle(value, ctx)

    def _handle(self, value: tuple, ctx: Any) -> Iterator[Any]:
        kind, key, payload = value
        current = self._load()
        decision: Decision | None
        if kind in ("event", "replay"):
            now = now_ms()
            decision = self.engine.on_event(current, payload, now, self.scorer)
            if self.live and decision.state is not None:  # kept with the state, no state access of its own
                decision.state.clock_offset = now - payload["event_time"]
        elif kind == "handoff":
            decision = self.engine.merge(None, current, payload)[1] if current else None
        elif kind == "profile":
            self.batch.put("profile", key, _public_profile(payload))
            decision = self.engine.on_profile(current, payload)
        elif kind == "consent":
            decision = self.engine.on_consent(current, payload)
        else:  # erase
            decision = self.engine.erase(current, key, payload["requested_at"])
        if decision is not None:
            yield from self._apply(key, decision, ctx)
        if kind == "erase":
            yield ERASURE_ACKS, ack(payload, key, self._cache_wiped(payload), now_ms())

    def _cache_wiped(self, request: dict[str, Any]) -> bool:
        """Flush the pending writes now, this key's cache deletes among them: True when they
        reached Redis. Otherwise the keys live until their TTL ends, and the confirmation
        (``udfs.erasure_acks``) leaves Redis out of the stores wiped."""
        if self.redis is None:
            return False
        if self._flush():
            return True
        log.error("erasure %s: Redis keys not deleted; they expire within %d s (their TTL)",
                  request["request_id"], self.cache_cfg.ttl_s)
        return False

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext) -> Iterator[Any]:
        if ctx.time_domain() == TimeDomain.PROCESSING_TIME:
            self._flush()
            yield from self._wall_clock(timestamp, ctx)
            return
        if not self.live:
            yield from self._release(timestamp, ctx)
        current = self._load()
        # the engine's own timer (it re-arms there for a later deadline), or a deadline now due
        if current is not None and (current.timer == timestamp or _due(self.engine.next_wakeup(current), timestamp)):
            decision = self.engine.on_timer(current, timestamp, self.scorer, now_ms())
            yield from self._apply(ctx.get_current_key(), decision, ctx)

    def _wall_clock(self, wall_ms: int, ctx: Any) -> Iterator[Any]:
        """Live mode on an idle stream: a deadline is due once wall-clock time reaches it
        (shifted by the key's event-time lag); a later deadline gets its own wall-clock timer."""
        current = self._load()
        wake = self.engine.next_wakeup(current) if current is not None else None
        offset = current.clock_offset if current is not None else None
        if current is None or wake is None or offset is None:
            return
        if wake > wall_ms - offset:
            ctx.timer_service().register_processing_time_timer(wake + offset)
            return
        yield from self._apply(ctx.get_current_key(), self.engine.on_timer(current, wake, self.scorer, now_ms()), ctx)

    def _load(self) -> UserState | None:
        raw = self.state.value()
        return UserState.from_bytes(raw) if raw is not None else None

    def _apply(self, key: str, d: Decision, ctx: Any) -> Iterator[Any]:
        if d.state is None:
            self.state.clear()
        else:
            self.state.update(d.state.to_bytes())
        timers = ctx.timer_service()
        for t in d.delete_timers:
            timers.delete_event_time_timer(t)
        offset = d.state.clock_offset if self.live and d.state is not None else None
        for t in d.register_timers:
            timers.register_event_time_timer(t)
            if offset is not None:
                timers.register_processing_time_timer(t + offset)
        self._cache(key, d, timers)
        self.blocked.inc(len(d.blocked))
        for trigger in d.triggers:
            self.emitted.inc()
            yield routed("triggers", trigger["user_id"], encode_record("trigger", trigger))

    def _cache(self, key: str, d: Decision, timers: Any) -> None:
        was_empty = len(self.batch) == 0
        if d.clear_cache:
            self.batch.clear_user(key)
        self.batch.put_decision(key, d)
        if len(self.batch) >= self.cache_cfg.batch_size:
            self._flush()
        elif was_empty and len(self.batch):
            timers.register_processing_time_timer(now_ms() + self.cache_cfg.flush_ms)

    def _flush(self) -> bool:
        """One pipelined round trip; on a Redis error the writes are dropped and counted: every
        value is rewritten by the user's next decision, and triggers never wait on the cache.
        True when every pending write reached Redis (or none was pending)."""
        if self.redis is None or not len(self.batch):
            return True
        pipe = self.redis.pipeline(transaction=False)
        count = self.batch.apply(pipe)
        try:
            pipe.execute()
        except Exception as exc:  # redis.RedisError and socket errors
            self.cache_errors.inc(count)
            log.warning("Redis write of %d commands failed: %s", count, exc)
            return False
        return True


_KIND_ORDER = {"erase": 0, "consent": 0, "profile": 0, "handoff": 1, "replay": 1, "event": 1}


def _order(value: tuple) -> tuple:
    """Controls first, then events by (event time, event id) as the pure replay driver orders them."""
    kind, key, payload = value
    return (_KIND_ORDER[kind], payload.get("event_time", 0) if isinstance(payload, dict) else 0,
            str(payload.get("event_id") if isinstance(payload, dict) else ""), kind, key)


def _due(wake: int | None, t: int) -> bool:
    return wake is not None and wake <= t


def _resolved_scorer_config() -> Any:
    from udfs.session_scorer import resolved_config

    return resolved_config()


def _model_scorer(use_model: bool, config: Any = None) -> SessionScorer:
    if not use_model:
        return NullScorer()
    from udfs.session_scorer import OnnxSessionScorer

    return OnnxSessionScorer(config)


def _connect(url: str | None) -> Any:
    if not url:
        log.warning("no Redis URL: hints, recommendations and features are not cached")
        return None
    import redis

    return redis.Redis.from_url(url, socket_timeout=5)


def _public_profile(profile: dict[str, Any]) -> dict[str, Any]:
    return {k: profile.get(k) for k in ("timezone", "country", "locale", "currency", "loyalty_tier", "segments")}

