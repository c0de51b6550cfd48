"""The erasure join: one confirmation per request, once every key it names has been erased.

Input, keyed by request id: ("ack", request id, ack) from the per-user stage's side output
``ERASURE_ACKS`` (``udfs.erasure_acks``), one per erased key. Output: the confirmation as a
routed row (``erased``) once the last key has acknowledged. Erasures are rare, so this stage
sees almost nothing; it keeps a request's acks in keyed state until the request is complete,
and logs a request still incomplete ``overdue_ms`` (wall clock) after its first ack, again at
each such interval, naming the keys it waits for.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from pyflink.common.typeinfo import Types
from pyflink.datastream import KeyedProcessFunction, OutputTag, RuntimeContext
from pyflink.datastream.state import ValueStateDescriptor

from udfs.erasure_acks import Pending, add_ack
from udfs.operators.ingest import now_ms
from udfs.operators.rows import routed

log = logging.getLogger("shoppulse.erasure")
ERASURE_ACKS = OutputTag("erasure-acks", Types.PICKLED_BYTE_ARRAY())


class ErasureJoinFunction(KeyedProcessFunction):
    def __init__(self, overdue_ms: int) -> None:
        self.overdue_ms = overdue_ms

    def open(self, runtime_context: RuntimeContext) -> None:
        self.state = runtime_context.get_state(ValueStateDescriptor("acks", Types.PICKLED_BYTE_ARRAY()))

    def process_element(self, value: tuple, ctx: KeyedProcessFunction.Context) -> Iterator[Any]:
        _, _, one = value
        before: Pending | None = self.state.value()
        pending, confirmation = add_ack(before, one)
        if pending is None:
            self.state.clear()
        else:
            self.state.update(pending)
            if before is None:  # the request's first ack: watch it from now on
                ctx.timer_service().register_processing_time_timer(now_ms() + self.overdue_ms)
        if confirmation is not None:
            yield routed("erased", str(one["request"]["user_id"]), confirmation)

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext) -> Iterator[Any]:
        pending: Pending | None = self.state.value()
        if pending is not None:  # still incomplete (a confirmed request left no state)
            waited = now_ms() - pending.first_at
            if waited >= self.overdue_ms:  # not a timer of an earlier, confirmed run of the request
                log.error(pending.overdue(waited))
            periods = max(waited, 0) // self.overdue_ms + 1
            ctx.timer_service().register_processing_time_timer(pending.first_at + periods * self.overdue_ms)
        return iter(())
