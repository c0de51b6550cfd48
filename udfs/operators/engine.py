"""The per-user stage: a thin keyed process function around ``udfs.triggers.TriggerEngine``.

Input, keyed by user key: (kind, key, payload) with kind "event" / "replay" (an event),
"handoff" (the anonymous key's activity moved to a user), "profile", "consent" or "erase".
State is the engine's ``UserState.to_bytes()``; the engine's deadlines become event-time timers
and, in live mode, processing-time timers too, so an abandoned cart fires on time even when no
further events arrive. Triggers leave as Kafka rows; Redis writes are batched per subtask and
flushed in one pipelined round trip (by size or at most ``flush_ms`` later).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from pyflink.common.typeinfo import Types
from pyflink.datastream import KeyedProcessFunction, OutputTag, RuntimeContext, TimeDomain
from pyflink.datastream.state import ValueStateDescriptor

from pipelines.kafka_io import KEYED_OUT, keyed
from udfs.avro_codec import registry
from udfs.cache import CacheBatch, CacheConfig
from udfs.engine_config import EngineConfig
from udfs.scoring import NullScorer, SessionScorer
from udfs.state import UserState
from udfs.triggers import Decision, TriggerEngine

ERASED = OutputTag("erased", KEYED_OUT)
log = logging.getLogger("shoppulse.engine")


def now_ms() -> int:
    return int(time.time() * 1000)


class EngineFunction(KeyedProcessFunction):
    def __init__(self, engine_cfg: EngineConfig, cache_cfg: CacheConfig, redis_url: str | None,
                 live: bool, scorer: SessionScorer | None = None) -> None:
        self.engine_cfg, self.cache_cfg, self.redis_url, self.live = engine_cfg, cache_cfg, redis_url, live
        self.scorer = scorer

    def open(self, runtime_context: RuntimeContext) -> None:
        self.engine = TriggerEngine(self.engine_cfg)
        self.state = runtime_context.get_state(ValueStateDescriptor("user", Types.PICKLED_BYTE_ARRAY()))
        self.offset = runtime_context.get_state(ValueStateDescriptor("clock-offset", Types.LONG()))
        self.batch = CacheBatch(self.cache_cfg)
        self.redis = _connect(self.redis_url)
        if self.scorer is None:
            self.scorer = NullScorer()
        opener = getattr(self.scorer, "open", None)
        if callable(opener):
            opener()
        group = runtime_context.get_metrics_group()
        self.emitted = group.counter("triggers_emitted")
        self.blocked = group.counter("triggers_blocked")
        self.cache_errors = group.counter("cache_errors")

    def close(self) -> None:
        self._flush()

    def process_element(self, value: tuple, ctx: KeyedProcessFunction.Context) -> Iterator[Any]:
        kind, key, payload = value
        current = self._load()
        if kind in ("event", "replay"):
            self._remember_clock(payload["event_time"])
            decision = self.engine.on_event(current, payload, now_ms(), self.scorer)
        elif kind == "handoff":
            decision = self.engine.merge(None, current, payload)[1] if current else None
        elif kind == "profile":
            self.batch.put("profile", key, _public_profile(payload))
            decision = self.engine.on_profile(current, payload)
        elif kind == "consent":
            decision = self.engine.on_consent(current, payload)
        else:  # erase
            decision = self.engine.erase(current, key, payload["requested_at"])
            if key == payload["user_id"]:
                yield ERASED, keyed(key, _confirmation(payload))
        if decision is not None:
            yield from self._apply(key, decision, ctx)

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext) -> Iterator[Any]:
        current = self._load()
        due = timestamp
        if ctx.time_domain() == TimeDomain.PROCESSING_TIME:
            self._flush()
            due = self._live_due(current, timestamp)
        if current is not None and due is not None:
            yield from self._apply(ctx.get_current_key(), self.engine.on_timer(current, due, self.scorer, now_ms()), ctx)

    def _live_due(self, state: UserState | None, wall_ms: int) -> int | None:
        """The engine deadline a wall-clock timer stands for, if it is due by now (live mode)."""
        wake = self.engine.next_wakeup(state) if state is not None else None
        offset = self.offset.value()
        return wake if wake is not None and offset is not None and wake <= wall_ms - offset else None

    def _remember_clock(self, event_time: int) -> None:
        if self.live:
            self.offset.update(now_ms() - event_time)

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
        for t in d.register_timers:
            timers.register_event_time_timer(t)
            if self.live and self.offset.value() is not None:
                timers.register_processing_time_timer(t + self.offset.value())
        self._cache(key, d, timers)
        self.blocked.inc(len(d.blocked))
        for trigger in d.triggers:
            self.emitted.inc()
            yield keyed(trigger["user_id"], registry().encode("trigger", trigger))

    def _cache(self, key: str, d: Decision, timers: Any) -> None:
        was_empty = len(self.batch) == 0
        if d.clear_cache:
            self.batch.clear_user(key)
        self.batch.put_decision(key, d)
        if len(self.batch) >= self.cache_cfg.batch_size:
            self._flush()
        elif was_empty and len(self.batch):
            timers.register_processing_time_timer(now_ms() + self.cache_cfg.flush_ms)

    def _flush(self) -> None:
        """One pipelined round trip; on a Redis error the writes are dropped and counted: every
        value is rewritten by the user's next decision, and triggers never wait on the cache."""
        if self.redis is None or not len(self.batch):
            return
        pipe = self.redis.pipeline(transaction=False)
        count = self.batch.apply(pipe)
        try:
            pipe.execute()
        except Exception as exc:  # redis.RedisError and socket errors
            self.cache_errors.inc(count)
            log.warning("Redis write of %d commands failed: %s", count, exc)


def _connect(url: str | None) -> Any:
    if not url:
        log.warning("no Redis URL: hints, recommendations and features are not cached")
        return None
    import redis

    return redis.Redis.from_url(url, socket_timeout=5)


def _public_profile(profile: dict[str, Any]) -> dict[str, Any]:
    return {k: profile.get(k) for k in ("timezone", "country", "locale", "currency", "loyalty_tier", "segments")}


def _confirmation(request: dict[str, Any]) -> bytes:
    return registry().encode("erasure_confirmation", {
        "request_id": request["request_id"], "user_id": request["user_id"],
        "stores": ["flink_state", "timers", "redis"], "completed_at": now_ms()})
