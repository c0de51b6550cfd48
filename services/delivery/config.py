"""Settings of the delivery services, from ``SP_DELIVERY_<FIELD>`` environment variables.

``EmailConfig`` and ``WebhookConfig`` share the consumer, Redis and retry settings of
``DeliveryConfig``; each adds its own transport. ``load(cls)`` builds one from the environment.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from udfs.envconfig import env_field, from_env

PREFIX = "SP_DELIVERY"
C = TypeVar("C", bound="DeliveryConfig")


@dataclass(frozen=True)
class DeliveryConfig:
    """Consumer, claim store, journal and retry bounds common to every delivery service."""

    bootstrap_servers: str = env_field("127.0.0.1:9092", "Kafka bootstrap servers, comma-separated.")
    topic: str = env_field("triggers", "Topic the job writes triggers to.")
    erasure_topic: str = env_field("erasure", "Erasure requests: the ids are cut off and purged at once.")
    erasure_done_topic: str = env_field("erasure.done", "The job's erasure confirmations: the cut-off moves to them.")
    group_id: str = env_field("", "Consumer group; empty means shoppulse-delivery-<channel>.")
    auto_offset_reset: str = env_field("earliest", "Where a new group starts: earliest or latest.")
    redis_url: str = env_field("redis://127.0.0.1:6379/0", "Redis for claims and the delivery journal.")
    key_prefix: str = env_field("sp", "Prefix of the Redis keys (claims, journal, dead letters).")
    claim_ttl_s: int = env_field(30 * 86_400, "How long a (channel, trigger_id) claim is remembered (s).")
    journal_maxlen: int = env_field(100_000, "Approximate length cap of the sp:deliveries stream.")
    journal_file: str = env_field(
        "", "Also append every outcome to this JSONL file (empty: off). Capped like the streams: trimmed to the "
        "newest journal_maxlen lines once it passes 1.5x that.")
    max_attempts: int = env_field(5, "Most send attempts per trigger (1 = no retry).")
    backoff_base_s: float = env_field(0.5, "Delay ceiling before the first retry (s).")
    backoff_factor: float = env_field(2.0, "Each retry's delay ceiling grows by this factor.")
    backoff_max_s: float = env_field(30.0, "Largest delay between two attempts (s).")
    backoff_jitter: float = env_field(1.0, "0 = fixed delays, 1 = full jitter (uniform below the ceiling).")
    give_up_after_s: float = env_field(120.0, "No retry starts later than this after the first attempt (s).")
    poll_timeout_ms: int = env_field(500, "Longest wait of one Kafka poll (ms).")

    def __post_init__(self) -> None:
        if self.auto_offset_reset not in ("earliest", "latest"):
            raise ValueError(f"auto_offset_reset={self.auto_offset_reset!r}: expected earliest or latest")
        if self.max_attempts < 1 or self.claim_ttl_s < 1:
            raise ValueError("max_attempts and claim_ttl_s must be at least 1")
        if not 0.0 <= self.backoff_jitter <= 1.0:
            raise ValueError(f"backoff_jitter={self.backoff_jitter!r}: must lie in [0, 1]")
        if min(self.backoff_base_s, self.backoff_max_s, self.give_up_after_s) < 0 or self.backoff_factor < 1:
            raise ValueError("backoff delays must not be negative and backoff_factor must be at least 1")

    def group(self, channel: str) -> str:
        """The consumer group: the configured one, or one per channel."""
        return self.group_id or f"shoppulse-delivery-{channel}"


@dataclass(frozen=True)
class EmailConfig(DeliveryConfig):
    """The e-mail sender: SMTP server, sender, and where recipient addresses come from."""

    smtp_host: str = env_field("127.0.0.1", "SMTP server host.")
    smtp_port: int = env_field(2525, "SMTP server port (the local sink listens on 2525).")
    smtp_timeout_s: float = env_field(10.0, "SMTP connect and command timeout (s).")
    smtp_starttls: bool = env_field(False, "Upgrade the connection with STARTTLS before sending.")
    smtp_username: str = env_field("", "SMTP login user (empty: no login).")
    smtp_password: str = env_field("", "SMTP login password.")
    sender: str = env_field("ShopPulse <offers@shop.example>", "From: address of every e-mail.")
    shop_url: str = env_field("https://shop.example", "Base URL of product and category links.")
    catalog_path: str = env_field(
        "", "REES46 events CSV the storefront's catalogue is built from (as SP_STOREFRONT_CATALOG_PATH, sized by "
        "SP_STOREFRONT_CATALOG_*): e-mails name its products and recommend only those. Empty: ids.")
    address_book: str = env_field("", "JSON file {user_id: address}, consulted first (empty: off).")
    address_key: str = env_field("", "Redis key template holding a user's address, e.g. sp:contact:{user}.")
    address_template: str = env_field("{user}@shop.example", "Fallback address template (empty: off).")


@dataclass(frozen=True)
class WebhookConfig(DeliveryConfig):
    """The push sender: the URL every push trigger is POSTed to as JSON."""

    webhook_url: str = env_field("http://127.0.0.1:8099/push", "URL the push triggers are POSTed to.")
    webhook_timeout_s: float = env_field(5.0, "Timeout of one POST (s); a timeout is retried.")
    webhook_token: str = env_field("", "Sent as 'Authorization: Bearer <token>' when set.")


def load(cls: type[C], environ: Mapping[str, str] | None = None, **overrides: Any) -> C:
    """``cls`` from its defaults, ``SP_DELIVERY_*`` variables and keyword overrides."""
    return from_env(cls, PREFIX, environ, **overrides)
