"""Collector configuration (``SP_COLLECTOR_*``) and the pseudonymization key (``SP_PSEUDONYM_KEY``)."""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from udfs.envconfig import env_field, from_env

log = logging.getLogger(__name__)

PREFIX = "SP_COLLECTOR"
KEY_VAR = "SP_PSEUDONYM_KEY"
DEV_KEY = b"shoppulse-dev-only-pseudonym-key"


class ConfigError(RuntimeError):
    """The collector cannot start with this configuration; the message says what to set."""


@dataclass(frozen=True)
class CollectorConfig:
    host: str = env_field("127.0.0.1", "Interface the HTTP server listens on.")
    port: int = env_field(8088, "HTTP port (0 picks a free one).")
    bootstrap_servers: str = env_field("127.0.0.1:9092", "Kafka bootstrap servers, comma-separated.")
    topic: str = env_field("events", "Topic the behavioral events are produced to.")
    max_body_bytes: int = env_field(1_048_576, "Largest request body accepted (413 above).")
    max_batch_events: int = env_field(500, "Most events in one request (413 above).")
    max_string_len: int = env_field(2048, "Longest string accepted in any event field.")
    max_attributes: int = env_field(32, "Most entries in an event's attributes map.")
    future_skew_s: float = env_field(300.0, "How far event_time may lie after the receive time.")
    max_age_s: float = env_field(30 * 86400.0, "How far event_time may lie before the receive time.")
    request_timeout_s: float = env_field(10.0, "Longest wait for broker acknowledgements (503 after).")
    delivery_timeout_ms: int = env_field(8000, "Producer delivery timeout; keep below the request timeout.")
    max_block_ms: int = env_field(3000, "Longest a send may wait for topic metadata.")
    linger_ms: int = env_field(5, "Producer linger: a few ms of batching across concurrent requests.")
    batch_size: int = env_field(65536, "Producer batch size in bytes.")
    kafka_api_version: str = env_field("3.0", "Broker API version; set so start-up needs no broker.")
    retry_after_s: int = env_field(5, "Retry-After seconds sent with 503.")
    cors_origins: tuple[str, ...] = env_field(("*",), "Origins allowed to post from a browser (* = any).")
    tag_max_age_s: int = env_field(300, "Cache-Control max-age of /tag.js.")
    max_problems: int = env_field(100, "Most problems listed in one 400 answer.")
    allow_dev_key: bool = env_field(False, "Use a fixed, public pseudonym key when none is set (dev only).")


def load_config(environ: Mapping[str, str] | None = None, **overrides: object) -> CollectorConfig:
    """Config from defaults, ``SP_COLLECTOR_*`` variables and keyword overrides."""
    return from_env(CollectorConfig, PREFIX, environ, **overrides)


def pseudonym_key(cfg: CollectorConfig, environ: Mapping[str, str] | None = None) -> bytes:
    """The HMAC key from ``SP_PSEUDONYM_KEY``; refuses to go on without one unless dev mode allows it."""
    env = os.environ if environ is None else environ
    raw = env.get(KEY_VAR, "")
    if raw:
        return raw.encode("utf-8")
    if cfg.allow_dev_key:
        log.warning("%s is unset: using the public development key; pseudonyms are NOT private", KEY_VAR)
        return DEV_KEY
    raise ConfigError(
        f"{KEY_VAR} is not set: the collector needs a secret key to pseudonymize user ids and e-mails. "
        f"Set {KEY_VAR}, or {PREFIX}_ALLOW_DEV_KEY=true for local development only."
    )


def api_version(cfg: CollectorConfig) -> tuple[int, ...]:
    """``kafka_api_version`` as a tuple, naming the variable when it is malformed."""
    try:
        return tuple(int(part) for part in cfg.kafka_api_version.split("."))
    except ValueError:
        var = f"{PREFIX}_KAFKA_API_VERSION"
        raise ConfigError(f"{var}={cfg.kafka_api_version!r}: expected e.g. 3.0") from None
