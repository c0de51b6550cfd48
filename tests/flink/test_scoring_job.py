"""The ONNX scorer inside the job on the mini-cluster (parallelism 2): scores, versions, hot reload.

The registry lives in a temporary directory with tiny exported models (``model_testkit``); the job
gets an ``OnnxSessionScorer`` on it (``build(..., scorer, use_model=True)``), which every engine
subtask unpickles and opens. The hot-reload test holds the source at a gate row until the test,
reading triggers as they come out, has promoted the next version: every decision after the gate is
then taken after the promotion, which makes the expected versions exact, not a matter of timing.
The workers import this module to unpickle ``Gate``: torch and the registry's write side are
imported inside functions here, so they stay out of the workers.
"""
from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pyflink.datastream import MapFunction

from pipelines import job
from pipelines.config import JobConfig
from tests.flink.conftest import control_rows, raw_rows
from tests.integration.journeys import history
from udfs.avro_codec import registry
from udfs.journey import Journey
from udfs.operators.rows import RAW_IN
from udfs.replay import replay
from udfs.session_scorer import OnnxSessionScorer, ScorerConfig
from udfs.triggers import TriggerEngine

pytestmark = pytest.mark.flink
T0 = 1_767_261_600_000  # 2026-01-01T10:00:00Z, outside quiet hours in UTC
HOUR = 3_600_000


@pytest.fixture(scope="module")
def registry_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry with v0001 (promoted) and v0002, two different tiny models."""
    from tests.unit.model_testkit import export_random_model, new_registry

    base = tmp_path_factory.mktemp("models")
    reg = new_registry(base / "registry")
    reg.register(export_random_model(base / "a", seed=1), note="first")
    reg.register(export_random_model(base / "b", seed=2, n_items=60), note="second")
    reg.promote("v0001")
    return reg.root


def model_scorer(root: Path, reload_seconds: float) -> OnnxSessionScorer:
    return OnnxSessionScorer(ScorerConfig(registry=str(root), reload_seconds=reload_seconds,
                                          cache_dir=str(root / ".cache")))


def trigger_stream(cfg: JobConfig, rows: list[Any], scorer: OnnxSessionScorer,
                   gate: MapFunction | None = None) -> Any:
    """The job's trigger output (encoded values) over ``rows``, scored by ``scorer``."""
    from pipelines.flink_env import create_env

    env, _ = create_env(cfg)
    source = env.from_collection(rows, type_info=RAW_IN)
    if gate is not None:
        source = source.map(gate, output_type=RAW_IN).set_parallelism(1)
    found: dict[str, Any] = {}

    def sink(outputs: job.Outputs) -> None:
        found["triggers"] = outputs.routed.filter(lambda r: r[0] == "triggers").map(lambda r: bytes(r[2]))

    job.build(env, cfg, source, sink, job.Stages.from_env(), scorer=scorer, use_model=True)
    return found["triggers"]


def collect(stream: Any, each: Callable[[dict], None] = lambda t: None) -> Iterator[dict]:
    """Decoded triggers as they leave the job; ``each`` sees every one as it arrives."""
    with stream.execute_and_collect() as results:
        for value in results:
            trigger = registry().decode(value, "trigger")
            each(trigger)
            yield trigger


def comparable(triggers: list[dict]) -> list[str]:
    """Triggers after an Avro round trip, without emitted_at (wall clock), in a stable order."""
    reg = registry()
    wire = [reg.decode(reg.encode("trigger", t), "trigger") for t in triggers]
    return sorted(json.dumps({k: v for k, v in t.items() if k != "emitted_at"}, sort_keys=True) for t in wire)


def test_triggers_carry_the_promoted_version_and_its_onnx_scores(job_config: JobConfig, registry_root: Path) -> None:
    engine_cfg = job.Stages.from_env().engine
    events, consents, _ = history(T0, engine_cfg)
    rows = control_rows("consent", consents) + raw_rows(registry().encode("behavior_event", e) for e in events)
    out = list(collect(trigger_stream(job_config, rows, model_scorer(registry_root, 3600.0))))
    assert out and {t["model_version"] for t in out} == {"v0001"}
    assert all(set(t["scores"]) >= {"purchase_intent", "abandonment_risk"} for t in out)
    vocabulary = {f"p{i}" for i in range(40)}  # the v0001 model's items; the journeys' items are others
    recommended = [i for t in out for i in t.get("recommended_items") or []]
    assert recommended and set(recommended) <= vocabulary
    pure = replay(events, TriggerEngine(engine_cfg), model_scorer(registry_root, 3600.0), consents=consents)
    assert comparable(out) == comparable(pure.triggers), "the job scores as the pure replay does, to the bit"
    rules_only = replay(events, TriggerEngine(engine_cfg), consents=consents)
    assert comparable(rules_only.triggers) != comparable(pure.triggers)


class Gate(MapFunction):
    """Holds the row at ``offset`` until the file ``flag`` exists (at most ``timeout_s``)."""

    def __init__(self, offset: int, flag: str, timeout_s: float = 120.0) -> None:
        self.offset, self.flag, self.timeout_s = offset, flag, timeout_s

    def map(self, value: Any) -> Any:
        if value.offset == self.offset:
            deadline = time.monotonic() + self.timeout_s
            while not Path(self.flag).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        return value


def shoppers(prefix: str, start_ms: int, n: int = 3) -> list[dict]:
    """``n`` consenting shoppers who view two products and leave one in the cart."""
    events = []
    for i in range(n):
        j = Journey(user_id=f"u_{prefix}{i}", anonymous_id=f"anon-{prefix}{i}", session_id=f"s-{prefix}{i}",
                    start_ms=start_ms + i * 1_000, personalization=True)
        j.view(f"q{i}", "shoes/running", 80.0).view(f"q{i + 1}", "shoes/running", 90.0)
        events += j.add(f"q{i}", "shoes/running", 80.0).events
    return sorted(events, key=lambda e: e["event_time"])


def test_a_version_promoted_mid_stream_is_picked_up_without_a_restart(job_config: JobConfig, registry_root: Path,
                                                                      tmp_path: Path) -> None:
    before, after = shoppers("before", T0), shoppers("after", T0 + HOUR)
    rows = raw_rows(registry().encode("behavior_event", e) for e in before + after)
    flag, waiting = tmp_path / "promoted", {e["user_id"] for e in before}
    seen_before: list[dict] = []

    def promote_once_phase_one_is_out(trigger: dict) -> None:
        if flag.exists():
            return
        seen_before.append(trigger)
        waiting.discard(trigger["user_id"])
        if not waiting:  # every first-phase shopper has had a trigger: switch the alias, open the gate
            promote(registry_root, "v0002")
            flag.touch()

    cfg = dataclasses.replace(job_config, mode="live")
    try:
        out = list(collect(trigger_stream(cfg, rows, model_scorer(registry_root, 0.0), Gate(len(before), str(flag))),
                           promote_once_phase_one_is_out))
    finally:
        promote(registry_root, "v0001")
    assert flag.exists() and {t["model_version"] for t in seen_before} == {"v0001"}
    later = [t for t in out if t["user_id"].startswith("u_after")]
    assert {t["user_id"] for t in later} == {e["user_id"] for e in after}
    assert {t["model_version"] for t in later} == {"v0002"}
    carts = [t for t in out if t["trigger_type"] == "abandoned_cart" and t["user_id"].startswith("u_before")]
    assert len(carts) == 3 and {t["model_version"] for t in carts} == {"v0002"}, "timers after the switch score anew"
    assert all(t["scores"]["purchase_intent"] not in (0.0, 0.5) for t in out)


def promote(root: Path, version: str) -> None:
    """Promote ``version`` in the registry at ``root``, as an operator would while the job runs."""
    from models.registry import ModelRegistry

    ModelRegistry(root).promote(version)
