"""The row types that cross between Flink's Java side and the Python operators.

``RAW_IN`` is what the Kafka sources deliver (one row per record of any input topic) and
``KEYED_OUT`` what a Kafka sink takes (key and value bytes).
The job's last Python operator emits all of its outputs as one stream of ``ROUTED_OUT``
(``routed``: the output's name, key and value), which Flink SQL splits among the sinks on the
Java side, so no Python operator per output sits on the path of every record.
"""
from __future__ import annotations

from pyflink.common import Row
from pyflink.common.typeinfo import Types

RAW_IN = Types.ROW_NAMED(["kind", "value", "partition", "offset"],
                         [Types.STRING(), Types.PRIMITIVE_ARRAY(Types.BYTE()), Types.INT(), Types.LONG()])
KEYED_OUT = Types.ROW_NAMED(["k", "v"], [Types.PRIMITIVE_ARRAY(Types.BYTE()), Types.PRIMITIVE_ARRAY(Types.BYTE())])

ROUTED_OUT = Types.ROW_NAMED(["t", "k", "v"], [Types.STRING(), Types.PRIMITIVE_ARRAY(Types.BYTE()),
                                               Types.PRIMITIVE_ARRAY(Types.BYTE())])


def routed(route: str, key: str | None, value: bytes) -> Row:
    """An output record for the sink named ``route``: clean, dlq, triggers or erased."""
    return Row(t=route, k=(key or "").encode("utf-8"), v=value)
