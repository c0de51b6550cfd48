"""The row types that cross between Flink's Java side and the Python operators.

``RAW_IN`` is what the Kafka sources deliver (one row per record of any input topic) and
``KEYED_OUT`` what the Kafka sinks take (key and value bytes); ``keyed`` builds one output row.
"""
from __future__ import annotations

from pyflink.common import Row
from pyflink.common.typeinfo import Types

RAW_IN = Types.ROW_NAMED(["kind", "value", "partition", "offset"],
                         [Types.STRING(), Types.PRIMITIVE_ARRAY(Types.BYTE()), Types.INT(), Types.LONG()])
KEYED_OUT = Types.ROW_NAMED(["k", "v"], [Types.PRIMITIVE_ARRAY(Types.BYTE()), Types.PRIMITIVE_ARRAY(Types.BYTE())])


def keyed(key: str | None, value: bytes) -> Row:
    """An output record for the Kafka sinks: the key decides the partition."""
    return Row(k=(key or "").encode("utf-8"), v=value)
