"""The load generator's compiled encoder writes exactly the bytes of the project's codec."""
from __future__ import annotations

from pathlib import Path

import pytest

from services.simulator.config import DEFAULT_MIX, parse_mix
from services.simulator.replay import load_events
from services.simulator.schedule import Plan, schedule
from udfs.avro_codec import registry
from udfs.fast_avro import UnsupportedSchema, compile_schema, encoder
from udfs.journey import Journey

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def test_every_persona_event_encodes_byte_for_byte_like_the_codec() -> None:
    encode, reg = encoder("behavior_event"), registry()
    plan = Plan(seed=5, start_ms=1_767_261_600_000, rate=50.0, mix=parse_mix(DEFAULT_MIX), max_shoppers=120,
                decline_share=0.3)
    events = [em.event for em in schedule(plan)]
    assert {e["event_type"] for e in events} >= {"page_view", "product_view", "add_to_cart", "purchase", "search"}
    assert [encode(e) for e in events] == [reg.encode("behavior_event", e) for e in events]


def test_dataset_events_with_null_prices_encode_like_the_codec() -> None:
    events = load_events(str(DATA / "rees46-2019-oct-head.csv"), "rees46", "USD", "granted", limit=300)
    encode = encoder("behavior_event")
    assert [encode(e) for e in events] == [registry().encode("behavior_event", e) for e in events]


def test_negative_numbers_unicode_maps_and_every_optional_record() -> None:
    j = Journey(user_id="u_ü", personalization=False, start_ms=-5)
    j.event("click", click={"x": -3, "y": 2**20, "element": "büy"}, filter={"name": "f", "value": "ä"},
            rating=-1, scroll_depth=0, search_query="日本", attributes={"exp": "a", "app": "1.2"},
            quantity=-(2**31), referrer="", order_id="o")
    j.add("p1", "a/b", 1e-9, quantity=3).add("p2", None, 12345.678)
    for e in j.events:
        assert encoder("behavior_event")(e) == registry().encode("behavior_event", e)
        assert registry().decode(encoder("behavior_event")(e), "behavior_event")["event_id"] == e["event_id"]


def test_other_union_shapes_are_refused_at_compile_time() -> None:
    with pytest.raises(UnsupportedSchema):
        compile_schema(["string", "long"])
    with pytest.raises(UnsupportedSchema):
        compile_schema(["null", "string", "long"])
