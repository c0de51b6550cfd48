"""Frozen, typed configuration objects overridable from the environment.

Every config class in the project is a frozen dataclass whose fields carry a default and a
``doc`` in ``field(metadata=...)``; ``from_env(Cls, prefix)`` reads ``PREFIX_FIELD_NAME`` (upper
case) for each field, converting to the field's type, and raises ``ValueError`` naming the
variable on a bad value. ``describe(Cls, prefix)`` lists the variables for docs and ``--help``.
"""
from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_field(default: Any, doc: str) -> Any:
    """A dataclass field with a default and the documentation shown by ``describe``."""
    return dataclasses.field(default=default, metadata={"doc": doc})


def _convert(raw: str, typ: Any, var: str) -> Any:
    if typ is bool:
        low = raw.strip().lower()
        if low in _TRUE | _FALSE:
            return low in _TRUE
        raise ValueError(f"{var}={raw!r}: expected true/false")
    if typ in (int, float):
        try:
            return typ(raw)
        except ValueError:
            raise ValueError(f"{var}={raw!r}: expected {typ.__name__}") from None
    if typing.get_origin(typ) is tuple:
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


def from_env(cls: type[T], prefix: str, environ: Mapping[str, str] | None = None, **overrides: Any) -> T:
    """Build ``cls`` from defaults, then ``PREFIX_<FIELD>`` variables, then keyword overrides."""
    env = os.environ if environ is None else environ
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        var = f"{prefix}_{f.name}".upper()
        if var in env:
            values[f.name] = _convert(env[var], hints[f.name], var)
    values.update(overrides)
    return cls(**values)


def describe(cls: type, prefix: str) -> str:
    """One line per field: variable name, default and doc."""
    lines = []
    for f in dataclasses.fields(cls):
        lines.append(f"{prefix}_{f.name}".upper() + f" (default {f.default!r}): {f.metadata.get('doc', '')}")
    return "\n".join(lines)
