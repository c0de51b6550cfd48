"""End-to-end stack for browser tests: real Kafka and Redis (the integration tier's fixtures,
same ``SP_TEST_*`` variables), the live job on fresh topics, the collector and the storefront as
real processes on free ports. Anything that cannot start fails the test with its log: no skips.
"""
from __future__ import annotations

import os
import socket
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
from services.stack.config import ROOT
from services.stack.proc import tail
from tests.integration.conftest import kafka, redis_url, stack_config  # noqa: F401  (shared fixtures)
from udfs.avro_codec import registry
from udfs.journey import Journey

PSEUDONYM_KEY = "e2e-storefront-pseudonym-key"
ARTIFACTS = Path(os.environ.get("SP_E2E_ARTIFACTS_DIR", str(ROOT / ".state" / "artifacts" / "e2e")))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def start_service(name: str, module: str, env: dict[str, str], port: int, logs: Path) -> Service:
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env={**os.environ, **env})
    service = Service(name, proc, f"http://127.0.0.1:{port}", log)
    service.wait_healthy()
    return service


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


@pytest.fixture(scope="module")
def shop(kafka: Any, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:  # noqa: F811
    topics = {name: kafka.new_topic(prefix="e2e-" + name.split("_")[0]) for name in (
        "events_topic", "clean_topic", "dlq_topic", "triggers_topic", "profiles_topic", "consent_topic",
        "erasure_topic", "erasure_done_topic")}
    cfg = load_job_config(bootstrap_servers=kafka.bootstrap, group_id=f"e2e-{uuid.uuid4().hex[:8]}",
                          starting_offsets="earliest", parallelism=2, redis_url=redis_url, mode="live", **topics)
    stages = job.Stages.from_env()
    # No control group, no quiet hours, and no bot filter: a browser driven by a test clicks at machine
    # speed, which the engine rightly scores as automated (bot_score in [0, 1]) and would never target.
    engine = replace(stages.engine, holdout_pct=0.0, quiet_start="00:00", quiet_end="00:00", bot_threshold=1.01)
    stages = replace(stages, engine=engine)
    logs = tmp_path_factory.mktemp("e2e-logs")
    client = job.run(cfg, stages, detached=True)
    services: list[Service] = []
    try:
        cport, sport = free_port(), free_port()
        services.append(start_service("collector", "services.collector", {
            "SP_PSEUDONYM_KEY": PSEUDONYM_KEY, "SP_COLLECTOR_PORT": str(cport),
            "SP_COLLECTOR_BOOTSTRAP_SERVERS": kafka.bootstrap, "SP_COLLECTOR_TOPIC": cfg.events_topic}, cport, logs))
        services.append(start_service("storefront", "services.storefront", {
            "SP_PSEUDONYM_KEY": PSEUDONYM_KEY, "SP_STOREFRONT_PORT": str(sport),
            "SP_STOREFRONT_COLLECTOR_URL": services[0].url, "SP_STOREFRONT_BOOTSTRAP_SERVERS": kafka.bootstrap,
            "SP_STOREFRONT_TRIGGERS_TOPIC": cfg.triggers_topic, "SP_STOREFRONT_REDIS_URL": redis_url}, sport, logs))
        warm_up(kafka, cfg)
        print(f"\ne2e stack up: storefront {services[1].url}, collector {services[0].url}, logs in {logs}")
        yield Shop(services[1].url, services[0].url, cfg, stages, kafka)
    finally:
        for service in reversed(services):
            service.stop()
        client.cancel().result()
