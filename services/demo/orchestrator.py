"""Start the demo's children in order, print the summary, stop everything on the way out.

Order: the job runner first (it takes longest), then the SMTP sink, the webhook receiver, the
collector, the storefront and the senders while the job boots; then, once the job is RUNNING,
the simulator. Stopping goes the other way round. A child that exits or is not ready in time
stops the demo with its name and its log's last lines.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipelines.config import JobConfig, load_job_config
from services.demo import children as ch
from services.demo.config import ROOT, DemoConfig
from services.demo.monitor import Monitor, Snapshot
from services.demo.webhook_sink import WebhookSink
from services.stack.config import StackConfig
from services.storefront.config import load_config as load_storefront_config

LOCAL = "127.0.0.1"


@dataclass
class Demo:
    """Everything one demo run started, so all of it can be stopped."""

    cfg: DemoConfig
    stack: StackConfig
    job: JobConfig
    catalog_path: str = field(default_factory=lambda: load_storefront_config().catalog_path)
    """The storefront's catalogue file, which the simulator and the e-mail sender read too."""
    children: list[ch.Child] = field(default_factory=list)
    webhook: WebhookSink | None = None
    monitor: Monitor | None = None

    def env(self, **extra: str) -> dict[str, str]:
        """The children's environment: ours, the demo's engine settings, then ``extra``."""
        env = {**os.environ, "SP_TRIGGERS_ABANDON_WINDOW_MS": str(self.cfg.abandon_window_ms)}
        if not self.cfg.quiet_hours:
            env.update(SP_TRIGGERS_QUIET_START="00:00", SP_TRIGGERS_QUIET_END="00:00")
        if not env.get("SP_PSEUDONYM_KEY"):
            env.update(SP_COLLECTOR_ALLOW_DEV_KEY="true", SP_STOREFRONT_ALLOW_DEV_KEY="true")
        return {**env, **extra}

    def start(self, name: str, argv: list[str], probe: Callable[[ch.Child], ch.Probe] | None,
              **env: str) -> ch.Child:
        """Spawn a child, remember it, and wait until ``probe`` says it is ready."""
        child = ch.spawn(name, argv, self.env(**env), self.cfg.state, ROOT)
        self.children.append(child)
        if probe is not None:
            child.wait_ready(probe(child), self.cfg.start_timeout_s)
        return child

    def stop(self) -> list[str]:
        """Stop every child (last started first) and the threads; names of groups left behind."""
        for child in reversed(self.children):
            child.stop(grace_s=60.0 if child.name == "job" else 15.0)
        if self.webhook is not None:
            self.webhook.stop()
        if self.monitor is not None:
            self.monitor.stop()
        return [c.name for c in self.children if ch.group_alive(c.proc.pid)]


def require_free(*ports: tuple[str, int]) -> None:
    """Fail early, naming the setting, when a port the demo needs is taken."""
    for name, port in ports:
        if ch.port_open(port)():
            raise ch.ChildFailed(f"port {port} is in use: set SP_DEMO_{name.upper()}_PORT to a free one")


def job_config(cfg: DemoConfig, stack: StackConfig) -> JobConfig:
    """The live job on the stack's standard topics, reading this run's events only: from empty
    state, never resuming an earlier demo's checkpoint (``resume``)."""
    return load_job_config(bootstrap_servers=stack.bootstrap, redis_url=stack.redis_url, mode="live",
                           group_id=cfg.job_group_id, start_timestamp_ms=int(time.time() * 1000) - 1000,
                           resume=False)


def job_env(job: JobConfig) -> dict[str, str]:
    fields = ("bootstrap_servers", "redis_url", "mode", "group_id", "start_timestamp_ms", "resume")
    return {f"SP_JOB_{name.upper()}": str(getattr(job, name)) for name in fields}


def delivery_env(demo: Demo, channel: str) -> dict[str, str]:
    """A sender on this run's triggers, from their end, mail to the sink, links to the shop."""
    cfg, run = demo.cfg, f"{int(time.time())}"
    return {"SP_DELIVERY_BOOTSTRAP_SERVERS": demo.stack.bootstrap, "SP_DELIVERY_REDIS_URL": demo.stack.redis_url,
            "SP_DELIVERY_TOPIC": demo.job.triggers_topic, "SP_DELIVERY_ERASURE_TOPIC": demo.job.erasure_topic,
            "SP_DELIVERY_ERASURE_DONE_TOPIC": demo.job.erasure_done_topic,
            "SP_DELIVERY_GROUP_ID": f"shoppulse-demo-{channel}-{run}",
            "SP_DELIVERY_AUTO_OFFSET_RESET": "latest", "SP_DELIVERY_SMTP_PORT": str(cfg.smtp_port),
            "SP_DELIVERY_SHOP_URL": f"http://{LOCAL}:{cfg.storefront_port}",
            "SP_DELIVERY_CATALOG_PATH": demo.catalog_path,
            "SP_DELIVERY_WEBHOOK_URL": f"http://{LOCAL}:{cfg.webhook_port}/push",
            "SP_DELIVERY_JOURNAL_FILE": str(cfg.state / f"deliveries-{channel}.jsonl")}


def start_services(demo: Demo) -> None:
    """Sink, receiver, collector, storefront and senders (the job boots meanwhile)."""
    cfg, stack, job = demo.cfg, demo.stack, demo.job
    demo.start("smtp-sink", ["-m", "services.delivery.smtp_sink", "--port", str(cfg.smtp_port),
                             "--dir", str(cfg.mail_dir)], lambda c: ch.port_open(cfg.smtp_port))
    collector = f"http://{LOCAL}:{cfg.collector_port}"
    demo.start("collector", ["-m", "services.collector"], lambda c: ch.http_ok(collector + "/healthz"),
               SP_COLLECTOR_PORT=str(cfg.collector_port), SP_COLLECTOR_BOOTSTRAP_SERVERS=stack.bootstrap,
               SP_COLLECTOR_TOPIC=job.events_topic)
    demo.start("storefront", ["-m", "services.storefront"], lambda c: ch.http_ok(storefront_url(cfg) + "healthz"),
               SP_STOREFRONT_PORT=str(cfg.storefront_port), SP_STOREFRONT_COLLECTOR_URL=collector,
               SP_STOREFRONT_BOOTSTRAP_SERVERS=stack.bootstrap, SP_STOREFRONT_TRIGGERS_TOPIC=job.triggers_topic,
               SP_STOREFRONT_ERASURE_TOPIC=job.erasure_topic, SP_STOREFRONT_ERASURE_DONE_TOPIC=job.erasure_done_topic,
               SP_STOREFRONT_REDIS_URL=stack.redis_url)
    demo.start("email", ["-m", "services.delivery", "email"], lambda c: ch.log_says(c.log, "email delivery: topics "),
               **delivery_env(demo, "email"))
    if cfg.push:
        demo.webhook = WebhookSink(cfg.webhook_port).start()
        demo.start("webhook", ["-m", "services.delivery", "webhook"],
                   lambda c: ch.log_says(c.log, "push delivery: topics "), **delivery_env(demo, "push"))


def start_simulator(demo: Demo) -> None:
    """Gentle simulated traffic on the events topic, over the storefront's catalogue (so the shop
    sells what the simulated shoppers view and the model recommends); must still run after 3 s."""
    cfg, started = demo.cfg, time.monotonic()
    argv = ["-m", "services.simulator", "--brokers", demo.stack.bootstrap, "--topic", demo.job.events_topic,
            "--rate", str(cfg.sim_rate), "--seed", str(cfg.sim_seed), "--quiet",
            "--catalog", demo.catalog_path,
            "--duration", str(cfg.duration or 7 * 86_400), "--truth", str(cfg.state / "truth.jsonl")]
    demo.start("simulator", argv, lambda c: lambda: time.monotonic() - started > 3.0)


def storefront_url(cfg: DemoConfig) -> str:
    return f"http://{LOCAL}:{cfg.storefront_port}/"


def summary(elapsed: float, snap: Snapshot, prev: Snapshot, dt: float, pushes: int | None) -> str:
    """One line: event rate, active sessions, triggers by type, e-mails (and pushes)."""
    rate = (snap.events - prev.events) / dt if dt > 0 else 0.0
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(snap.triggers.items())) or "none yet"
    line = (f"[{elapsed:5.0f}s] events {rate:4.1f}/s ({snap.events}) | active sessions {snap.active_sessions}"
            f" | triggers: {kinds} (holdout {snap.holdout}) | e-mails {snap.emails}")
    return line + (f" | pushes {pushes}" if pushes is not None else "")


def watch(demo: Demo) -> None:
    """Print a summary every ``summary_s`` until the duration is over; raise if a child dies."""
    assert demo.monitor is not None
    started = last = time.monotonic()
    prev = demo.monitor.snapshot()
    while not demo.cfg.duration or last - started < demo.cfg.duration:
        left = demo.cfg.duration - (last - started) if demo.cfg.duration else demo.cfg.summary_s
        time.sleep(max(0.1, min(demo.cfg.summary_s, left)))
        for child in demo.children:
            if not child.alive():
                raise child.failure(f"exited with code {child.proc.returncode}")
        now, snap = time.monotonic(), demo.monitor.snapshot()
        print(summary(now - started, snap, prev, now - last, demo.webhook.received if demo.webhook else None),
              flush=True)
        prev, last = snap, now


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run(cfg: DemoConfig, stack: StackConfig) -> int:
    """The whole demo; returns the exit code (0 clean, 1 a child failed, 2 could not start)."""
    demo = Demo(cfg, stack, job_config(cfg, stack))
    for sig in (signal.SIGINT, signal.SIGTERM):  # also when started in the background, SIGINT ignored
        signal.signal(sig, _interrupt)
    code = 0
    try:
        require_free(("collector", cfg.collector_port), ("storefront", cfg.storefront_port),
                     ("smtp", cfg.smtp_port), *([("webhook", cfg.webhook_port)] if cfg.push else []))
        bring_up(demo)
        watch(demo)
    except KeyboardInterrupt:
        print("\n==> interrupted", flush=True)
    except (ch.ChildFailed, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        code = 1
    finally:
        code = max(code, shut_down(demo))
    return code


def bring_up(demo: Demo) -> None:
    """Monitor first (it marks where this run begins), then every child in order."""
    cfg = demo.cfg
    cfg.mail_dir.mkdir(parents=True, exist_ok=True)
    demo.monitor = Monitor(demo.stack.bootstrap, demo.job.topics(), cfg.mail_dir, cfg.active_window_s,
                           cfg.auto_consent).start()
    print(f"==> starting the live job (abandoned cart after {cfg.abandon_window_ms / 1000:g} s); logs in {cfg.state}",
          flush=True)
    ready = cfg.state / "job.ready"
    ready.unlink(missing_ok=True)
    job = demo.start("job", ["-m", "services.demo.job_runner", str(ready)], None, **job_env(demo.job))
    start_services(demo)
    print("==> collector, storefront, SMTP sink and senders up; waiting for the job ...", flush=True)
    job.wait_ready(ch.path_exists(ready), cfg.start_timeout_s)
    if cfg.simulator:
        start_simulator(demo)
    print(f"==> storefront: {storefront_url(cfg)}   (received e-mail: {cfg.mail_dir})", flush=True)


def shut_down(demo: Demo) -> int:
    """Stop everything, ignoring further Ctrl-C; 1 if a process group survived."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    if demo.monitor is not None:
        print(totals(demo.monitor.snapshot()), flush=True)
    print(f"==> stopping {len(demo.children)} children ...", flush=True)
    left = demo.stop()
    if left:
        print(f"error: still running after stop: {', '.join(left)}", file=sys.stderr, flush=True)
        return 1
    job = next((c for c in demo.children if c.name == "job"), None)
    cancelled = job is not None and job.proc.returncode == 0
    print(f"==> stopped: {'job cancelled, ' if cancelled else ''}every child exited", flush=True)
    return 0 if job is None or cancelled else 1


def totals(snap: Snapshot) -> str:
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(snap.triggers.items())) or "none"
    return (f"==> totals: {snap.events} events, triggers: {kinds} (holdout {snap.holdout}), "
            f"{snap.consents} demo consents, {snap.emails} e-mails")
