"""Per-user state of the personalization engine and its compact, lossless serialization.

One ``UserState`` per key (user_id, or anonymous_id for anonymous shoppers). Flink keyed state
holds ``state.to_bytes()``; ``UserState.from_bytes`` restores an equal object, so a job that
serializes after every record and a replay that never does compute the same features. Every
collection is bounded by ``EngineConfig``.

Encoding: the fields in declaration order as plain Python builtins (lists, tuples, str, int,
float, bool, None), pickled with protocol 5 and read back by an unpickler that refuses every
class, so stored bytes can never run code. Fields are append-only: a state written before a new
field was added decodes with that field's default. Floats are stored as their 8 bytes (exact).
Idle states (no session) above ``COMPRESS_ABOVE`` bytes are zlib-compressed: they are written
rarely and stored long; active states skip it, they are written on every event. The first byte
names the form ("P" or "Z"). An idle user stays under 2 KB: see tests/unit/test_state.py.
"""
from __future__ import annotations

import io
import pickle
import zlib
from dataclasses import dataclass, field, fields
from typing import Any

EVENT_TYPES = (
    "page_view", "product_view", "search", "filter_applied", "add_to_cart", "remove_from_cart",
    "checkout_start", "purchase", "favorite", "review", "rating", "click", "hover", "scroll",
    "session_start", "login",
)
COMPRESS_ABOVE = 512
STATE_VERSION = 1
STEP_KEYS = ("item_id", "event_type", "event_time", "price", "category")
Step = tuple[str | None, str, int, float | None, str | None]


def id_hash(value: str) -> int:
    """Stable 32-bit hash of an identifier (products, filters): compact set membership in state."""
    return zlib.crc32(value.encode("utf-8"))


@dataclass
class CartLine:
    product_id: str
    quantity: int
    price: float
    category: str | None = None


@dataclass
class Consent:
    """Consent record as last seen (absent record: no consent)."""

    email: bool = False
    push: bool = False
    personalization: bool = False
    updated_at: int = 0


@dataclass
class Session:
    """The current (or just ended, while an abandonment is pending) session."""

    session_id: str | None
    start: int
    last: int
    counts: dict[str, int] = field(default_factory=dict)
    products: list[int] = field(default_factory=list)
    extra_views: int = 0
    filters: list[int] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    gaps: list[int] = field(default_factory=list)
    ended: bool = False


@dataclass
class UserState:
    """Everything the engine remembers about one shopper; see DESIGN.md section 3.

    ``views`` (category hash, time, price), ``purchases`` (category hash, time) and ``offers``
    (category hash -> time) serve the repeated-browse rule, which needs category equality only.
    """

    key: str = ""
    anonymous: bool = False
    session: Session | None = None
    cart: list[CartLine] = field(default_factory=list)
    currency: str | None = None
    abandon_deadline: int | None = None
    abandon_fired: bool = False
    visits: list[int] = field(default_factory=list)
    prev_end: int | None = None
    last_purchase: int | None = None
    affinity: dict[str, float] = field(default_factory=dict)
    affinity_at: int = 0
    views: list[tuple[int, int, float | None]] = field(default_factory=list)
    purchases: list[tuple[int, int]] = field(default_factory=list)
    bought: list[int] = field(default_factory=list)
    rate: tuple[int, float, float] = (0, 0.0, 0.0)
    last_fired: dict[str, int] = field(default_factory=dict)
    cap_log: list[int] = field(default_factory=list)
    offers: dict[int, int] = field(default_factory=dict)
    hints_sig: str | None = None
    timezone: str = "UTC"
    loyalty_tier: str | None = None
    consent: Consent | None = None
    capture_personalization: bool | None = None
    timer: int | None = None
    erased_at: int | None = None
    # live mode: wall-clock minus event time at this key's latest event, set by the Flink wrapper,
    # which arms wall-clock timers at deadline + offset so a deadline fires on an idle stream
    clock_offset: int | None = None

    @property
    def last_event(self) -> int | None:
        """Event time of the latest event seen (clock of this key)."""
        return self.session.last if self.session else self.prev_end

    def scorer_steps(self) -> list[dict[str, Any]]:
        """The current session's steps in the scorer's dict format (udfs/scoring.py), oldest first."""
        steps = self.session.steps if self.session is not None else []
        return [dict(zip(STEP_KEYS, step, strict=True)) for step in steps]

    def cart_value(self) -> float:
        return sum(line.quantity * line.price for line in self.cart)

    def to_bytes(self) -> bytes:
        body = pickle.dumps(_encode_state(self), protocol=5)
        if self.session is None and len(body) > COMPRESS_ABOVE:
            packed = zlib.compress(body, 6)
            if len(packed) < len(body):
                return b"Z" + packed
        return b"P" + body

    @classmethod
    def from_bytes(cls, data: bytes) -> UserState:
        tag, body = data[:1], data[1:]
        if tag == b"Z":
            body = zlib.decompress(body)
        elif tag != b"P":
            raise ValueError(f"unknown user state encoding {tag!r}")
        return _decode_state(_BuiltinsOnly(io.BytesIO(body)).load())


class _BuiltinsOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"user state holds builtins only, not {module}.{name}")


def _encode_state(st: UserState) -> list[Any]:
    values = [getattr(st, name) for name in _NAMES]
    if st.session is not None:
        values[_SESSION] = [getattr(st.session, name) for name in _SESSION_NAMES]
    values[_CART] = [(ln.product_id, ln.quantity, ln.price, ln.category) for ln in st.cart]
    if st.consent is not None:
        c = st.consent
        values[_CONSENT] = (c.email, c.push, c.personalization, c.updated_at)
    return [STATE_VERSION, values]


def _decode_state(raw: list[Any]) -> UserState:
    version, values = raw
    if version != STATE_VERSION:
        raise ValueError(f"user state version {version} is not {STATE_VERSION}")
    kwargs = dict(zip(_NAMES, values, strict=False))
    if kwargs.get("session") is not None:
        kwargs["session"] = Session(*kwargs["session"])
    kwargs["cart"] = [CartLine(*line) for line in kwargs.get("cart", [])]
    if kwargs.get("consent") is not None:
        kwargs["consent"] = Consent(*kwargs["consent"])
    return UserState(**kwargs)


_NAMES = tuple(f.name for f in fields(UserState))
_SESSION_NAMES = tuple(f.name for f in fields(Session))
_SESSION, _CART, _CONSENT = _NAMES.index("session"), _NAMES.index("cart"), _NAMES.index("consent")
