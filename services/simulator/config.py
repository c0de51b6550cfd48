"""Settings of the simulator, the replayer and the report: ``SP_SIM_<FIELD>`` variables, then flags.

``load_sim_config(**overrides)`` reads the environment (``udfs.envconfig.from_env``); the CLIs
take their defaults from it, so a flag overrides a variable and ``--help`` names both.
``producer_conf`` is the one place the confluent-kafka producer settings are made: acks=all and
idempotence always, batching from the config.
"""
from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from udfs.envconfig import env_field, from_env

SIM_ENV_PREFIX = "SP_SIM"
PERSONAS = ("buyer", "abandoner", "browser", "window", "bot")
DEFAULT_MIX = "buyer=0.25,abandoner=0.2,browser=0.15,window=0.35,bot=0.05"


@dataclass(frozen=True)
class SimConfig:
    """Simulator, replayer and report settings; env variables ``SP_SIM_<FIELD>``."""

    brokers: str = env_field("127.0.0.1:9092", "Kafka bootstrap servers.")
    topic: str = env_field("events", "Topic the behavior events go to.")
    triggers_topic: str = env_field("triggers", "Topic the report reads the job's triggers from.")
    rate: float = env_field(200.0, "Target events per wall-clock second (per event-time second at speedup 0).")
    shoppers: int = env_field(0, "Shoppers to simulate (0: only --duration limits; both 0: 100).")
    duration: float = env_field(0.0, "Wall-clock seconds after which no shopper arrives (0: only --shoppers limits).")
    seed: int = env_field(7, "Random seed: the same seed, settings and start give the same events.")
    mix: str = env_field(DEFAULT_MIX, "Persona weights, name=weight list over " + ", ".join(PERSONAS) + ".")
    decline_share: float = env_field(0.0, "Share of human shoppers who decline personalization (earn nothing).")
    start: str = env_field("now", "Event time of the start: 'now' (live) or an ISO time / epoch ms (replay).")
    speedup: float = env_field(1.0, "Event-time ms per wall-clock ms; 0 sends as fast as possible.")
    truth: str = env_field("truth.jsonl", "Ground truth JSONL: one line per shopper (persona, triggers).")
    catalog: str = env_field(
        "", "REES46 events CSV the storefront's catalogue is built from (as SP_STOREFRONT_CATALOG_PATH, sized by "
        "SP_STOREFRONT_CATALOG_*): personas view the shop's products. Empty: a synthetic catalogue.")
    linger_ms: int = env_field(20, "Producer linger.ms: how long a batch waits to fill.")
    batch_bytes: int = env_field(1_048_576, "Producer batch.size in bytes.")
    compression: str = env_field(
        "none", "Producer compression.type; lz4/zstd only if every consumer reads it (kafka-python needs extras)")
    flush_timeout_s: float = env_field(60.0, "How long to wait for outstanding acknowledgements at the end.")

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"{SIM_ENV_PREFIX}_RATE={self.rate!r}: must be positive")
        if self.speedup < 0:
            raise ValueError(f"{SIM_ENV_PREFIX}_SPEEDUP={self.speedup!r}: must not be negative")
        if self.shoppers < 0 or self.duration < 0:
            raise ValueError(f"{SIM_ENV_PREFIX}_SHOPPERS and _DURATION must not be negative")
        if not 0.0 <= self.decline_share <= 1.0:
            raise ValueError(f"{SIM_ENV_PREFIX}_DECLINE_SHARE={self.decline_share!r}: must be within 0..1")
        parse_mix(self.mix)
        if self.start.strip().lower() == "now" and self.speedup != 1.0:
            raise ValueError("live mode (start 'now') runs at speedup 1: event time must follow the clock")

    @property
    def live(self) -> bool:
        """True when event time follows the wall clock (start 'now')."""
        return self.start.strip().lower() == "now"

    def max_shoppers(self) -> int | None:
        """The shopper limit (100 when neither shoppers nor duration is set; None: duration only)."""
        if self.shoppers:
            return self.shoppers
        return None if self.duration else 100


def load_sim_config(**overrides: Any) -> SimConfig:
    """The config from defaults, ``SP_SIM_*`` variables and keyword overrides (None values ignored)."""
    return from_env(SimConfig, SIM_ENV_PREFIX, **{k: v for k, v in overrides.items() if v is not None})


def parse_mix(spec: str) -> dict[str, float]:
    """``"buyer=2,bot=1"`` -> {"buyer": 2.0, "bot": 1.0}; ValueError naming a bad item."""
    weights: dict[str, float] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in PERSONAS:
            raise ValueError(f"mix item {item!r}: expected NAME=WEIGHT with NAME one of {', '.join(PERSONAS)}")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"mix item {item!r}: weight is not a number") from None
        if weight < 0:
            raise ValueError(f"mix item {item!r}: weight must not be negative")
        weights[name] = weight
    if not weights or sum(weights.values()) <= 0:
        raise ValueError(f"mix {spec!r}: needs at least one persona with a positive weight")
    return weights


def parse_start(text: str, now_ms: int) -> int:
    """Start event time in epoch ms: ``now``, epoch millis, or an ISO 8601 time (UTC if no zone)."""
    text = text.strip()
    if text.lower() == "now":
        return now_ms
    if text.isdigit():
        return int(text)
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"start {text!r}: expected 'now', epoch ms or an ISO 8601 time") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return int(stamp.timestamp() * 1000)


def producer_conf(cfg: SimConfig) -> dict[str, Any]:
    """confluent-kafka producer settings: acks=all, idempotent, batched; errors reported per record."""
    return {
        "bootstrap.servers": cfg.brokers,
        "client.id": "shoppulse-simulator",
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": cfg.linger_ms,
        "batch.size": cfg.batch_bytes,
        "compression.type": cfg.compression,
        "queue.buffering.max.messages": 1_000_000,
        "queue.buffering.max.kbytes": 1_048_576,
        "delivery.report.only.error": True,
    }


def add_config_arguments(parser: argparse.ArgumentParser, names: Sequence[str]) -> None:
    """One ``--flag`` per SimConfig field in ``names``; its help names the variable and the default."""
    hints = typing.get_type_hints(SimConfig)
    fields = {f.name: f for f in dataclasses.fields(SimConfig)}
    for name in names:
        f, var = fields[name], f"{SIM_ENV_PREFIX}_{name}".upper()
        parser.add_argument(f"--{name.replace('_', '-')}", type=hints[name], default=None, metavar=var.removeprefix(
            f"{SIM_ENV_PREFIX}_"), help=f"{f.metadata['doc']} [env {var}; default {f.default!r}]")


def config_from_args(args: argparse.Namespace, names: Sequence[str]) -> SimConfig:
    """SimConfig from the environment with the flags given on the command line on top."""
    return load_sim_config(**{name: getattr(args, name) for name in names})
