"""The streaming job: Kafka events -> clean events, dead letters, triggers and Redis.

  events -> decode/validate/normalize -> watermarks -> [by device] dedup, lateness, identity
         -> [by user] trigger engine (+ profiles, consent, erasure) -> triggers, Redis, erasure.done

``build(env, cfg, source, sink, controls)`` wires the operators between a source of raw rows,
an optional stream of control records and a sink of named outputs, so tests plug in
``from_collection`` / ``execute_and_collect`` and production plugs in Kafka (``run``). Stateful
operators have stable uids so savepoints survive upgrades.
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyflink.common import Duration, WatermarkStrategy
from pyflink.common.watermark_strategy import TimestampAssigner
from pyflink.datastream import DataStream, StreamExecutionEnvironment

from pipelines.config import JobConfig, load_job_config
from pipelines.controls import control_time, erase_devices, fan_out_erasure
from pipelines.kafka_io import KEYED_OUT, keyed
from udfs.avro_codec import registry
from udfs.cache import CacheConfig
from udfs.engine_config import TRIGGERS_ENV_PREFIX, EngineConfig
from udfs.envconfig import from_env
from udfs.ingest_config import IngestConfig
from udfs.operators.engine import ERASED, EngineFunction
from udfs.operators.ingest import DLQ, EventTimeAssigner, IdentityDedupFunction, IngestFunction

log = logging.getLogger("shoppulse.job")


@dataclass(frozen=True)
class Outputs:
    """Named output streams of the job, each of Row(k: bytes, v: bytes) ready for Kafka."""

    clean: DataStream
    dlq: DataStream
    triggers: DataStream
    erased: DataStream


Sink = Callable[[Outputs], None]


@dataclass(frozen=True)
class Stages:
    """Configuration of the stages (each from its own SP_* environment prefix by default)."""

    ingest: IngestConfig
    engine: EngineConfig
    cache: CacheConfig

    @staticmethod
    def from_env() -> Stages:
        return Stages(from_env(IngestConfig, "SP_INGEST"), from_env(EngineConfig, TRIGGERS_ENV_PREFIX),
                      from_env(CacheConfig, "SP_CACHE"))


class ControlTimeAssigner(TimestampAssigner):
    def extract_timestamp(self, value: Any, record_timestamp: int) -> int:
        return control_time(value)


def watermarks(ingest: IngestConfig, assigner: TimestampAssigner) -> WatermarkStrategy:
    return (WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_millis(ingest.out_of_orderness_ms))
            .with_timestamp_assigner(assigner)
            .with_idleness(Duration.of_millis(ingest.idleness_ms)))


def encode_clean(value: tuple) -> Any:
    return keyed(value[1], registry().encode("behavior_event", value[2]))


def build(env: StreamExecutionEnvironment, cfg: JobConfig, source: DataStream, sink: Sink,
          controls: DataStream | None = None, stages: Stages | None = None, scorer: Any = None) -> Outputs:
    """Wire the job on ``source`` (Row(value, partition, offset)) and ``controls`` ((kind, record)
    for profile / consent / erase) and hand its outputs to ``sink``."""
    st = stages or Stages.from_env()
    decoded = source.process(IngestFunction(st.ingest, cfg.events_topic)).name("decode-validate").uid("ingest")
    events = (decoded.assign_timestamps_and_watermarks(watermarks(st.ingest, EventTimeAssigner()))
              .name("event-time").map(lambda e: ("event", e["anonymous_id"], e)))  # (kind, device, event)
    if controls is None:
        controls = env.from_collection([("consent", {"user_id": "", "updated_at": 0})]).filter(lambda v: False)
    timed = controls.assign_timestamps_and_watermarks(watermarks(st.ingest, ControlTimeAssigner())).name("control-time")
    devices = events.union(timed.flat_map(erase_devices))
    identity = (devices.key_by(lambda v: v[1]).process(IdentityDedupFunction(st.ingest))
                .name("dedup-identity").uid("dedup"))  # (event | replay | handoff, key, payload)
    clean = identity.filter(lambda v: v[0] == "event").map(encode_clean, output_type=KEYED_OUT).name("encode-clean")
    engine_in = identity.union(timed.flat_map(fan_out_erasure))  # (kind, user key, payload)
    engine = EngineFunction(st.engine, st.cache, cfg.redis_url or None, cfg.mode == "live", scorer)
    triggers = engine_in.key_by(lambda v: v[1]).process(engine, output_type=KEYED_OUT).name("triggers").uid("engine")
    dlq = decoded.get_side_output(DLQ).union(identity.get_side_output(DLQ))
    outputs = Outputs(clean=clean, dlq=dlq, triggers=triggers, erased=triggers.get_side_output(ERASED))
    sink(outputs)
    return outputs


def kafka_sink_for(t_env: Any, cfg: JobConfig, extra_dlq: DataStream | None = None) -> Sink:
    from pipelines.kafka_io import kafka_sink

    def attach(outputs: Outputs) -> None:
        statements = t_env.create_statement_set()
        dlq = outputs.dlq.union(extra_dlq) if extra_dlq is not None else outputs.dlq
        for stream, topic, name in ((outputs.clean, cfg.clean_topic, "clean"), (dlq, cfg.dlq_topic, "dlq"),
                                    (outputs.triggers, cfg.triggers_topic, "triggers"),
                                    (outputs.erased, cfg.erasure_done_topic, "erased")):
            kafka_sink(t_env, statements, cfg, stream, topic, name)
        statements.attach_as_datastream()

    return attach


def default_scorer() -> Any:
    """The ONNX scorer over the model registry (rules alone, and a log line, when it is empty)."""
    from udfs.session_scorer import OnnxSessionScorer

    return OnnxSessionScorer()


def run(cfg: JobConfig, stages: Stages | None = None) -> None:
    """Run the job against Kafka as ``cfg`` says; returns when a bounded job has finished."""
    from pipelines.controls import kafka_controls
    from pipelines.flink_env import create_env
    from pipelines.kafka_io import kafka_source

    st = stages or Stages.from_env()
    env, t_env = create_env(cfg)
    source = kafka_source(t_env, cfg, cfg.events_topic, "events")
    controls, control_dlq = kafka_controls(t_env, cfg, st.ingest)
    build(env, cfg, source, kafka_sink_for(t_env, cfg, control_dlq), controls, st, default_scorer())
    log.info("running %s (%s mode, %s): %s -> %s", cfg.job_name, cfg.mode, cfg.delivery,
             cfg.events_topic, ", ".join([cfg.triggers_topic, cfg.clean_topic, cfg.dlq_topic]))
    env.execute(cfg.job_name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bounded", action="store_true", help="stop at the offsets current at start")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run(load_job_config(**({"bounded": True} if args.bounded else {})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
