"""``python -m services.simulator``: simulated shoppers to the events topic, with ground truth.

Events are Avro single-object records (``behavior_event``) keyed by the anonymous id, paced so
their event time follows the clock (``--start now``, live) or a compressed clock from a fixed
start (``--start 2026-01-01T10:00:00Z --speedup 60``; ``--speedup 0``: as fast as possible).
Every shopper's persona and the triggers it should and should not earn go to ``--truth``;
``python -m services.simulator.report --truth FILE`` scores the job's triggers against it.
``--max-rate`` measures the producer's ceiling instead (pre-encoded and encoding on the fly).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from typing import IO

from services.simulator.bench import bench_on_the_fly, bench_preencoded, encoded_pool
from services.simulator.config import (
    SimConfig,
    add_config_arguments,
    config_from_args,
    parse_mix,
    parse_start,
    producer_conf,
)
from services.simulator.pacing import Pacer
from services.simulator.personas import Catalogue, Thresholds, shop_catalogue
from services.simulator.schedule import Plan, schedule
from services.simulator.sender import ProgressLine, Sender, report_counts, stamp_of
from services.simulator.truth import write_truth
from udfs.engine_config import TRIGGERS_ENV_PREFIX, EngineConfig
from udfs.envconfig import from_env
from udfs.fast_avro import encoder

FIELDS = ("brokers", "topic", "rate", "shoppers", "duration", "seed", "mix", "decline_share", "start",
          "speedup", "truth", "catalog", "linger_ms", "batch_bytes", "compression", "flush_timeout_s")
EPILOG = """personas (--mix weights; ground truth per shopper in --truth):
  buyer      views, cart, checkout, purchase      earns ui_personalization; never abandoned_cart
  abandoner  views, cart, then silence            earns abandoned_cart (after the engine's window)
  browser    >= browse_views views of one expensive category, no purchase: repeated_browse_offer
  window     pages, searches, filters, cheap views: ui_personalization only
  bot        tens of events a second, expensive views and a cart: no abandoned_cart, no offer
  --decline-share: humans who refuse personalization at capture earn nothing at all.
Thresholds (browse_views, browse_high_price, windows) come from the SP_TRIGGERS_* variables the
job reads, so the truth matches the engine's configuration.

--rate is the long-run rate: a shopper's script spans a minute or two of event time, so the rate
ramps up over that long at the start and winds down as the last shoppers finish.
"""


def make_plan(cfg: SimConfig, engine: EngineConfig, now_ms: int) -> Plan:
    """The plan the config describes; ``rate`` converted to events per event-time second."""
    start = parse_start(cfg.start, now_ms)
    scale = cfg.speedup or 1.0
    until = start + int(cfg.duration * 1000 * scale) if cfg.duration else None
    thresholds = Thresholds.from_engine(engine)
    return Plan(seed=cfg.seed, start_ms=start, rate=cfg.rate / scale, mix=parse_mix(cfg.mix),
                max_shoppers=cfg.max_shoppers(), arrivals_until_ms=until, decline_share=cfg.decline_share,
                thresholds=thresholds, shop=shop_of(cfg.catalog, thresholds.high_price))


def shop_of(path: str, high_price: float) -> Catalogue | None:
    """The storefront's catalogue built from ``path`` (its SP_STOREFRONT_CATALOG_* sizes) as the
    personas' products; None (a synthetic catalogue) without a path or without both an expensive
    and a cheap category at this high price, which is then said on stderr."""
    if not path:
        return None
    from services.storefront.catalog import configured_catalog

    shop = shop_catalogue(configured_catalog(catalog_path=path).offers(), high_price)
    if shop is None:
        sys.stderr.write(f"simulator: the catalogue from {path} has no category priced at 1.5x browse_high_price "
                         f"({high_price:g}) and another at 0.6x or less: personas use a synthetic catalogue\n")
    return shop


def simulate(plan: Plan, speedup: float, sender: Sender, truth: IO[str], progress: ProgressLine | None = None,
             pacer: Pacer | None = None) -> int:
    """Send the plan's events paced at ``speedup``, writing the truth; returns the shopper count."""
    encode, pacer = encoder("behavior_event"), pacer or Pacer(speedup)
    pacer.anchor(plan.start_ms)
    active = shoppers = 0

    def tick() -> None:
        sender.serve()
        if progress is not None:
            progress.update(sender.counts(), active)

    for n, em in enumerate(schedule(plan)):
        pacer.wait(em.event["event_time"], tick)
        if em.first:
            write_truth(truth, em.shopper)
            active, shoppers = active + 1, shoppers + 1
        sender.send(em.event["anonymous_id"].encode(), encode(em.event), stamp_of(em.event))
        active -= em.last
        if not n & 255:
            tick()
    return shoppers


def run_benchmark(cfg: SimConfig, plan: Plan, seconds: float) -> int:
    """Measure the ceiling (pre-encoded pool, then encoding on the fly) and print it."""
    sys.stderr.write(f"benchmark: {seconds:g} s each against {cfg.brokers} topic {cfg.topic!r}\n")
    big = dataclasses.replace(plan, max_shoppers=None, arrivals_until_ms=None)
    results = [bench_preencoded(Sender(producer_conf(cfg), cfg.topic), encoded_pool(big, 20_000), seconds),
               bench_on_the_fly(Sender(producer_conf(cfg), cfg.topic), big, seconds)]
    for result in results:
        print(result.line())
    return max(report_counts(r.counts, sys.stderr) for r in results)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m services.simulator", description=__doc__, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(p, FIELDS)
    p.add_argument("--max-rate", action="store_true",
                   help="measure the producer's ceiling (events/s) instead of simulating; use a scratch --topic")
    p.add_argument("--bench-seconds", type=float, default=5.0, help="seconds per --max-rate measurement [5]")
    p.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        cfg = config_from_args(args, FIELDS)
        plan = make_plan(cfg, from_env(EngineConfig, TRIGGERS_ENV_PREFIX), int(time.time() * 1000))
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    if args.max_rate:
        return run_benchmark(cfg, plan, args.bench_seconds)
    sender, progress = Sender(producer_conf(cfg), cfg.topic), None if args.quiet else ProgressLine("simulator")
    with open(cfg.truth, "w", encoding="utf-8") as truth:
        try:
            shoppers = simulate(plan, cfg.speedup, sender, truth, progress)
        except KeyboardInterrupt:
            shoppers = -1
            sys.stderr.write("\ninterrupted: flushing what was sent\n")
    counts = sender.close(cfg.flush_timeout_s)
    if progress is not None:
        progress.update(counts, 0, final=True)
    sys.stderr.write(f"{'some' if shoppers < 0 else shoppers} shoppers; ground truth in {cfg.truth}\n")
    return report_counts(counts, sys.stderr)
