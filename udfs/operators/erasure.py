"""The erasure join: one confirmation per request, once every key it names has been erased.

Input, keyed by request id: ("ack", request id, ack) from the per-user stage's side output
``ERASURE_ACKS`` (``udfs.erasure_acks``), one per erased key. Output: the confirmation as a
routed row (``erased``) once the last key has acknowledged. Erasures are rare, so this stage
sees almost nothing; it keeps a request's acks in keyed state until the request is complete.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pyflink.common.typeinfo import Types
from pyflink.datastream import KeyedProcessFunction, OutputTag, RuntimeContext
from pyflink.datastream.state import ValueStateDescriptor

from udfs.erasure_acks import Pending, add_ack
from udfs.operators.rows import routed

ERASURE_ACKS = OutputTag("erasure-acks", Types.PICKLED_BYTE_ARRAY())


class ErasureJoinFunction(KeyedProcessFunction):
    def open(self, runtime_context: RuntimeContext) -> None:
        self.state = runtime_context.get_state(ValueStateDescriptor("acks", Types.PICKLED_BYTE_ARRAY()))

    def process_element(self, value: tuple, ctx: KeyedProcessFunction.Context) -> Iterator[Any]:
        _, _, one = value
        pending: Pending | None = self.state.value()
        pending, confirmation = add_ack(pending, one)
        if pending is None:
            self.state.clear()
        else:
            self.state.update(pending)
        if confirmation is not None:
            yield routed("erased", str(one["request"]["user_id"]), confirmation)
