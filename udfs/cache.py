"""What the job keeps in Redis for the storefront and services, and how it writes it.

Keys (prefix configurable), all with a TTL and written with plain SET / DEL, so a retry or a
replay after a restart rewrites the same value: Redis sits outside Flink's two-phase commit.

- ``{prefix}:hints:{user}``     JSON object of UI hints (banner, layout)
- ``{prefix}:recs:{user}``      JSON list of recommended item ids
- ``{prefix}:scores:{user}``    JSON object of model scores
- ``{prefix}:features:{user}``  JSON object of the session features
- ``{prefix}:profile:{user}``   JSON of the latest profile (no direct identifiers)

``CacheBatch`` collects writes and applies them in one pipelined round trip, never one per event.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from udfs.envconfig import env_field

KINDS = ("hints", "recs", "scores", "features", "profile")


@dataclass(frozen=True)
class CacheConfig:
    """Redis layout and batching (env prefix ``SP_CACHE``)."""

    prefix: str = env_field("sp", "Key prefix.")
    ttl_s: int = env_field(7 * 86_400, "TTL of every key (seconds).")
    batch_size: int = env_field(200, "Flush when this many commands are pending.")
    flush_ms: int = env_field(50, "Flush pending commands at most this long after the first.")


def key(cfg: CacheConfig, kind: str, user: str) -> str:
    return f"{cfg.prefix}:{kind}:{user}"


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class Pipeline(Protocol):
    def set(self, name: str, value: str, ex: int) -> Any: ...
    def delete(self, *names: str) -> Any: ...
    def execute(self) -> Any: ...


@dataclass
class CacheBatch:
    """Pending SET/DEL commands, last write per key wins (idempotent by construction)."""

    cfg: CacheConfig
    sets: dict[str, str] = field(default_factory=dict)
    deletes: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.sets) + len(self.deletes)

    def put(self, kind: str, user: str, value: Any) -> None:
        name = key(self.cfg, kind, user)
        self.deletes.discard(name)
        self.sets[name] = _dump(value)

    def put_decision(self, user: str, decision: Any) -> None:
        """The hints, recommendations, scores and features a trigger-engine Decision wants cached."""
        for kind, value in (("hints", decision.hints), ("recs", decision.recommendations),
                            ("scores", decision.scores), ("features", decision.features)):
            if value is not None:
                self.put(kind, user, value)

    def clear_user(self, user: str) -> None:
        """Erasure or withdrawn consent: every key of the user goes."""
        for kind in KINDS:
            name = key(self.cfg, kind, user)
            self.sets.pop(name, None)
            self.deletes.add(name)

    def apply(self, pipe: Pipeline) -> int:
        """Queue everything on ``pipe`` (the caller executes it); returns the command count."""
        if self.deletes:
            pipe.delete(*sorted(self.deletes))
        for name, value in self.sets.items():
            pipe.set(name, value, ex=self.cfg.ttl_s)
        count = len(self)
        self.sets, self.deletes = {}, set()
        return count
