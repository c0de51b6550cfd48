"""Storefront configuration (``SP_STOREFRONT_*``) and the pseudonym key it shares with the collector.

The storefront derives the engine's user key of a logged-in shopper exactly as the collector
does (keyed HMAC of the raw user id with ``SP_PSEUDONYM_KEY``), so live push reaches triggers
keyed by the pseudonym; anonymous shoppers are keyed by the tag's anonymous id.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from services.collector.config import DEV_KEY, KEY_VAR
from udfs.envconfig import env_field, from_env

PREFIX = "SP_STOREFRONT"
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "rees46-2019-oct-head.csv"


class ConfigError(RuntimeError):
    """The storefront cannot start with this configuration; the message says what to set."""


@dataclass(frozen=True)
class StorefrontConfig:
    """Every setting of the storefront service; env variables ``SP_STOREFRONT_<FIELD>``."""

    host: str = env_field("127.0.0.1", "Interface the HTTP server listens on.")
    port: int = env_field(8090, "HTTP port (0 picks a free one).")
    collector_url: str = env_field("http://127.0.0.1:8088", "Collector base URL (serves /tag.js, takes /v1/events).")
    bootstrap_servers: str = env_field("127.0.0.1:9092", "Kafka bootstrap servers of the triggers topic.")
    triggers_topic: str = env_field("triggers", "Topic of the job's triggers (Avro, key = user key).")
    erasure_topic: str = env_field("erasure", "Topic of erasure requests: an erased shopper's replay is dropped.")
    erasure_done_topic: str = env_field(
        "erasure.done", "Topic of the job's erasure confirmations: triggers emitted before one are not shown.")
    redis_url: str = env_field("redis://127.0.0.1:6379/0", "Redis the job writes hints and recommendations to.")
    cache_prefix: str = env_field("sp", "Key prefix of the job's Redis entries (SP_CACHE_PREFIX of the job).")
    redis_timeout_s: float = env_field(0.25, "Longest wait for one Redis answer before the popular fallback.")
    redis_pool_size: int = env_field(32, "Pooled Redis connections.")
    catalog_path: str = env_field(str(DEFAULT_DATA), "REES46 events CSV the catalogue is built from.")
    catalog_categories: int = env_field(8, "Categories in the catalogue (the most viewed ones).")
    catalog_per_category: int = env_field(12, "Products per category (the most viewed ones).")
    recs_limit: int = env_field(8, "Items the recommendation API returns by default.")
    offer_pct: int = env_field(10, "Discount the offer banner shows for a repeatedly browsed category.")
    tag_flush_ms: int = env_field(1000, "Tag flush interval on storefront pages (ms).")
    push_queue: int = env_field(64, "Messages buffered per connected page before old ones are dropped.")
    push_recent_s: float = env_field(120.0, "Triggers replayed to a page that (re)connects within this time.")
    push_recent_keys: int = env_field(10_000, "User keys whose recent triggers are kept for replay.")
    push_erased_s: float = env_field(3600.0, "How long an erased id's cut-off is kept (its earlier triggers hidden).")
    push_erased_ids: int = env_field(100_000, "Erased ids whose cut-off is kept at most (oldest dropped first).")
    heartbeat_s: float = env_field(15.0, "Comment line sent on idle live connections.")
    allow_dev_key: bool = env_field(False, "Use the public development pseudonym key when none is set.")


def load_config(environ: Mapping[str, str] | None = None, **overrides: object) -> StorefrontConfig:
    """Config from defaults, ``SP_STOREFRONT_*`` variables and keyword overrides."""
    try:
        return from_env(StorefrontConfig, PREFIX, environ, **overrides)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def pseudonym_key(cfg: StorefrontConfig, environ: Mapping[str, str] | None = None) -> bytes:
    """The collector's HMAC key (``SP_PSEUDONYM_KEY``); without it logged-in pushes cannot be routed."""
    raw = (os.environ if environ is None else environ).get(KEY_VAR, "")
    if raw:
        return raw.encode("utf-8")
    if cfg.allow_dev_key:
        return DEV_KEY
    raise ConfigError(f"{KEY_VAR} is not set: the storefront needs the collector's key to find a logged-in "
                      f"shopper's triggers. Set it, or {PREFIX}_ALLOW_DEV_KEY=true for local development.")


def kafka_servers(cfg: StorefrontConfig) -> list[str]:
    return [s.strip() for s in cfg.bootstrap_servers.split(",") if s.strip()]
