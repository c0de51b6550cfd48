"""The load generator: pre-encoded records from a pool file, sent by confluent-kafka.

    python -m bench.loadgen pool OUT --events N         # encode the pool (2 processes)
    python -m bench.loadgen blast POOL TOPIC --out J    # as fast as it can: its ceiling
    python -m bench.loadgen paced POOL TOPIC --rate R --seconds S [--probe-every K] --out J

Records are encoded before anything is measured; ``paced`` adds latency probes (a fresh
shopper's first page view, which yields a ui_personalization trigger at once), encoded on the
fly at the event time of the record just sent, and writes each probe's user and send time.
Each command runs as its own process so the generator never shares a core's GIL with a probe.
"""
from __future__ import annotations

import argparse
import json
import marshal
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from bench.pool import CHUNK_USERS, PoolSpec, chunk_events, encode
from udfs.avro_codec import registry
from udfs.journey import Journey

Chunk = tuple[list[bytes], list[bytes], list[int]]
DAY_MS = 86_400_000


def pool_base_ms() -> int:
    """The pool's event time starts a day before it is encoded: never in the future, never stale."""
    return (int(time.time() * 1000) // DAY_MS - 1) * DAY_MS


def _chunk(job: tuple[int, int]) -> Chunk:
    index, base_ms = job
    events = chunk_events(PoolSpec(), index, base_ms)
    records = encode(events)
    return [k for k, _ in records], [v for _, v in records], [e["event_time"] for e in events]


def write_pool(out: Path, events: int) -> int:
    """Encode at least ``events`` records into ``out`` (marshal of chunks); returns the count."""
    n_chunks = -(-events // int(CHUNK_USERS * 5.5))
    with Pool(2) as workers:
        chunks = workers.map(_chunk, [(i, pool_base_ms()) for i in range(n_chunks)], chunksize=4)
    out.write_bytes(marshal.dumps(chunks))
    return sum(len(c[0]) for c in chunks)


def read_pool(path: Path, limit: int | None = None) -> list[Chunk]:
    chunks: list[Chunk] = marshal.loads(path.read_bytes())
    if limit is None:
        return chunks
    kept, total = [], 0
    for keys, values, times in chunks:
        take = min(len(keys), limit - total)
        kept.append((keys[:take], values[:take], times[:take]))
        total += take
        if total >= limit:
            break
    return kept


def producer(bootstrap: str, linger_ms: int) -> Producer:
    return Producer({"bootstrap.servers": bootstrap, "linger.ms": linger_ms, "batch.size": 1_000_000,
                     "queue.buffering.max.messages": 2_000_000, "queue.buffering.max.kbytes": 1_048_576,
                     "acks": "all"})


def _send(p: Producer, topic: str, key: bytes, value: bytes, timestamp: int) -> None:
    """Produce with the record's own time as its Kafka timestamp (the job's event-time contract)."""
    while True:
        try:
            p.produce(topic, value, key, timestamp=timestamp)
            return
        except BufferError:
            p.poll(0.005)


def blast(pool: list[Chunk], topic: str, bootstrap: str) -> dict[str, Any]:
    """Send every record as fast as possible (until acknowledged): the generator's ceiling."""
    p = producer(bootstrap, linger_ms=20)
    start, sent = time.perf_counter(), 0
    for keys, values, times in pool:
        for key, value, event_time in zip(keys, values, times, strict=True):
            _send(p, topic, key, value, event_time)
        sent += len(keys)
        p.poll(0)
    p.flush(120)
    elapsed = time.perf_counter() - start
    return {"sent": sent, "seconds": elapsed, "rate": sent / elapsed}


def probe_record(run: str, n: int, event_time: int) -> tuple[bytes, bytes]:
    user = f"u_probe-{run}-{n}"
    j = Journey(user_id=user, anonymous_id=f"anon-probe-{run}-{n}", start_ms=event_time, session_id=f"sp-{n}",
                personalization=True).page("/")
    return user.encode(), registry().encode("behavior_event", j.events[0])


def _records(pool: list[Chunk]) -> Any:
    while True:
        for keys, values, times in pool:
            yield from zip(keys, values, times, strict=True)


def paced(pool: list[Chunk], topic: str, bootstrap: str, rate: float, seconds: float,
          probe_every: int, run: str) -> dict[str, Any]:
    """Send at ``rate`` records/s for ``seconds`` (10 ms steps), with a probe every ``probe_every``."""
    p, records = producer(bootstrap, linger_ms=1), _records(pool)
    probes: list[tuple[str, float]] = []
    start = time.perf_counter()
    sent = 0
    while (now := time.perf_counter() - start) < seconds:
        for _ in range(int(rate * now) - sent):
            key, value, event_time = next(records)
            _send(p, topic, key, value, event_time)
            sent += 1
            if probe_every and sent % probe_every == 0:
                pk, pv = probe_record(run, len(probes), event_time)
                _send(p, topic, pk, pv, event_time)
                probes.append((pk.decode(), time.time()))
        p.poll(0)
        time.sleep(max(0.0, 0.01 - (time.perf_counter() - start - now)))
    p.flush(60)
    elapsed = time.perf_counter() - start
    return {"sent": sent, "seconds": elapsed, "rate": sent / elapsed, "probes": probes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["pool", "blast", "paced"])
    parser.add_argument("pool", type=Path)
    parser.add_argument("topic", nargs="?")
    parser.add_argument("--events", type=int, default=0, help="pool: records to encode; else at most this many")
    parser.add_argument("--bootstrap", default="127.0.0.1:9192")
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--seconds", type=float, default=0.0)
    parser.add_argument("--probe-every", type=int, default=0)
    parser.add_argument("--run", default="probe")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.command == "pool":
        print(json.dumps({"records": write_pool(args.pool, args.events)}))
        return 0
    pool = read_pool(args.pool, args.events or None)
    result = (blast(pool, args.topic, args.bootstrap) if args.command == "blast" else
              paced(pool, args.topic, args.bootstrap, args.rate, args.seconds, args.probe_every, args.run))
    if args.out:
        args.out.write_text(json.dumps(result))
    print(json.dumps({k: v for k, v in result.items() if k != "probes"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
