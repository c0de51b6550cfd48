"""The simulator against the real broker: its records decode and all arrive; run through the real job
(bounded, replay mode), the triggers match each persona's ground truth; the report reads them back."""
from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import pytest

from pipelines import job
from services.simulator import cli, report
from services.simulator.accuracy import Accuracy, accuracy
from services.simulator.config import load_sim_config, producer_conf
from services.simulator.schedule import Plan, schedule
from services.simulator.sender import Counts, Sender
from services.simulator.truth import Truth, read_truth
from tests.integration.test_triggers_kafka import replay_config
from udfs.avro_codec import registry
from udfs.cache import CacheConfig
from udfs.engine_config import EngineConfig
from udfs.ingest_config import IngestConfig

pytestmark = pytest.mark.integration
T0 = 1_767_261_600_000  # 2026-01-01T10:00:00Z
ENGINE = EngineConfig(abandon_window_ms=120_000, session_gap_ms=300_000)  # windows of minutes, not half hours


def simulate(kafka: Any, topic: str, truth_path: Path, shoppers: int, seed: int,
             decline_share: float = 0.0) -> tuple[Counts, Plan]:
    """Run the simulator as fast as possible (speed-up 0) from a fixed start onto ``topic``."""
    cfg = load_sim_config(brokers=kafka.bootstrap, topic=topic, start=str(T0), speedup=0.0, rate=200.0,
                          shoppers=shoppers, seed=seed, decline_share=decline_share, truth=str(truth_path))
    plan = cli.make_plan(cfg, ENGINE, T0)
    sender = Sender(producer_conf(cfg), topic)
    with open(truth_path, "w", encoding="utf-8") as out:
        assert cli.simulate(plan, cfg.speedup, sender, out) == shoppers
    return sender.close(30.0), plan


def test_every_simulated_record_arrives_and_decodes_to_the_planned_event(kafka: Any, tmp_path: Path) -> None:
    topic = kafka.new_topic(prefix="sim")
    counts, plan = simulate(kafka, topic, tmp_path / "truth.jsonl", shoppers=40, seed=11)
    planned = [em.event for em in schedule(plan)]
    assert counts.ok() and counts.sent == counts.delivered == len(planned)
    records = kafka.consume(topic, expected=len(planned), timeout_s=30)
    assert len(records) == len(planned)
    decoded = [(key, registry().decode(value, "behavior_event")) for key, value in records]
    assert all(key == event["anonymous_id"].encode() for key, event in decoded)
    assert sorted(e["event_id"] for _, e in decoded) == sorted(e["event_id"] for e in planned)
    assert len(read_truth(tmp_path / "truth.jsonl")) == 40


def test_delivery_failures_are_counted_when_the_topic_does_not_exist(kafka: Any) -> None:
    cfg = load_sim_config(brokers=kafka.bootstrap, topic="sim-missing-topic")
    sender = Sender({**producer_conf(cfg), "message.timeout.ms": 3000}, cfg.topic)
    sender.send_many([(b"k", b"v")] * 20)
    counts = sender.close(15.0)
    assert counts.failed == 20 and counts.delivered == 0 and not counts.ok(), counts


def test_the_benchmark_measures_both_ceilings(kafka: Any, capsys: pytest.CaptureFixture[str]) -> None:
    topic = kafka.new_topic(prefix="bench")
    assert cli.main(["--max-rate", "--bench-seconds", "1", "--brokers", kafka.bootstrap, "--topic", topic,
                     "--start", str(T0), "--speedup", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["pre-encoded", "on"]
    assert all("events/s acknowledged" in line and ", 0 failed" in line for line in lines)


@pytest.fixture(scope="module")
def persona_run(kafka: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """60 simulated shoppers (a tenth declining personalization) through the real job, bounded."""
    cfg = replay_config(kafka, "")
    truth_path = tmp_path_factory.mktemp("sim") / "truth.jsonl"
    counts, _ = simulate(kafka, cfg.events_topic, truth_path, shoppers=60, seed=7, decline_share=0.1)
    assert counts.ok(), counts
    job.run(cfg, job.Stages(IngestConfig(), ENGINE, CacheConfig()))
    triggers = [registry().decode(v, "trigger") for _, v in kafka.consume(cfg.triggers_topic, timeout_s=5)]
    truth = read_truth(truth_path)
    return {"cfg": cfg, "truth": truth, "triggers": triggers, "acc": accuracy(truth, triggers),
            "truth_path": truth_path}


def test_every_persona_is_present(persona_run: dict[str, Any]) -> None:
    truth: list[Truth] = persona_run["truth"]
    personas = collections.Counter(t.persona for t in truth)
    assert set(personas) == {"buyer", "abandoner", "browser", "window", "bot"}, personas
    assert any(t.declined for t in truth)


def test_abandoners_and_repeated_browsers_are_all_found(persona_run: dict[str, Any]) -> None:
    acc: Accuracy = persona_run["acc"]
    assert acc.cells[("abandoner", "abandoned_cart")].recall == 1.0, acc.cells[("abandoner", "abandoned_cart")]
    assert acc.cells[("browser", "repeated_browse_offer")].recall == 1.0
    assert acc.by_type["ui_personalization"].recall == 1.0


def test_buyers_window_shoppers_bots_and_refusers_get_no_forbidden_trigger(persona_run: dict[str, Any]) -> None:
    acc: Accuracy = persona_run["acc"]
    for persona in ("buyer", "window", "bot"):
        score = acc.by_persona[persona]
        assert score.fp == 0 and score.tn > 0, (persona, score)
    assert acc.by_type["abandoned_cart"].precision == 1.0
    assert acc.by_type["repeated_browse_offer"].precision == 1.0
    refusers = {t.user for t in persona_run["truth"] if t.declined}
    assert not [t for t in persona_run["triggers"] if t["user_id"] in refusers]


def test_the_report_cli_reads_the_triggers_topic(persona_run: dict[str, Any],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    cfg = persona_run["cfg"]
    assert report.main(["--truth", str(persona_run["truth_path"]), "--brokers", cfg.bootstrap_servers,
                        "--triggers-topic", cfg.triggers_topic]) == 0
    out = capsys.readouterr().out
    print(out)
    assert f"{len(persona_run['triggers'])} triggers, 60 shoppers" in out
    assert "abandoner/abandoned_cart" in out and "did not decode" not in out


def test_the_report_counts_records_that_do_not_decode(kafka: Any, persona_run: dict[str, Any]) -> None:
    topic = kafka.new_topic(prefix="trig")
    good = registry().encode("trigger", persona_run["triggers"][0])
    kafka.produce(topic, [b"not avro", good, good[:-3]])
    read = report.read_triggers(kafka.bootstrap, topic, timeout_s=20)
    assert read.undecodable == 2 and [t["trigger_id"] for t in read.triggers] == \
        [persona_run["triggers"][0]["trigger_id"]]
