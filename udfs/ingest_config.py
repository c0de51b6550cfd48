"""Configuration and shared types of the ingestion stage (decode -> validate -> normalize -> dedup).

``IngestConfig`` is built with ``from_env(IngestConfig, INGEST_ENV_PREFIX)``; every limit the
stage enforces lives here. ``Problem`` is what validation and normalization return for a record
they refuse: the dead-letter reason code, a detail naming the field, and the stage.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

from udfs.envconfig import env_field

INGEST_ENV_PREFIX = "SP_INGEST"
YEAR_2000_MS = 946_684_800_000
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Problem:
    """Why a record is refused: a machine-readable ``reason``, a ``detail`` naming the field."""

    reason: str
    detail: str
    stage: str = "validate"


def parse_fx_rates(spec: str, base_currency: str) -> Mapping[str, float]:
    """``"USD:0.92,GBP:1.17"`` -> {"USD": 0.92, "GBP": 1.17, base: 1.0}; raises ValueError on a bad item.

    A rate is how many units of the base currency one unit of the currency buys.
    """
    rates: dict[str, float] = {base_currency: 1.0}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        code, sep, value = item.partition(":")
        code = code.strip().upper()
        if not sep or not _CURRENCY.match(code):
            raise ValueError(f"fx_rates item {item!r}: expected CODE:RATE with a 3-letter ISO 4217 code")
        try:
            rate = float(value)
        except ValueError:
            raise ValueError(f"fx_rates item {item!r}: rate is not a number") from None
        if not math.isfinite(rate) or rate <= 0:
            raise ValueError(f"fx_rates item {item!r}: rate must be a positive finite number")
        if code == base_currency and rate != 1.0:
            raise ValueError(f"fx_rates gives {item!r} but {code} is the base currency (rate 1)")
        rates[code] = rate
    return MappingProxyType(rates)


@dataclass(frozen=True)
class IngestConfig:
    """Limits and time settings of the ingestion stage; env variables ``SP_INGEST_<FIELD>``."""

    max_future_skew_ms: int = env_field(300_000, "Event time may be at most this far ahead of now (ms).")
    min_event_time_ms: int = env_field(YEAR_2000_MS, "Event times before this are refused (ms, UTC).")
    max_message_bytes: int = env_field(262_144, "Larger messages go to the DLQ as 'oversized'.")
    max_price: float = env_field(100_000.0, "Prices above this (in the base currency) are absurd.")
    max_quantity: int = env_field(1_000, "Quantities above this are absurd.")
    base_currency: str = env_field("EUR", "ISO 4217 code every price is converted to.")
    fx_rates: str = env_field(
        "USD:0.92,GBP:1.17,CHF:1.05,PLN:0.23,SEK:0.087,DKK:0.134,NOK:0.085,CZK:0.040,JPY:0.0061",
        "CODE:RATE list; RATE = base-currency units per unit of CODE. Unknown codes go to the DLQ.",
    )
    dlq_original_max_bytes: int = env_field(65_536, "Bytes of the original kept in a dead letter.")
    dedup_ttl_ms: int = env_field(86_400_000, "How long an event id or fingerprint is remembered (ms).")
    out_of_orderness_ms: int = env_field(5_000, "Bounded out-of-orderness of the watermark (ms).")
    allowed_lateness_ms: int = env_field(60_000, "Events this far behind the watermark still count (ms).")
    idleness_ms: int = env_field(5_000, "A partition silent this long stops holding time (ms).")

    def __post_init__(self) -> None:
        if not _CURRENCY.match(self.base_currency):
            raise ValueError(f"base_currency {self.base_currency!r}: expected an upper-case ISO 4217 code")
        for name in ("max_future_skew_ms", "max_message_bytes", "max_quantity", "dlq_original_max_bytes",
                     "dedup_ttl_ms", "out_of_orderness_ms", "allowed_lateness_ms",
                     "idleness_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)!r}: must not be negative")
        if not self.max_price > 0:
            raise ValueError(f"max_price={self.max_price!r}: must be positive")
        _ = self.rates  # parse once, now: a bad rate list fails at start-up, not on the first event

    @cached_property
    def rates(self) -> Mapping[str, float]:
        """FX rates by currency code (the base currency included, at 1.0)."""
        return parse_fx_rates(self.fx_rates, self.base_currency)
