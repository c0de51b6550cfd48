"""Trigger latency under load, per delivery mode, and abandoned_cart's delay on an idle stream.

Under load: the whole job on a new topic, the generator at half the sustained rate with a probe
every ``probe_every`` records: a fresh shopper's first page view (with onsite consent), which
yields a ui_personalization trigger at once. Latency = when a consumer of the triggers topic
(read_committed, so exactly-once triggers count only once committed) has the trigger - when the
generator handed the probe to its producer. Probes without a trigger within the run plus a
checkpoint interval and 10 s count as missing; the first tenth of the probes (warm-up) is left out.

abandoned_cart: the job with a 3 s inactivity window on an otherwise idle stream; shoppers add
to cart one per second (event time = now); delay = when the trigger is readable - (the cart
event's time + the window).
"""
from __future__ import annotations

import threading
import time
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from bench import stack
from bench.jobrun import FlinkRun
from bench.measure import finish, loadgen, percentiles
from bench.settings import Settings, state_path
from bench.throughput import job_spec
from udfs.avro_codec import registry
from udfs.event_time import record_timestamp
from udfs.journey import Journey

WINDOW_MS = 3_000


class TriggerWatch:
    """Reads a triggers topic in a thread; remembers when each wanted (user, trigger type) first arrived."""

    def __init__(self, topic: str, prefix: bytes) -> None:
        self.seen: dict[tuple[str, str], float] = {}
        self.prefix, self.stop = prefix, threading.Event()
        self.consumer = Consumer({"bootstrap.servers": stack.bootstrap(), "group.id": stack.run_name("watch"),
                                  "isolation.level": "read_committed", "fetch.wait.max.ms": 5,
                                  "enable.auto.commit": False})
        self.consumer.assign([TopicPartition(topic, p, 0) for p in range(stack.PARTITIONS)])
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop.is_set():
            for msg in self.consumer.consume(500, 0.05):
                now = time.time()
                if msg.error() is None and (msg.key() or b"").startswith(self.prefix):
                    trigger = registry().decode(msg.value() or b"", "trigger")
                    self.seen.setdefault((trigger["user_id"], trigger["trigger_type"]), now)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.consumer.close()


def under_load(pool: str, rate: float, delivery: str, s: Settings) -> dict[str, Any]:
    run = stack.run_name(f"latency-{delivery}")
    cfg = stack.job_config(run, delivery=delivery, checkpoint_interval_ms=s.checkpoint_ms)
    print(f"==> latency {delivery}: {rate:,.0f} records/s for {s.latency_s:.0f} s, probe every "
          f"{s.probe_every} ...", flush=True)
    with FlinkRun(run, job_spec("job", cfg)) as job:
        job.wait_running()
        watch = TriggerWatch(cfg.triggers_topic, b"u_probe-")
        gen_out = state_path(f"{run}.json")
        gen = loadgen(["paced", pool, cfg.events_topic, "--rate", str(rate), "--seconds", str(s.latency_s),
                       "--probe-every", str(s.probe_every), "--run", run, "--bootstrap", stack.bootstrap(),
                       "--out", str(gen_out)], run)
        sent = finish(gen, gen_out)
        time.sleep(s.checkpoint_ms / 1000 + 10)
        watch.close()
    probes = sent["probes"][len(sent["probes"]) // 10:]  # the first tenth is the job's warm-up
    ui = "ui_personalization"
    latencies = [(watch.seen[(u, ui)] - t) * 1000 for u, t in probes if (u, ui) in watch.seen]
    result = {"delivery": delivery, "rate": rate, "sent_rate": sent["rate"], "probes": len(probes),
              "missing": len(probes) - len(latencies), "ms": percentiles(latencies)}
    print(f"    {delivery}: {result['ms']} ({result['missing']} missing)", flush=True)
    return result


def _cart(run: str, n: int) -> tuple[bytes, bytes, int, str]:
    user = f"u_cart-{run}-{n}"
    j = Journey(user_id=user, anonymous_id=f"anon-cart-{run}-{n}", start_ms=int(time.time() * 1000),
                session_id=f"sc-{n}", personalization=True).add(f"p{n}", "apparel/shoes", 80.0)
    e = j.events[0]
    return user.encode(), registry().encode("behavior_event", e), e["event_time"], user


def abandoned_cart(s: Settings, shoppers: int = 20) -> dict[str, Any]:
    from bench.loadgen import producer

    run = stack.run_name("abandon")
    cfg = stack.job_config(run, checkpoint_interval_ms=s.checkpoint_ms)
    engine = {"abandon_window_ms": WINDOW_MS, "holdout_pct": 0.0, "quiet_start": "00:00", "quiet_end": "00:00"}
    print(f"==> abandoned_cart on an idle stream: {shoppers} carts, {WINDOW_MS} ms window ...", flush=True)
    with FlinkRun(run, job_spec("job", cfg, engine=engine)) as job:
        job.wait_running()
        watch, p, deadlines = TriggerWatch(cfg.triggers_topic, b"u_cart-"), producer(stack.bootstrap(), 0), {}
        for n in range(shoppers):
            key, value, event_time, user = _cart(run, n)
            p.produce(cfg.events_topic, value, key, timestamp=record_timestamp(event_time, event_time))
            p.flush(10)
            deadlines[user] = event_time + WINDOW_MS
            time.sleep(1.0)
        time.sleep(WINDOW_MS / 1000 + 5)
        watch.close()
    fired = {u: watch.seen[(u, "abandoned_cart")] for u in deadlines if (u, "abandoned_cart") in watch.seen}
    delays = [fired[u] * 1000 - deadlines[u] for u in fired]
    result = {"window_ms": WINDOW_MS, "carts": shoppers, "fired": len(delays), "ms": percentiles(delays)}
    print(f"    abandoned_cart delay after the window: {result['ms']} ({len(delays)}/{shoppers} fired)", flush=True)
    return result


def run(pool: str, sustained: float, s: Settings) -> dict[str, Any]:
    rate = sustained / 2
    return {"at-least-once": under_load(pool, rate, "at-least-once", s),
            "exactly-once": under_load(pool, rate, "exactly-once", s), "abandoned_cart": abandoned_cart(s)}
