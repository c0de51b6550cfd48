"""IngestConfig: defaults, environment overrides and the FX rate list parsed once at start-up."""
from __future__ import annotations

import dataclasses

import pytest

from udfs.envconfig import describe
from udfs.ingest import INGEST_ENV_PREFIX, IngestConfig, load_ingest_config
from udfs.ingest_config import parse_fx_rates


def test_defaults_match_the_design() -> None:
    cfg = load_ingest_config({})
    assert cfg.max_future_skew_ms == 5 * 60_000
    assert cfg.max_message_bytes == 256 * 1024
    assert cfg.base_currency == "EUR"
    assert cfg.dedup_ttl_ms == 24 * 3_600_000
    assert (cfg.out_of_orderness_ms, cfg.allowed_lateness_ms, cfg.idleness_ms) == (5_000, 60_000, 5_000)
    assert cfg.rates["EUR"] == 1.0 and cfg.rates["USD"] == pytest.approx(0.92)


def test_environment_overrides_each_field_by_prefix() -> None:
    env = {"SP_INGEST_MAX_FUTURE_SKEW_MS": "1000", "SP_INGEST_BASE_CURRENCY": "USD",
           "SP_INGEST_FX_RATES": "EUR:1.087, gbp:1.27", "SP_INGEST_MAX_PRICE": "5e4"}
    cfg = load_ingest_config(env)
    assert cfg.max_future_skew_ms == 1000 and cfg.max_price == 50_000.0
    assert dict(cfg.rates) == {"USD": 1.0, "EUR": 1.087, "GBP": 1.27}


def test_keyword_overrides_win_over_environment() -> None:
    cfg = load_ingest_config({"SP_INGEST_MAX_QUANTITY": "7"}, max_quantity=9)
    assert cfg.max_quantity == 9


def test_a_non_numeric_variable_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="SP_INGEST_DEDUP_TTL_MS"):
        load_ingest_config({"SP_INGEST_DEDUP_TTL_MS": "a day"})


@pytest.mark.parametrize("spec, fragment", [
    ("USD=0.92", "expected CODE:RATE"),
    ("DOLLAR:0.92", "expected CODE:RATE"),
    ("USD:abc", "not a number"),
    ("USD:-1", "positive"),
    ("USD:nan", "positive"),
    ("EUR:0.5", "base currency"),
])
def test_bad_fx_rate_lists_fail_at_construction(spec: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        IngestConfig(fx_rates=spec)


def test_fx_rates_tolerate_spaces_case_and_empty_items() -> None:
    assert dict(parse_fx_rates(" usd : 0.5 ,, GBP:2 ,", "EUR")) == {"EUR": 1.0, "USD": 0.5, "GBP": 2.0}


def test_rates_are_read_only_and_parsed_once() -> None:
    cfg = IngestConfig()
    assert cfg.rates is cfg.rates
    with pytest.raises(TypeError):
        cfg.rates["XXX"] = 1.0  # type: ignore[index]


@pytest.mark.parametrize("field, value", [("base_currency", "euro"), ("max_price", 0.0),
                                          ("max_message_bytes", -1), ("dedup_ttl_ms", -5)])
def test_nonsensical_limits_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        IngestConfig(**{field: value})  # type: ignore[arg-type]


def test_config_is_frozen_and_documented() -> None:
    cfg = IngestConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.max_price = 1.0  # type: ignore[misc]
    text = describe(IngestConfig, INGEST_ENV_PREFIX)
    assert "SP_INGEST_FX_RATES" in text and "SP_INGEST_ALLOWED_LATENESS_MS" in text
    assert all(f.metadata.get("doc") for f in dataclasses.fields(IngestConfig))
