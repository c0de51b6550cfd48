"""Typed field checks that convert JSON values and collect problems instead of raising.

Every check takes the value and the field's path (``product.price``, ``cart[2].quantity``) and
returns the converted value, or None after recording a ``Problem`` that names the field and what
is wrong with it. Absent (or JSON null) optional fields are None without a problem.
"""
from __future__ import annotations

import math
import re
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

INT32_MAX = 2**31 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EMAIL = re.compile(r"[^@\s/?&=]+@[^@\s/?&=]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: which field, and what."""

    field: str
    problem: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "problem": self.problem}


def redact_emails(text: str) -> str:
    """Replace anything shaped like an e-mail address, so free text cannot carry one to Kafka."""
    return _EMAIL.sub("[email]", text)


def _type_name(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


class Checker:
    """Collects the problems of one event while its fields are converted."""

    def __init__(self, max_string_len: int) -> None:
        self.max_string_len = max_string_len
        self.problems: list[Problem] = []

    def add(self, field: str, problem: str) -> None:
        self.problems.append(Problem(field, problem))

    def wrong_type(self, field: str, expected: str, value: Any) -> None:
        self.add(field, f"expected {expected}, got {_type_name(value)}")

    def string(self, value: Any, field: str, required: bool = False) -> str | None:
        """A non-empty string of at most ``max_string_len`` characters."""
        if value is None:
            if required:
                self.add(field, "missing")
            return None
        if not isinstance(value, str):
            self.wrong_type(field, "a string", value)
            return None
        if not value.strip():
            self.add(field, "empty string")
            return None
        if len(value) > self.max_string_len:
            self.add(field, f"longer than {self.max_string_len} characters ({len(value)})")
            return None
        return value

    def integer(self, value: Any, field: str, lo: int, hi: int = INT32_MAX) -> int | None:
        """An integer (not a boolean, not a fraction) in ``[lo, hi]``."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.wrong_type(field, "an integer", value)
            return None
        if not lo <= value <= hi:
            self.add(field, f"{value} is out of range {lo}-{hi}")
            return None
        return value

    def number(self, value: Any, field: str, lo: float = 0.0, hi: float = 1e12) -> float | None:
        """A finite number in ``[lo, hi]``; negative prices are rejected by ``lo=0``."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.wrong_type(field, "a number", value)
            return None
        if not math.isfinite(value):
            self.add(field, "not a finite number")
            return None
        if value < lo:
            self.add(field, f"{value} is negative" if lo == 0 else f"{value} is below {lo}")
            return None
        if value > hi:
            self.add(field, f"{value} is above {hi:g}")
            return None
        return float(value)

    def boolean(self, value: Any, field: str) -> bool | None:
        if value is None:
            return None
        if not isinstance(value, bool):
            self.wrong_type(field, "true or false", value)
            return None
        return value

    def choice(self, value: Any, field: str, options: Collection[str], required: bool = False) -> str | None:
        """One of ``options`` (e.g. an Avro enum's symbols)."""
        text = self.string(value, field, required)
        if text is None:
            return None
        if text not in options:
            self.add(field, f"unknown value {text[:64]!r}; expected one of {', '.join(sorted(options))}")
            return None
        return text

    def uuid(self, value: Any, field: str) -> str | None:
        """A UUID in any standard spelling, returned in canonical lower-case form."""
        text = self.string(value, field)
        if text is None:
            return None
        try:
            return str(uuid.UUID(text))
        except ValueError:
            self.add(field, f"{text[:64]!r} is not a UUID")
            return None

    def obj(self, value: Any, field: str, allowed: Collection[str]) -> Mapping[str, Any] | None:
        """A JSON object whose keys are all in ``allowed``."""
        if value is None:
            return None
        if not isinstance(value, dict):
            self.wrong_type(field, "an object", value)
            return None
        for key in value:
            if key not in allowed:
                self.add(f"{field}.{key}", "unknown field")
        return value

    def timestamp(self, value: Any, field: str) -> int | None:
        """Epoch millis (integer) or ISO 8601 with a UTC offset, as UTC epoch millis."""
        if isinstance(value, str):
            return self._iso_millis(value, field)
        return self.integer(value, field, 0, 2**63 - 1)

    def _iso_millis(self, text: str, field: str) -> int | None:
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            self.add(field, f"{text[:64]!r} is not ISO 8601 (e.g. 2024-05-01T12:00:00+02:00) or epoch millis")
            return None
        if moment.tzinfo is None:
            self.add(field, f"{text[:64]!r} has no UTC offset (add Z or +hh:mm)")
            return None
        return (moment - _EPOCH) // timedelta(milliseconds=1)
