"""The Flink jobs under measurement, each run in its own process (and JVM) by the bench.

    python -m bench.flinkjob SPEC.json

SPEC: {"kind": "job" | "passthrough-python" | "passthrough-python-keyed"
| "passthrough-java" | "passthrough-udf" | "passthrough-python-state" | "ingest-datastream"
| "ingest-udf" | "sql-front-dedup" | "sql-front", "config": JobConfig fields,
"out_topic": passthrough target, "rest_port": N, "chaining": bool, "model": export dir or "",
"engine": EngineConfig overrides, "ingest": IngestConfig overrides}.

Every job gets exactly the real job's environment (``pipelines.flink_env.flink_configuration``:
thread mode, the job's interpreter, managed memory fraction, checkpointing) plus a fixed REST
port for metrics. ``job`` is ``pipelines.job.build`` on the Kafka sources and sinks that
``pipelines.job.run`` uses. The passthroughs read the same topic through the same Kafka source
(``pipelines.kafka_io.kafka_sources``) and write each record's bytes unchanged to another topic
through the same sink: ``passthrough-python`` through one Python map (the least any PyFlink
DataStream job pays), ``passthrough-python-keyed`` through two Python maps with a Python key
selector between them (the plumbing of one keyed stage of the job, without its work), and
``passthrough-java`` in Flink SQL alone (no Python). ``passthrough-udf`` copies through a Table
API scalar Python UDF in SQL; ``ingest-datastream`` and ``ingest-udf`` run the job's decode,
validation, normalization and clean-event encoding (``bench.ingest_paths.ingest_bytes``) as a
DataStream map and as a scalar UDF (``python -m bench.ingest_paths``); ``passthrough-python-state``
copies through one keyed stage that reads and writes a value state per record, keyed as the job
keys. ``sql-front`` and ``sql-front-dedup`` are the SQL front of ``bench.sqlfront`` with and
without its per-shopper counters.
"""
from __future__ import annotations

import json
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from pyflink.common import Row
from pyflink.common.typeinfo import Types
from pyflink.datastream import KeyedProcessFunction, RuntimeContext, StreamExecutionEnvironment
from pyflink.datastream.state import ValueStateDescriptor

from pipelines import flink_env
from pipelines.config import JobConfig, load_job_config
from pipelines.kafka_io import kafka_sink, kafka_sources, sink_options, source_options, table_name, with_clause
from udfs.operators.rows import KEYED_OUT


def create_env(cfg: JobConfig, rest_port: int, chaining: bool,
               execution_mode: str = "") -> tuple[StreamExecutionEnvironment, Any]:
    """``pipelines.flink_env.create_env`` with a known REST port (chaining optionally off, and
    optionally another Python execution mode than the job's thread mode)."""
    overrides = {"rest.bind-port": str(rest_port), "rest.port": str(rest_port),
                 "pipeline.operator-chaining.enabled": "true" if chaining else "false"}
    if execution_mode:
        overrides["python.execution-mode"] = execution_mode
    return flink_env.create_env(cfg, overrides)


def identity(row: Row) -> Row:
    return Row(k=b"", v=bytes(row[1]))


def events_source(t_env: Any, cfg: JobConfig) -> Any:
    """The events topic through the job's Kafka source: Row(kind, value, partition, offset, rowtime)."""
    return kafka_sources(t_env, cfg, {"event": (cfg.events_topic, None)})


def to_copy_topic(t_env: Any, cfg: JobConfig, stream: Any, out_topic: str) -> None:
    """``stream`` of Row(k, v) into ``out_topic`` through the job's Kafka sink."""
    statements = t_env.create_statement_set()
    kafka_sink(t_env, statements, cfg, stream, out_topic, "copy")
    statements.attach_as_datastream()


def passthrough_python(env: Any, t_env: Any, cfg: JobConfig, out_topic: str) -> None:
    source = events_source(t_env, cfg)
    to_copy_topic(t_env, cfg, source.map(identity, output_type=KEYED_OUT).name("identity"), out_topic)


def passthrough_python_keyed(env: Any, t_env: Any, cfg: JobConfig, out_topic: str) -> None:
    """Two Python operators with a Python key selector between them: one keyed stage's plumbing."""
    pairs = events_source(t_env, cfg).map(key_and_value).name("pair")
    copied = pairs.key_by(first).map(second_as_row, output_type=KEYED_OUT).name("keyed-identity")
    to_copy_topic(t_env, cfg, copied, out_topic)


class CountPerKey(KeyedProcessFunction):
    """Reads and writes one value state per record, as each keyed stage of the job does."""

    def open(self, runtime_context: RuntimeContext) -> None:
        self.seen = runtime_context.get_state(ValueStateDescriptor("seen", Types.LONG()))

    def process_element(self, value: tuple[bytes, bytes], ctx: KeyedProcessFunction.Context) -> Any:
        self.seen.update((self.seen.value() or 0) + 1)
        yield Row(k=b"", v=value[1])


def passthrough_python_state(env: Any, t_env: Any, cfg: JobConfig, out_topic: str) -> None:
    """One keyed stage with per-key state, keyed as the job keys (``pipelines.job.keyed``: at
    parallelism 1 reinterpreted, not exchanged, so it chains with the map before it)."""
    from pipelines.job import keyed

    pairs = events_source(t_env, cfg).map(key_and_value).name("pair")
    single = env.get_parallelism() == 1
    copied = keyed(pairs, single).process(CountPerKey(), output_type=KEYED_OUT).name("keyed-state")
    to_copy_topic(t_env, cfg, copied, out_topic)


def key_and_value(row: Row) -> tuple[bytes, bytes]:
    value = bytes(row[1])
    return value[-12:], value


def first(pair: tuple[bytes, bytes]) -> bytes:
    return pair[0]


def second_as_row(pair: tuple[bytes, bytes]) -> Row:
    return Row(k=b"", v=pair[1])


def passthrough_java(t_env: Any, cfg: JobConfig, out_topic: str) -> Any:
    src, dst = table_name("event_src"), table_name("copy_sink")
    source = with_clause(source_options(cfg, cfg.events_topic))
    t_env.execute_sql(f"CREATE TEMPORARY TABLE {src} (`value` BYTES) WITH ({source})")
    sink = dict(sink_options(cfg, out_topic, "copy"), **{"key.fields": "k"})
    t_env.execute_sql(f"CREATE TEMPORARY TABLE {dst} (k BYTES, v BYTES) WITH ({with_clause(sink)})")
    return t_env.execute_sql(f"INSERT INTO {dst} SELECT CAST(x'' AS BYTES), `value` FROM {src}")


def ingest_map(row: Row) -> Row:
    from bench.ingest_paths import ingest_bytes

    return Row(k=b"", v=ingest_bytes(bytes(row[1]), row[2], row[3])[1])


def ingest_datastream(env: Any, t_env: Any, cfg: JobConfig, out_topic: str) -> None:
    source = events_source(t_env, cfg)
    to_copy_topic(t_env, cfg, source.map(ingest_map, output_type=KEYED_OUT).name("ingest"), out_topic)


def copy_value(value: bytes, partition: int, offset: int) -> bytes:
    return value


def ingest_value(value: bytes, partition: int, offset: int) -> bytes:
    from bench.ingest_paths import ingest_bytes

    return ingest_bytes(value, partition, offset)[1]


def udf_job(t_env: Any, cfg: JobConfig, out_topic: str, fn: Any) -> Any:
    """Kafka -> one scalar Python UDF over (value, partition, offset) in SQL -> Kafka."""
    from pyflink.table import DataTypes
    from pyflink.table.udf import udf

    src, dst = table_name("event_src"), table_name("copy_sink")
    source = with_clause(source_options(cfg, cfg.events_topic))
    t_env.execute_sql(f"CREATE TEMPORARY TABLE {src} (`value` BYTES, `partition` INT METADATA VIRTUAL, "
                      f"`offset` BIGINT METADATA VIRTUAL) WITH ({source})")
    sink = dict(sink_options(cfg, out_topic, "copy"), **{"key.fields": "k"})
    t_env.execute_sql(f"CREATE TEMPORARY TABLE {dst} (k BYTES, v BYTES) WITH ({with_clause(sink)})")
    t_env.create_temporary_function("sp_fn", udf(fn, result_type=DataTypes.BYTES()))
    return t_env.execute_sql(f"INSERT INTO {dst} SELECT CAST(x'' AS BYTES), sp_fn(`value`, `partition`, `offset`) "
                             f"FROM {src}")


def whole_job(env: Any, t_env: Any, cfg: JobConfig, spec: dict[str, Any]) -> None:
    from bench.scorer import DirScorer
    from pipelines.job import Stages, build, kafka_sink_for

    st = Stages.from_env()
    st = replace(st, engine=replace(st.engine, **spec.get("engine", {})),
                 ingest=replace(st.ingest, **spec.get("ingest", {})))
    source = kafka_sources(t_env, cfg, {
        "event": (cfg.events_topic, None), "profile": (cfg.profiles_topic, "earliest"),
        "consent": (cfg.consent_topic, "earliest"), "erase": (cfg.erasure_topic, None)}, st.ingest)
    scorer = DirScorer(spec["model"]) if spec.get("model") else None
    build(env, cfg, source, kafka_sink_for(t_env, cfg), st, scorer=scorer, use_model=scorer is not None,
          source_timed=True)


UDFS = {"passthrough-udf": copy_value, "ingest-udf": ingest_value}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING)
    spec = json.loads(Path((argv or sys.argv[1:])[0]).read_text())
    cfg = load_job_config(**spec["config"])
    env, t_env = create_env(cfg, spec["rest_port"], spec.get("chaining", True), spec.get("execution_mode", ""))
    kind = spec["kind"]
    if kind == "passthrough-java":
        passthrough_java(t_env, cfg, spec["out_topic"]).wait()
        return 0
    if kind in UDFS:
        udf_job(t_env, cfg, spec["out_topic"], UDFS[kind]).wait()
        return 0
    if kind in ("sql-front", "sql-front-dedup"):
        from bench.sqlfront import sql_front

        sql_front(t_env, cfg, spec["out_topic"], counters=kind == "sql-front").execute().wait()
        return 0
    if kind == "passthrough-python":
        passthrough_python(env, t_env, cfg, spec["out_topic"])
    elif kind == "passthrough-python-state":
        passthrough_python_state(env, t_env, cfg, spec["out_topic"])
    elif kind == "ingest-datastream":
        ingest_datastream(env, t_env, cfg, spec["out_topic"])
    elif kind == "passthrough-python-keyed":
        passthrough_python_keyed(env, t_env, cfg, spec["out_topic"])
    else:
        whole_job(env, t_env, cfg, spec)
    env.execute(cfg.job_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
