"""Pre-encoded shopper traffic: realistic journeys of a bounded, returning population, as Kafka records.

Each chunk of ``CHUNK_USERS`` journeys spans ``CHUNK_SPAN_MS`` of event time; journeys start in
the first half of their chunk and take at most about 30 s (actions ~3 s apart), so sorting each
chunk by event time gives a stream in event-time order across chunks. Visitors come from a
population of ``population`` shoppers (two in three signed in), so state stays bounded and
returning visitors hit existing state, as on a real shop. Mix: every journey views products;
half add to cart, a quarter buy, some search and filter. Onsite personalization consent is given
at capture, so UI hints, cart caching and scoring at decision points all run.

Records are (key, Avro single-object value) with unique event ids; ``encode_chunks`` is what the
load generator sends, encoded before any measurement starts.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from udfs.avro_codec import registry
from udfs.journey import Journey

CHUNK_USERS = 1_000
CHUNK_SPAN_MS = 60_000
CATEGORIES = (
    ("electronics/tv", 400.0, 2500.0), ("electronics/smartphone", 180.0, 1200.0),
    ("electronics/audio/headphone", 30.0, 400.0), ("appliances/kitchen/coffee_machine", 60.0, 900.0),
    ("apparel/shoes", 25.0, 220.0), ("furniture/living_room/sofa", 300.0, 2500.0), ("kids/toys", 5.0, 80.0),
)
Record = tuple[bytes, bytes]


@dataclass(frozen=True)
class PoolSpec:
    """Shape of the generated traffic."""

    population: int = 50_000
    items: int = 5_000
    seed: int = 11
    prefix: str = "b"


def _product(rng: random.Random, spec: PoolSpec) -> tuple[str, str, float]:
    category, low, high = CATEGORIES[rng.randrange(len(CATEGORIES))]
    return f"p{rng.randrange(spec.items)}", category, round(rng.uniform(low, high), 2)


def journey(rng: random.Random, spec: PoolSpec, visit: int, start_ms: int) -> list[dict[str, Any]]:
    """One visit of a shopper from the population: views, maybe search/filter, cart, purchase."""
    shopper = rng.randrange(spec.population)
    user = f"u_{spec.prefix}{shopper:07d}" if shopper % 3 else None
    j = Journey(user_id=user, anonymous_id=f"anon-{spec.prefix}{shopper}", start_ms=start_ms, step_ms=3_000,
                session_id=f"s-{spec.prefix}{visit}", personalization=True)
    j.page("/")
    if rng.random() < 0.3:
        j.event("search", search_query="shoes" if rng.random() < 0.5 else "tv")
    if rng.random() < 0.2:
        j.filter("brand", "acme")
    viewed = [_product(rng, spec) for _ in range(rng.randint(1, 5))]
    for pid, category, price in viewed:
        j.view(pid, category, price)
    if rng.random() < 0.5:
        pid, category, price = viewed[-1]
        j.add(pid, category, price)
        if rng.random() < 0.5:
            j.checkout().purchase(order_id=f"o-{spec.prefix}{visit}")
    return j.events


def chunk_events(spec: PoolSpec, chunk: int, base_ms: int) -> list[dict[str, Any]]:
    """The events of one chunk of journeys, in event-time order."""
    rng = random.Random(spec.seed * 1_000_003 + chunk)
    start = base_ms + chunk * CHUNK_SPAN_MS
    events = [e for v in range(CHUNK_USERS)
              for e in journey(rng, spec, chunk * CHUNK_USERS + v, start + rng.randrange(CHUNK_SPAN_MS // 2))]
    events.sort(key=lambda e: e["event_time"])
    return events


def encode(events: list[dict[str, Any]]) -> list[Record]:
    """(key, value) records: key = user id, else the device's anonymous id."""
    reg = registry()
    return [((e["user_id"] or e["anonymous_id"]).encode(), reg.encode("behavior_event", e)) for e in events]


def encode_chunks(spec: PoolSpec, total: int, base_ms: int, first_chunk: int = 0) -> Iterator[list[Record]]:
    """Encoded chunks until at least ``total`` records (the last chunk is cut)."""
    sent, chunk = 0, first_chunk
    while sent < total:
        records = encode(chunk_events(spec, chunk, base_ms))[: total - sent]
        sent += len(records)
        chunk += 1
        yield records


def events_per_chunk(spec: PoolSpec) -> float:
    """Average events per chunk (from chunk 0), to plan event-time spans."""
    return float(len(chunk_events(spec, 0, 0)))
