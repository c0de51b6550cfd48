"""The demo orchestrator on the test stack: ``python -m services.demo --duration 40`` starts every
child, prints summary lines that show simulated events and triggers, exits 0 with the job
cancelled, and leaves no process behind (every child carries the run's state dir in its
environment, so a survivor would be found in /proc). The simulated shoppers view the
storefront's products.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.config import load_job_config
from services.stack.config import ROOT, StackConfig
from services.stack.topics import ensure_topics, topic_specs
from services.storefront.catalog import configured_catalog
from tests.servers import KafkaHandle, free_port
from udfs.avro_codec import registry

pytestmark = pytest.mark.integration


def survivors(marker: str) -> list[str]:
    """Command lines of processes whose environment mentions ``marker``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if marker.encode() in (proc / "environ").read_bytes():
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


def simulated_products(kafka: KafkaHandle) -> set[str]:
    """Product ids the simulator's shoppers (anonymous ids ``anon-<run>-<n>``) viewed or carted."""
    found = set()
    for key, value in kafka.consume(load_job_config().events_topic, settle_s=1.0):
        if key is None or not re.fullmatch(rb"anon-[0-9a-f]{6}-\d+", key):  # the simulator keys by anonymous id
            continue
        product = registry().decode(value, "behavior_event").get("product")
        if product:
            found.add(product["product_id"])
    assert found, "the simulator sent product events"
    return found


def demo_env(stack: StackConfig, state: Path) -> dict[str, str]:
    ports = {name: str(free_port()) for name in ("COLLECTOR", "STOREFRONT", "SMTP", "WEBHOOK")}
    return {**os.environ, "SP_STACK_KAFKA_PORT": str(stack.kafka_port), "SP_STACK_REDIS_PORT": str(stack.redis_port),
            "SP_STACK_CONTROLLER_PORT": str(stack.controller_port), "SP_STACK_STATE_DIR": stack.state_dir,
            "SP_DEMO_STATE_DIR": str(state), "SP_DEMO_SUMMARY_S": "4", "SP_DEMO_SIM_RATE": "5",
            **{f"SP_DEMO_{name}_PORT": port for name, port in ports.items()}}


def test_demo_runs_for_its_duration_and_leaves_nothing_behind(
        kafka: KafkaHandle, redis_url: str, stack_config: StackConfig, tmp_path: Path) -> None:
    ensure_topics(kafka.bootstrap, topic_specs(load_job_config().topics(), stack_config.partitions))
    state = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "services.demo", "--duration", "40"], cwd=ROOT,
                          env=demo_env(stack_config, state), capture_output=True, text=True, timeout=600)
    out = done.stdout + done.stderr
    print(out)
    assert done.returncode == 0, out
    counts = [int(n) for n in re.findall(r"events +[\d.]+/s \((\d+)\)", done.stdout)]
    assert len(counts) >= 8 and counts[-1] > 0 and counts == sorted(counts), out
    assert "ui_personalization" in done.stdout, out
    assert "==> stopped: job cancelled, every child exited" in done.stdout, out
    assert survivors(str(state)) == []
    assert simulated_products(kafka) <= set(configured_catalog().products), "one catalogue for shop and shoppers"
    assert {p.name for p in state.glob("*.log")} >= {"job.log", "collector.log", "storefront.log", "smtp-sink.log",
                                                      "email.log", "webhook.log", "simulator.log"}
