"""The streaming job: Kafka events -> decode, validate, normalize -> dedup -> clean events.

``build(env, cfg, source, sink)`` wires the operators between a source of raw rows and a sink
of named output streams, so tests plug in ``from_collection`` / ``execute_and_collect`` and
production plugs in Kafka (``main``). Every operator has a name and a stable uid so savepoints
survive upgrades.
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

from pyflink.common import Duration, WatermarkStrategy
from pyflink.datastream import DataStream, StreamExecutionEnvironment

from pipelines.config import JobConfig, load_job_config
from pipelines.kafka_io import KEYED_OUT, keyed
from udfs.avro_codec import registry
from udfs.envconfig import from_env
from udfs.ingest_config import IngestConfig
from udfs.operators.ingest import DLQ, DedupFunction, EventTimeAssigner, IngestFunction, user_key

log = logging.getLogger("shoppulse.job")


@dataclass(frozen=True)
class Outputs:
    """Named output streams of the job, each of Row(k: bytes, v: bytes) ready for Kafka."""

    clean: DataStream
    dlq: DataStream


Sink = Callable[[Outputs], None]


def watermarks(ingest: IngestConfig) -> WatermarkStrategy:
    return (WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_millis(ingest.out_of_orderness_ms))
            .with_timestamp_assigner(EventTimeAssigner())
            .with_idleness(Duration.of_millis(ingest.idleness_ms)))


def encode_clean(event: dict) -> object:
    return keyed(user_key(event), registry().encode("behavior_event", event))


def build(env: StreamExecutionEnvironment, cfg: JobConfig, source: DataStream, sink: Sink,
          ingest: IngestConfig | None = None) -> Outputs:
    """Wire the job on ``source`` (Row(value, partition, offset)) and hand its outputs to ``sink``."""
    ingest = ingest or from_env(IngestConfig, "SP_INGEST")
    decoded = (source.process(IngestFunction(ingest, cfg.events_topic))
               .name("decode-validate-normalize").uid("ingest"))  # event dicts
    timed = decoded.assign_timestamps_and_watermarks(watermarks(ingest)).name("event-time").uid("watermarks")
    deduped = (timed.key_by(user_key).process(DedupFunction(ingest))
               .name("dedup-late").uid("dedup"))  # event dicts, once each, on time
    clean = deduped.map(encode_clean, output_type=KEYED_OUT).name("encode-clean")
    dlq = decoded.get_side_output(DLQ).union(deduped.get_side_output(DLQ))
    outputs = Outputs(clean=clean, dlq=dlq)
    sink(outputs)
    return outputs


def kafka_sink_for(t_env, cfg: JobConfig) -> Sink:  # type: ignore[no-untyped-def]
    from pipelines.kafka_io import kafka_sink

    def attach(outputs: Outputs) -> None:
        statements = t_env.create_statement_set()
        kafka_sink(t_env, statements, cfg, outputs.clean, cfg.clean_topic, "clean")
        kafka_sink(t_env, statements, cfg, outputs.dlq, cfg.dlq_topic, "dlq")
        statements.attach_as_datastream()

    return attach


def run(cfg: JobConfig) -> None:
    """Run the job against Kafka as ``cfg`` says; returns when a bounded job has finished."""
    from pipelines.flink_env import create_env
    from pipelines.kafka_io import kafka_source

    env, t_env = create_env(cfg)
    source = kafka_source(t_env, cfg, cfg.events_topic, "events")
    build(env, cfg, source, kafka_sink_for(t_env, cfg))
    log.info("running %s: %s -> %s, %s", cfg.job_name, cfg.events_topic, cfg.clean_topic, cfg.dlq_topic)
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
