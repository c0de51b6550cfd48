"""A measurement of the way to 50,000 events/s, not the job: Python sees each event once, in SQL.

``python -m bench.ingest_paths --kinds sql-front`` drains it next to the passthrough. Flink SQL
keeps the per-event state that the job keeps in Python today, and Python runs once per event,
as a scalar UDF. The job's decisions are not made here; the rows where they could change go to
their own topic, and the run counts them:

- ``sp_front`` (Python scalar UDF, per record): the job's decode, validation and normalization
  (``udfs.ingest.process_raw``), then the clean event's bytes or the dead letter's, a 16-byte
  hash of (device, dedup key), the shopper's key, the event type and the browse category;
- dead letters go to the dead-letter topic;
- dedup in SQL: keep the first row per hash (``ROW_NUMBER`` over processing time, the job's
  "first seen wins"), with ``table.exec.state.ttl`` at the job's dedup TTL. The state holds
  the hash alone, no identifier;
- clean events go to the clean topic (what the drain counts);
- per-shopper counters as ``OVER`` aggregates on event time: views of the category in the
  browse window, and events in the last session gap;
- "decision rows" go to the triggers topic: a cart change, a checkout or a purchase, or the
  product view that brings a category to the browse threshold.

Left out, and still Python in the job: the device-to-user link and the replay at login (state
that must be erasable per key), consent, profiles, the UI hints and the model.
"""
from __future__ import annotations

import functools
import hashlib
from typing import Any

from pyflink.common import Row
from pyflink.table import DataTypes
from pyflink.table.udf import udf

from pipelines.config import JobConfig
from pipelines.kafka_io import sink_table, source_options, with_clause
from udfs.avro_codec import registry
from udfs.clean import encode_clean
from udfs.dedup import dedup_key
from udfs.engine_config import TRIGGERS_ENV_PREFIX, EngineConfig
from udfs.envconfig import from_env
from udfs.ingest import process_raw
from udfs.ingest_config import IngestConfig
from udfs.operators.ingest import now_ms
from udfs.sessionize import category_key

DECISIVE = ("add_to_cart", "remove_from_cart", "checkout_start", "purchase")
FRONT = DataTypes.ROW([DataTypes.FIELD("route", DataTypes.STRING()), DataTypes.FIELD("dkey", DataTypes.BYTES()),
                       DataTypes.FIELD("ukey", DataTypes.STRING()), DataTypes.FIELD("etype", DataTypes.STRING()),
                       DataTypes.FIELD("cat", DataTypes.STRING()), DataTypes.FIELD("out", DataTypes.BYTES())])


@functools.cache
def _configs() -> tuple[IngestConfig, EngineConfig]:
    return from_env(IngestConfig, "SP_INGEST"), from_env(EngineConfig, TRIGGERS_ENV_PREFIX)


def front(value: bytes, partition: int, offset: int) -> Row:
    """(route, dedup hash, shopper key, event type, browse category, clean or dead-letter bytes)."""
    ingest, engine = _configs()
    outcome, record = process_raw(value, ingest, now_ms(), "events", partition, offset)
    if outcome != "event":
        return Row("dlq", None, None, None, None, registry().encode("dead_letter", record))
    device = record["anonymous_id"]
    dkey = hashlib.blake2b(f"{device}\x1f{dedup_key(record)}".encode(), digest_size=16).digest()
    viewed = record.get("product") if record["event_type"] == "product_view" else None
    cat = category_key(viewed.get("category"), engine.browse_category_depth) if viewed else None
    return Row("clean", dkey, record.get("user_id") or device, record["event_type"], cat, encode_clean(record))


def interval(ms: int) -> str:
    """A SQL interval literal for ``ms`` in the largest unit that divides it (Flink plans the
    default field precision only, two digits)."""
    for unit, size in (("DAY", 86_400_000), ("HOUR", 3_600_000), ("MINUTE", 60_000), ("SECOND", 1000)):
        if ms % size == 0 and ms // size < 100:
            return f"INTERVAL '{ms // size}' {unit}"
    raise ValueError(f"no two-digit SQL interval for {ms} ms")


def sql_front(t_env: Any, cfg: JobConfig, out_topic: str, counters: bool = True) -> Any:
    """Kafka -> sp_front -> dead letters | SQL dedup -> clean events, OVER counters -> decision rows
    (a statement set; ``execute()`` runs it)."""
    ingest, engine = _configs()
    t_env.get_config().set("table.exec.state.ttl", f"{ingest.dedup_ttl_ms} ms")
    bound = f"{ingest.out_of_orderness_ms / 1000:.3f}"
    t_env.execute_sql(
        f"CREATE TEMPORARY TABLE event_src (`value` BYTES, `partition` INT METADATA VIRTUAL, "
        f"`offset` BIGINT METADATA VIRTUAL, `rowtime` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL, "
        f"pt AS PROCTIME(), WATERMARK FOR `rowtime` AS `rowtime` - INTERVAL '{bound}' SECOND) "
        f"WITH ({with_clause(source_options(cfg, cfg.events_topic))})")
    t_env.create_temporary_function("sp_front", udf(front, result_type=FRONT))
    t_env.create_temporary_view("fronted", t_env.sql_query(
        "SELECT sp_front(`value`, `partition`, `offset`) AS r, `rowtime`, pt FROM event_src"))
    t_env.create_temporary_view("deduped", t_env.sql_query(
        "SELECT ukey, etype, cat, `out`, `rowtime` FROM (SELECT r.dkey AS dkey, r.ukey AS ukey, r.etype AS etype, "
        "r.cat AS cat, r.`out` AS `out`, `rowtime`, ROW_NUMBER() OVER (PARTITION BY r.dkey ORDER BY pt) AS rn "
        "FROM fronted WHERE r.route = 'clean') WHERE rn = 1"))  # (ukey, etype, cat, out, rowtime)
    statements = t_env.create_statement_set()
    dlq, clean = sink_table(t_env, cfg, cfg.dlq_topic, "dlq"), sink_table(t_env, cfg, out_topic, "clean")
    statements.add_insert_sql(f"INSERT INTO {dlq} SELECT CAST(x'' AS BYTES), r.`out` FROM fronted "
                              "WHERE r.route = 'dlq'")
    statements.add_insert_sql(f"INSERT INTO {clean} SELECT CAST(ukey AS BYTES), `out` FROM deduped")
    if counters:
        _decisions(t_env, cfg, engine, statements)
    return statements


def _decisions(t_env: Any, cfg: JobConfig, engine: EngineConfig, statements: Any) -> None:
    """Per-shopper OVER counters on the deduplicated events; the decision rows to the triggers topic."""
    t_env.create_temporary_view("sessioned", t_env.sql_query(
        f"SELECT ukey, etype, cat, `rowtime`, COUNT(*) OVER (PARTITION BY ukey ORDER BY `rowtime` "
        f"RANGE BETWEEN {interval(engine.session_gap_ms)} PRECEDING AND CURRENT ROW) AS recent FROM deduped"))
    t_env.create_temporary_view("counted", t_env.sql_query(
        f"SELECT ukey, etype, cat, recent, COUNT(cat) OVER (PARTITION BY ukey, cat ORDER BY `rowtime` "
        f"RANGE BETWEEN {interval(engine.browse_window_ms)} PRECEDING AND CURRENT ROW) "
        # the cast keeps the two OVER aggregates' outputs apart (stacked, the planner named both w0$o0)
        f"AS cat_views FROM (SELECT ukey, etype, cat, `rowtime`, CAST(recent AS INT) AS recent FROM sessioned)"))
    # (ukey, etype, cat, recent, cat_views)
    decisions = sink_table(t_env, cfg, cfg.triggers_topic, "decisions")
    decisive = ", ".join(f"'{t}'" for t in DECISIVE)
    statements.add_insert_sql(
        f"INSERT INTO {decisions} SELECT CAST(ukey AS BYTES), CAST(CONCAT(etype, '|', COALESCE(cat, ''), '|', "
        f"CAST(cat_views AS STRING), '|', CAST(recent AS STRING)) AS BYTES) FROM counted "
        f"WHERE etype IN ({decisive}) OR (etype = 'product_view' AND cat_views = {engine.browse_views})")
