"""Kafka in and out of the job as raw bytes, through Flink's Kafka SQL connector.

Records stay opaque bytes on the Java side (``raw`` formats) and are decoded by the Python
stage, so a record that is not valid Avro reaches the dead-letter topic with its original
bytes instead of failing the source. Source rows carry partition and offset for the DLQ.

Event time comes from the Kafka record timestamp, which the project's producers set to the
record's own time (``udfs.event_time``): the Kafka source computes watermarks per partition on
the Java side (bounded out-of-orderness; in an unbounded run, idle partitions skipped after
``idleness_ms``), so no Python operator sits on the time path and a quiet partition never
stalls time. (Watermarks
assigned in Python after the SQL-to-DataStream conversion never advanced in PyFlink 2.2.)
"""
from __future__ import annotations

from pyflink.datastream import DataStream
from pyflink.table import DataTypes, Schema, StatementSet, StreamTableEnvironment

from pipelines.config import JobConfig
from udfs.ingest_config import IngestConfig


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def with_clause(options: dict[str, str]) -> str:
    """The body of a SQL ``WITH (...)`` clause for ``options``, every key and value quoted."""
    return ", ".join(f"{_quote(k)} = {_quote(v)}" for k, v in options.items())


def table_name(name: str) -> str:
    """A SQL identifier from a stream name."""
    return name.replace(".", "_").replace("-", "_")


def source_options(cfg: JobConfig, topic: str, startup: str | None = None,
                   ingest: IngestConfig | None = None) -> dict[str, str]:
    modes = {"earliest": "earliest-offset", "latest": "latest-offset", "committed": "group-offsets"}
    opts = {
        "connector": "kafka", "topic": topic, "properties.bootstrap.servers": cfg.bootstrap_servers,
        "properties.group.id": cfg.group_id, "scan.startup.mode": modes[startup or cfg.starting_offsets],
        "properties.auto.offset.reset": "earliest", "value.format": "raw",
        "properties.partition.discovery.interval.ms": "30000",
    }
    if not cfg.bounded:
        # A bounded run reads every partition to its end (an empty one ends at once), so none
        # needs declaring idle; declared idle, a control topic slow to deliver its first records
        # would fall behind the events' watermark and its consents apply after the events.
        opts["scan.watermark.idle-timeout"] = f"{(ingest or IngestConfig()).idleness_ms} ms"
    if cfg.start_timestamp_ms > 0 and startup is None:
        opts["scan.startup.mode"] = "timestamp"
        opts["scan.startup.timestamp-millis"] = str(cfg.start_timestamp_ms)
    if cfg.start_offsets and startup is None and topic == cfg.events_topic:
        opts["scan.startup.mode"] = "specific-offsets"
        opts["scan.startup.specific-offsets"] = cfg.start_offsets
    if cfg.bounded:
        opts["scan.bounded.mode"] = "latest-offset"
    return opts


def _source_table(t_env: StreamTableEnvironment, cfg: JobConfig, topic: str, name: str,
                  startup: str | None, ingest: IngestConfig) -> str:
    table = table_name(name)
    bound = f"{ingest.out_of_orderness_ms / 1000:.3f}"
    t_env.execute_sql(
        f"CREATE TEMPORARY TABLE {table} (`value` BYTES, `partition` INT METADATA VIRTUAL, "
        f"`offset` BIGINT METADATA VIRTUAL, `rowtime` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL, "
        f"WATERMARK FOR `rowtime` AS `rowtime` - INTERVAL '{bound}' SECOND) "
        f"WITH ({with_clause(source_options(cfg, topic, startup, ingest))})"
    )
    return table


def kafka_sources(t_env: StreamTableEnvironment, cfg: JobConfig, topics: dict[str, tuple[str, str | None]],
                  ingest: IngestConfig | None = None) -> DataStream:
    """One DataStream of Row(kind, value: bytes, partition, offset, rowtime) over several topics,
    with record timestamps and watermarks from the Kafka record timestamps.

    ``topics`` maps a kind to (topic, startup override). The topics are united on the Java side
    (SQL UNION ALL), so one Python operator decodes them all: several Python operators on
    separate source threads deadlocked in thread mode."""
    ingest = ingest or IngestConfig()
    selects = []
    for kind, (topic, startup) in topics.items():
        table = _source_table(t_env, cfg, topic, f"{kind}_src", startup, ingest)
        selects.append(f"SELECT '{kind}' AS kind, `value`, `partition`, `offset`, `rowtime` FROM {table}")
    return t_env.to_data_stream(t_env.sql_query(" UNION ALL ".join(selects)))


def sink_options(cfg: JobConfig, topic: str, name: str) -> dict[str, str]:
    opts = {
        "connector": "kafka", "topic": topic, "properties.bootstrap.servers": cfg.bootstrap_servers,
        "key.format": "raw", "key.fields": "k", "value.format": "raw", "value.fields-include": "EXCEPT_KEY",
        "sink.delivery-guarantee": cfg.delivery,
        "properties.linger.ms": "5",
    }
    if cfg.delivery == "exactly-once":
        opts["sink.transactional-id-prefix"] = f"{cfg.job_name}-{name}"
        opts["properties.transaction.timeout.ms"] = str(cfg.transaction_timeout_ms)
    return opts


def sink_table(t_env: StreamTableEnvironment, cfg: JobConfig, topic: str, name: str) -> str:
    """A Kafka sink table (k BYTES, v BYTES) for ``topic``; returns its name."""
    table = table_name(name) + "_sink"
    t_env.execute_sql(
        f"CREATE TEMPORARY TABLE {table} (k BYTES, v BYTES) WITH ({with_clause(sink_options(cfg, topic, name))})"
    )
    return table


def kafka_sink(t_env: StreamTableEnvironment, statements: StatementSet, cfg: JobConfig,
               stream: DataStream, topic: str, name: str) -> None:
    """Write a stream of Row(k: bytes, v: bytes) to ``topic`` (key decides the partition)."""
    table = sink_table(t_env, cfg, topic, name)
    schema = Schema.new_builder().column("k", DataTypes.BYTES()).column("v", DataTypes.BYTES()).build()
    statements.add_insert(table, t_env.from_data_stream(stream, schema))


def routed_kafka_sinks(t_env: StreamTableEnvironment, cfg: JobConfig, stream: DataStream,
                       topics: dict[str, str]) -> None:
    """Write a stream of Row(t: route, k: bytes, v: bytes) to ``topics[t]``: one Java-side filter
    per route in front of each Kafka sink, so no Python operator runs per output."""
    schema = (Schema.new_builder().column("t", DataTypes.STRING()).column("k", DataTypes.BYTES())
              .column("v", DataTypes.BYTES()).build())
    t_env.create_temporary_view("routed_out", t_env.from_data_stream(stream, schema))
    statements = t_env.create_statement_set()
    for route, topic in topics.items():
        table = sink_table(t_env, cfg, topic, route)
        statements.add_insert_sql(f"INSERT INTO {table} SELECT k, v FROM routed_out WHERE t = {_quote(route)}")
    statements.attach_as_datastream()
