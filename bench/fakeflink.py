"""In-memory stand-ins for the parts of Flink's runtime the job's Python functions touch.

Keyed value and map state (per current key; values of ``PICKLED_BYTE_ARRAY`` state are pickled
on write and unpickled on read, as Flink's Python state does), timers that are only recorded,
metric counters and the process contexts. With them the job's own function objects (``IngestFunction``,
``IdentityDedupFunction``, ``EngineFunction``) run record by record outside Flink, so their
pure Python cost can be timed and profiled: what the job pays on top is Flink's (Java,
the Python/Java bridge, state backend, network and Kafka).
"""
from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

from pyflink.common.typeinfo import Types

PICKLED = Types.PICKLED_BYTE_ARRAY()


def _pickled(descriptor: Any) -> bool:
    return bool(getattr(descriptor, "type_info", None) == PICKLED)


class Counter:
    def __init__(self) -> None:
        self.count = 0

    def inc(self, n: int = 1) -> None:
        self.count += n


class Metrics:
    def counter(self, name: str) -> Counter:
        return Counter()


class KeyScope:
    """The current key, shared by a function's states and its context."""

    def __init__(self) -> None:
        self.key: Any = None


class ValueState:
    def __init__(self, scope: KeyScope, pickled: bool = False) -> None:
        self.scope, self.data, self.pickled = scope, dict[Any, Any](), pickled

    def value(self) -> Any:
        raw = self.data.get(self.scope.key)
        return pickle.loads(raw) if self.pickled and raw is not None else raw

    def update(self, value: Any) -> None:
        self.data[self.scope.key] = pickle.dumps(value) if self.pickled else value

    def clear(self) -> None:
        self.data.pop(self.scope.key, None)


class MapState:
    def __init__(self, scope: KeyScope) -> None:
        self.scope, self.data = scope, dict[Any, dict[Any, Any]]()

    def _map(self) -> dict[Any, Any]:
        return self.data.setdefault(self.scope.key, {})

    def get(self, key: Any) -> Any:
        return self._map().get(key)

    def put(self, key: Any, value: Any) -> None:
        self._map()[key] = value

    def contains(self, key: Any) -> bool:
        return key in self._map()

    def remove(self, key: Any) -> None:
        self._map().pop(key, None)

    def items(self) -> Iterator[tuple[Any, Any]]:
        return iter(list(self._map().items()))

    def clear(self) -> None:
        self.data.pop(self.scope.key, None)


class ListState:
    def __init__(self, scope: KeyScope, pickled: bool = False) -> None:
        self.scope, self.data, self.pickled = scope, dict[Any, list[Any]](), pickled

    def get(self) -> list[Any]:
        items = self.data.get(self.scope.key, [])
        return [pickle.loads(i) for i in items] if self.pickled else list(items)

    def add(self, value: Any) -> None:
        self.data.setdefault(self.scope.key, []).append(pickle.dumps(value) if self.pickled else value)

    def update(self, values: list[Any]) -> None:
        self.data[self.scope.key] = [pickle.dumps(v) if self.pickled else v for v in values]

    def clear(self) -> None:
        self.data.pop(self.scope.key, None)


class RuntimeContext:
    def __init__(self, scope: KeyScope) -> None:
        self.scope = scope

    def get_state(self, descriptor: Any) -> ValueState:
        return ValueState(self.scope, _pickled(descriptor))

    def get_map_state(self, descriptor: Any) -> MapState:
        return MapState(self.scope)

    def get_list_state(self, descriptor: Any) -> ListState:
        return ListState(self.scope, _pickled(descriptor))

    def get_metrics_group(self) -> Metrics:
        return Metrics()


class TimerService:
    """Records timer registrations (they never fire here) and reports a watermark."""

    def __init__(self) -> None:
        self.watermark, self.registered = -(2 ** 63), 0

    def current_watermark(self) -> int:
        return self.watermark

    def register_event_time_timer(self, t: int) -> None:
        self.registered += 1

    def register_processing_time_timer(self, t: int) -> None:
        self.registered += 1

    def delete_event_time_timer(self, t: int) -> None:
        self.registered -= 1


class Context:
    """ProcessFunction/KeyedProcessFunction context for one record."""

    def __init__(self, scope: KeyScope) -> None:
        self.scope, self.timers, self.ts = scope, TimerService(), 0

    def timestamp(self) -> int:
        return self.ts

    def timer_service(self) -> TimerService:
        return self.timers

    def get_current_key(self) -> Any:
        return self.scope.key


def opened(function: Any) -> tuple[Any, KeyScope, Context]:
    """``function`` opened on fakes; returns it with its key scope and context."""
    scope = KeyScope()
    function.open(RuntimeContext(scope))
    return function, scope, Context(scope)
