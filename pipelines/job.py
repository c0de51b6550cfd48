"""The streaming job: Kafka events -> clean events, dead letters, triggers and Redis.

  events, profiles, consent, erasure -> decode/validate/normalize
         -> [by device] dedup, lateness, identity (controls pass through)
         -> [by user] trigger engine -> clean events, dead letters, triggers; Redis
                                     -> [by request] erasure acks of every key -> erasure.done

(each [by ...] an exchange by key; at parallelism 1 none: the stages chain into one task)

``build(env, cfg, source, sink)`` wires the operators between a source of raw rows and a sink
of the routed output stream (split among the Kafka topics on the Java side), so tests plug in
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
from pyflink.datastream import DataStream, KeyedStream, StreamExecutionEnvironment
from pyflink.java_gateway import get_gateway

from pipelines.config import JobConfig, load_job_config
from udfs.cache import CacheConfig
from udfs.engine_config import TRIGGERS_ENV_PREFIX, EngineConfig
from udfs.envconfig import from_env
from udfs.ingest_config import IngestConfig
from udfs.operators.engine import EngineFunction
from udfs.operators.erasure import ERASURE_ACKS, ErasureJoinFunction
from udfs.operators.ingest import IdentityDedupFunction, IngestFunction, RecordTimeAssigner
from udfs.operators.rows import ROUTED_OUT

log = logging.getLogger("shoppulse.job")


@dataclass(frozen=True)
class Outputs:
    """The job's outputs as one stream of Row(t: route, k: bytes, v: bytes): ``t`` names the
    output (clean, dlq, triggers or erased, as ``kafka_sink_for`` maps them); k and v are ready
    for Kafka. The Kafka sink splits it on the Java side (``kafka_sink_for``)."""

    routed: DataStream


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


def watermarks(ingest: IngestConfig, assigner: TimestampAssigner) -> WatermarkStrategy:
    return (WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_millis(ingest.out_of_orderness_ms))
            .with_timestamp_assigner(assigner)
            .with_idleness(Duration.of_millis(ingest.idleness_ms)))


def build(env: StreamExecutionEnvironment, cfg: JobConfig, source: DataStream, sink: Sink,
          stages: Stages | None = None, scorer: Any = None, use_model: bool = False,
          source_timed: bool = False) -> Outputs:
    """Wire the job on ``source`` (Row(kind, value, partition, offset); kind event, profile,
    consent or erase) and hand its outputs to ``sink``. A ``source_timed`` source (Kafka) already
    carries timestamps and watermarks; otherwise they are assigned from the decoded records."""
    st = stages or Stages.from_env()
    topics = {"event": cfg.events_topic, "profile": cfg.profiles_topic, "consent": cfg.consent_topic,
              "erase": cfg.erasure_topic}
    # Each Python operator below has one consumer, so PyFlink chains it with the key selector
    # after it: an event crosses between Java and Python three times (decode, dedup, engine).
    # At parallelism 1 the keyed stages are chained too (``keyed``): one task, one thread.
    decoded = source.process(IngestFunction(st.ingest, topics)).name("decode-validate").uid("ingest")
    timed = decoded if source_timed else decoded.assign_timestamps_and_watermarks(
        watermarks(st.ingest, RecordTimeAssigner())).name("time")
    # (kind, device | user key | "", payload): events and device erasures by device, the rest passes
    single = env.get_parallelism() == 1
    identity = (keyed(timed, single).process(IdentityDedupFunction(st.ingest))
                .name("dedup-identity").uid("dedup"))  # (kind, user key, payload)
    engine = EngineFunction(st.engine, st.cache, cfg.redis_url or None, cfg.mode == "live", scorer, use_model)
    routed = (keyed(identity, single).process(engine, output_type=ROUTED_OUT)
              .name("triggers").uid("engine"))  # Row(t: route, k, v)
    acks = routed.get_side_output(ERASURE_ACKS)  # ("ack", request id, ack): one per erased key
    confirmed = (keyed(acks, single).process(ErasureJoinFunction(st.engine.erasure_overdue_ms), output_type=ROUTED_OUT)
                 .name("erasure-confirm").uid("erasure-confirm"))  # Row("erased", user, confirmation)
    outputs = Outputs(routed=routed.union(confirmed))
    sink(outputs)
    return outputs


def _key(value: tuple) -> str:
    return str(value[1])


def keyed(stream: DataStream, single: bool) -> KeyedStream:
    """``stream`` keyed by its records' key. With one subtask every key is already local, so the
    keyed stream is the same records, not exchanged (Flink's ``reinterpretAsKeyedStream``): the
    stages chain into one task, whose one thread runs all the job's Python, instead of three
    threads handing one interpreter lock to each other on every call between Java and Python."""
    by_key = stream.key_by(_key)
    if not single:
        return by_key
    jvm = get_gateway().jvm
    j_keyed = by_key._j_data_stream  # noqa: SLF001 (PyFlink has no reinterpret_as_keyed_stream)
    with_key = jvm.org.apache.flink.streaming.api.datastream.DataStream(
        j_keyed.getExecutionEnvironment(), j_keyed.getTransformation().getInputs().get(0))  # Row(key, value)
    j_local = jvm.org.apache.flink.streaming.api.datastream.DataStreamUtils.reinterpretAsKeyedStream(
        with_key, j_keyed.getKeySelector(), j_keyed.getKeyType())
    return KeyedStream(j_local, by_key._original_data_type_info, stream)  # noqa: SLF001


def kafka_sink_for(t_env: Any, cfg: JobConfig) -> Sink:
    from pipelines.kafka_io import routed_kafka_sinks

    def attach(outputs: Outputs) -> None:
        topics = {"clean": cfg.clean_topic, "dlq": cfg.dlq_topic, "triggers": cfg.triggers_topic,
                  "erased": cfg.erasure_done_topic}
        routed_kafka_sinks(t_env, cfg, outputs.routed, topics)

    return attach


def model_available() -> bool:
    """True when the model registry has a promoted version; else the job runs on rules alone."""
    from pathlib import Path

    from udfs.model_store import current_version
    from udfs.session_scorer import resolved_config

    root = Path(resolved_config().registry)
    found = current_version(root) if root.exists() else None
    if found is None:
        log.warning("no promoted model in %s: triggers run on rules alone (models.registry promote)", root)
        return False
    log.info("scoring sessions with model version %s from %s", found.version, root)
    return True


def run(cfg: JobConfig, stages: Stages | None = None, detached: bool = False, scorer: Any = None) -> Any:
    """Run the job against Kafka as ``cfg`` says; returns when a bounded job has finished, or at
    once with the JobClient when ``detached`` (cancel it to stop the job). ``scorer`` replaces
    the registry's model (tests, custom scorers)."""
    from pipelines.flink_env import create_env
    from pipelines.kafka_io import kafka_sources

    st = stages or Stages.from_env()
    env, t_env = create_env(cfg)
    source = kafka_sources(t_env, cfg, {
        "event": (cfg.events_topic, None), "profile": (cfg.profiles_topic, "earliest"),
        "consent": (cfg.consent_topic, "earliest"), "erase": (cfg.erasure_topic, None)}, st.ingest)
    build(env, cfg, source, kafka_sink_for(t_env, cfg), st, scorer=scorer,
          use_model=scorer is None and model_available(), source_timed=True)
    log.info("running %s (%s mode, %s): %s -> %s", cfg.job_name, cfg.mode, cfg.delivery,
             cfg.events_topic, ", ".join([cfg.triggers_topic, cfg.clean_topic, cfg.dlq_topic]))
    if detached:
        return env.execute_async(cfg.job_name)
    env.execute(cfg.job_name)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bounded", action="store_true", help="stop at the offsets current at start")
    parser.add_argument("--fresh", action="store_true",
                        help="start from empty state, not from the newest checkpoint of an earlier run")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides: dict[str, bool] = {}
    if args.bounded:
        overrides["bounded"] = True
    if args.fresh:
        overrides["resume"] = False
    run(load_job_config(**overrides))
    return 0


if __name__ == "__main__":
    sys.exit(main())
