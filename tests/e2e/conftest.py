"""End-to-end stack for browser tests: real Kafka and Redis (the integration tier's fixtures,
same ``SP_TEST_*`` variables), the live job on fresh topics, the collector and the storefront as
real processes on free ports. Anything that cannot start fails the test with its log: no skips.

The job's abandonment window is ``E2E_ABANDON_WINDOW_MS``. A test module may set ``E2E_SCORER``
(an object with ``score(steps)``, see ``udfs.scoring``) for the job to score sessions with, as no
model is promoted in tests. ``mailbox`` adds an SMTP sink and the e-mail sender on the triggers
(with the storefront's catalogue, so e-mails name its products).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from pipelines import job
from pipelines.config import JobConfig, load_job_config
from services.delivery.smtp_sink import SmtpSink
from services.stack.config import ROOT
from services.stack.proc import tail
from services.storefront.config import load_config as load_storefront_config
from tests.servers import free_port
from udfs.avro_codec import registry
from udfs.journey import Journey

PSEUDONYM_KEY = "e2e-storefront-pseudonym-key"
E2E_ABANDON_WINDOW_MS = 15_000
ARTIFACTS = Path(os.environ.get("SP_E2E_ARTIFACTS_DIR", str(ROOT / ".state" / "artifacts" / "e2e")))


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


@dataclass
class Service:
    """A service process this test session started, with its log."""

    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def wait_healthy(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.proc.returncode}; log {self.log}:\n{tail(self.log)}")
            if healthy(self.url + "/healthz"):
                return
            time.sleep(0.3)
        pytest.fail(f"{self.name} not healthy after {timeout_s:.0f}s; log {self.log}:\n{tail(self.log)}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def spawn(name: str, argv: list[str], env: dict[str, str], logs: Path, url: str = "") -> Service:
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", *argv], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env={**os.environ, **env})
    return Service(name, proc, url, log)


def start_service(name: str, module: str, env: dict[str, str], port: int, logs: Path) -> Service:
    service = spawn(name, [module], env, logs, f"http://127.0.0.1:{port}")
    service.wait_healthy()
    return service


def wait_logged(service: Service, marker: str, timeout_s: float = 60.0) -> None:
    """Wait until the service's log shows ``marker``; fail with the log if it exits or never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if service.proc.poll() is not None:
            pytest.fail(f"{service.name} exited with {service.proc.returncode}; log:\n{tail(service.log)}")
        if marker in service.log.read_text(errors="replace"):
            return
        time.sleep(0.3)
    pytest.fail(f"{service.name} did not log {marker!r} in {timeout_s:.0f}s; log:\n{tail(service.log)}")


def start_job(cfg: JobConfig, stages: job.Stages, scorer: Any = None) -> Any:
    """The live job, detached (a JobClient); with ``scorer`` the job scores sessions with it."""
    return job.run(cfg, stages, detached=True, scorer=scorer)


def now_ms() -> int:
    return int(time.time() * 1000)


def warm_up(handle: Any, cfg: JobConfig) -> None:
    """Wait until the job has carried an event through to the clean topic (it is running)."""
    event = Journey(anonymous_id=f"warm-up-{uuid.uuid4().hex[:6]}", start_ms=now_ms()).page().events
    handle.produce(cfg.events_topic, [registry().encode("behavior_event", e) for e in event])
    assert handle.consume(cfg.clean_topic, 1, timeout_s=120), "the live job did not start within 120 s"


@dataclass
class Shop:
    """The running end-to-end stack."""

    storefront: str
    collector: str
    cfg: JobConfig
    stages: job.Stages
    kafka: Any
    logs: Path


@pytest.fixture(scope="module")
def shop(kafka: Any, redis_url: str, tmp_path_factory: pytest.TempPathFactory,  # noqa: F811
         request: pytest.FixtureRequest) -> Iterator[Shop]:
    topics = {name: kafka.new_topic(prefix="e2e-" + name.split("_")[0]) for name in (
        "events_topic", "clean_topic", "dlq_topic", "triggers_topic", "profiles_topic", "consent_topic",
        "erasure_topic", "erasure_done_topic")}
    cfg = load_job_config(bootstrap_servers=kafka.bootstrap, group_id=f"e2e-{uuid.uuid4().hex[:8]}",
                          starting_offsets="earliest", parallelism=2, redis_url=redis_url, mode="live", **topics)
    stages = job.Stages.from_env()
    # No control group, no quiet hours, and no bot filter: a browser driven by a test clicks at machine
    # speed, which the engine rightly scores as automated (bot_score in [0, 1]) and would never target.
    engine = replace(stages.engine, holdout_pct=0.0, quiet_start="00:00", quiet_end="00:00", bot_threshold=1.01,
                     abandon_window_ms=E2E_ABANDON_WINDOW_MS)
    stages = replace(stages, engine=engine)
    logs = tmp_path_factory.mktemp("e2e-logs")
    client = start_job(cfg, stages, getattr(request.module, "E2E_SCORER", None))
    services: list[Service] = []
    try:
        cport, sport = free_port(), free_port()
        services.append(start_service("collector", "services.collector", {
            "SP_PSEUDONYM_KEY": PSEUDONYM_KEY, "SP_COLLECTOR_PORT": str(cport),
            "SP_COLLECTOR_BOOTSTRAP_SERVERS": kafka.bootstrap, "SP_COLLECTOR_TOPIC": cfg.events_topic}, cport, logs))
        services.append(start_service("storefront", "services.storefront", {
            "SP_PSEUDONYM_KEY": PSEUDONYM_KEY, "SP_STOREFRONT_PORT": str(sport),
            "SP_STOREFRONT_COLLECTOR_URL": services[0].url, "SP_STOREFRONT_BOOTSTRAP_SERVERS": kafka.bootstrap,
            "SP_STOREFRONT_TRIGGERS_TOPIC": cfg.triggers_topic, "SP_STOREFRONT_REDIS_URL": redis_url,
            "SP_STOREFRONT_ERASURE_TOPIC": cfg.erasure_topic,
            "SP_STOREFRONT_ERASURE_DONE_TOPIC": cfg.erasure_done_topic}, sport, logs))
        warm_up(kafka, cfg)
        print(f"\ne2e stack up: storefront {services[1].url}, collector {services[0].url}, logs in {logs}")
        yield Shop(services[1].url, services[0].url, cfg, stages, kafka, logs)
    finally:
        for service in reversed(services):
            service.stop()
        client.cancel().result()


@dataclass
class Mailbox:
    """The SMTP sink the e-mail sender delivers to; ``folder`` holds the received .eml files."""

    folder: Path
    sink: SmtpSink


@pytest.fixture(scope="module")
def mailbox(shop: Shop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mailbox]:
    """An SMTP sink (in this process) and the e-mail sender (a process) on the shop's triggers."""
    sink = SmtpSink(tmp_path_factory.mktemp("e2e-mail"), port=0).start()
    sender = spawn("email", ["services.delivery", "email"], {
        "SP_DELIVERY_BOOTSTRAP_SERVERS": shop.kafka.bootstrap, "SP_DELIVERY_TOPIC": shop.cfg.triggers_topic,
        "SP_DELIVERY_ERASURE_TOPIC": shop.cfg.erasure_topic,
        "SP_DELIVERY_ERASURE_DONE_TOPIC": shop.cfg.erasure_done_topic,
        "SP_DELIVERY_GROUP_ID": f"e2e-email-{uuid.uuid4().hex[:8]}", "SP_DELIVERY_REDIS_URL": shop.cfg.redis_url,
        "SP_DELIVERY_SMTP_PORT": str(sink.port), "SP_DELIVERY_SHOP_URL": shop.storefront,
        "SP_DELIVERY_CATALOG_PATH": load_storefront_config({}).catalog_path}, shop.logs)
    try:
        wait_logged(sender, "email delivery: topics ")
        yield Mailbox(sink.folder, sink)
    finally:
        sender.stop()
        sink.stop()
