"""Applying one behavior event to a user's state: sessions, cart, affinity, browse log, stats.

``apply_event(state, event, cfg)`` mutates ``state`` and returns ``Effects`` (what the trigger
rules react to). The events of one key must come in event-time order (the job's watermark
sorter and ``udfs.replay`` do that); an event older than the key's clock is applied at the
clock's time, so state never runs backwards.

Semantics:
- Sessions end after ``session_gap_ms`` of event-time inactivity; SDK session ids only label them.
- Cart: a ``cart`` snapshot on add/remove/checkout/purchase replaces the cart; without one,
  the event's product and quantity (default 1) are added or removed. A cart change with items
  arms the abandonment deadline (event time + window); every later event of the shopper moves it
  (the shopper is still active); checkout_start, purchase or an empty cart disarm it.
- Purchase: the snapshot's lines (else the product, else the whole cart) are bought: removed
  from the cart, remembered for recommendation filtering and per category for the browse rule.
- Affinity: space-saving top-K with exponential decay; a new category takes the evicted minimum
  plus its weight, so a fresh interest can enter a full table.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from udfs.engine_config import DAY_MS, EngineConfig
from udfs.state import CartLine, Session, UserState, id_hash

AFFINITY_WEIGHTS = {"product_view": 1.0, "favorite": 2.0, "add_to_cart": 3.0, "purchase": 5.0,
                    "review": 1.0, "rating": 1.0, "click": 0.5}
NO_STEP_TYPES = frozenset({"hover", "scroll", "session_start", "login"})
CART_TYPES = frozenset({"add_to_cart", "remove_from_cart"})
VISIT_WINDOW_MS = 7 * DAY_MS


@dataclass(frozen=True)
class Effects:
    """What one event changed, for the trigger rules."""

    time: int
    new_session: bool
    cart_changed: bool
    browse_category: str | None


def category_key(category: str | None, depth: int) -> str | None:
    """The category the browse rule groups by: the first ``depth`` path segments (0: all)."""
    if not category:
        return None
    return "/".join(category.split("/")[:depth]) if depth > 0 else category


def end_session(state: UserState, cfg: EngineConfig) -> None:
    """Close the session: rate statistics, previous-visit time; keep it only for a pending abandonment."""
    s = state.session
    if s is None or s.ended:
        return
    events = sum(s.counts.values())
    minutes = max((s.last - s.start) / 60_000, 1.0)
    n, mean, m2 = state.rate
    x = math.log(events / minutes)
    delta = x - mean
    mean += delta / (n + 1)
    state.rate = (n + 1, mean, m2 + delta * (x - mean))
    state.prev_end = s.last
    if state.abandon_deadline is None:
        state.session = None
    else:
        s.ended = True


def _open_session(state: UserState, event: dict[str, Any], t: int, cfg: EngineConfig) -> None:
    state.session = Session(session_id=event.get("session_id"), start=t, last=t)
    recent = [v for v in state.visits if v > t - VISIT_WINDOW_MS]
    state.visits = (recent + [t])[-cfg.max_visits:]


def _track_session(s: Session, event: dict[str, Any], t: int, cfg: EngineConfig) -> None:
    etype = event["event_type"]
    if s.counts:  # not the session's first event
        s.gaps.append(t - s.last)
        del s.gaps[:-cfg.max_gaps]
    s.counts[etype] = s.counts.get(etype, 0) + 1
    s.last = t
    if s.session_id is None:
        s.session_id = event.get("session_id")
    product = event.get("product") or {}
    if etype not in NO_STEP_TYPES:
        price = product.get("price")
        step = (product.get("product_id"), etype, t, None if price is None else float(price),
                product.get("category"))
        s.steps.append(step)
        del s.steps[:-cfg.max_steps]
    if etype == "product_view" and product.get("product_id"):
        _add_distinct(s, "products", id_hash(product["product_id"]), cfg.max_products)
    flt = event.get("filter")
    if etype == "filter_applied" and flt:
        _add_distinct(s, "filters", id_hash(f"{flt['name']}={flt['value']}"), cfg.max_filters)


def _add_distinct(s: Session, name: str, h: int, bound: int) -> None:
    seen: list[int] = getattr(s, name)
    if h in seen:
        return
    if len(seen) < bound:
        seen.append(h)
    elif name == "products":
        s.extra_views += 1


def _line(src: dict[str, Any], quantity: int) -> CartLine:
    price = src.get("price")
    return CartLine(str(src["product_id"]), int(quantity), float(price or 0.0), src.get("category"))


def _apply_cart(state: UserState, event: dict[str, Any], cfg: EngineConfig) -> bool:
    """Update the cart from a cart event; True when its contents changed."""
    before = list(state.cart)
    product, qty = event.get("product"), event.get("quantity") or 1
    if event.get("cart") is not None:
        state.cart = [_line(ln, ln["quantity"]) for ln in event["cart"] if ln["quantity"] > 0]
    elif product and event["event_type"] == "add_to_cart":
        _add_units(state, _line(product, qty))
    elif product:
        _add_units(state, _line(product, -qty))
    state.cart = state.cart[-cfg.max_cart_lines:]
    currency = (product or {}).get("currency") or next(
        (ln.get("currency") for ln in event.get("cart") or [] if ln.get("currency")), None)
    state.currency = currency or state.currency
    return state.cart != before


def _add_units(state: UserState, line: CartLine) -> None:
    for i, have in enumerate(state.cart):
        if have.product_id == line.product_id:
            have = CartLine(have.product_id, have.quantity + line.quantity, have.price, have.category)
            state.cart[i:i + 1] = [have] if have.quantity > 0 else []
            return
    if line.quantity > 0:
        state.cart.append(line)


def _apply_purchase(state: UserState, event: dict[str, Any], t: int, cfg: EngineConfig) -> None:
    if event.get("cart"):
        lines = [_line(ln, ln["quantity"]) for ln in event["cart"]]
    elif event.get("product"):
        lines = [_line(event["product"], event.get("quantity") or 1)]
    else:
        lines = list(state.cart)
    ids = {ln.product_id for ln in lines}
    state.cart = [ln for ln in state.cart if ln.product_id not in ids]
    hashes = [id_hash(pid) for pid in sorted(ids)]
    state.bought = ([h for h in state.bought if h not in hashes] + hashes)[-cfg.max_bought:]
    cats = sorted({ck for ln in lines if (ck := category_key(ln.category, cfg.browse_category_depth))})
    state.purchases = (_recent(state.purchases, t, cfg) + [(id_hash(c), t) for c in cats])[-cfg.max_views:]
    state.last_purchase = t


def _recent(log: list[Any], t: int, cfg: EngineConfig) -> list[Any]:
    """``log`` (oldest first) without the entries that left the browse window; as is if none did."""
    cutoff = t - cfg.browse_window_ms
    if not log or log[0][1] > cutoff:
        return log
    return [entry for entry in log if entry[1] > cutoff]


def bump_affinity(state: UserState, category: str, weight: float, t: int, cfg: EngineConfig) -> None:
    """Decay the table to ``t``, then add ``weight`` to ``category`` (space-saving top-K)."""
    if t > state.affinity_at:
        factor = 0.5 ** ((t - state.affinity_at) / cfg.affinity_half_life_ms)
        state.affinity = {c: v * factor for c, v in state.affinity.items()}
        state.affinity_at = t
    table = state.affinity
    if category not in table and len(table) >= cfg.affinity_top_k:
        loser = min(table, key=lambda c: (table[c], c))
        table[category] = table.pop(loser)
    table[category] = table.get(category, 0.0) + weight


def _affinity_categories(event: dict[str, Any]) -> list[str]:
    product = event.get("product")
    if product and product.get("category"):
        return [product["category"]]
    if event["event_type"] == "purchase":
        return sorted({ln["category"] for ln in event.get("cart") or [] if ln.get("category")})
    return []


def _track_browse(state: UserState, event: dict[str, Any], t: int, cfg: EngineConfig) -> str | None:
    product = event.get("product") or {}
    key = category_key(product.get("category"), cfg.browse_category_depth)
    if state.offers:
        state.offers = {c: ft for c, ft in state.offers.items() if ft > t - cfg.browse_window_ms}
    if event["event_type"] != "product_view" or key is None:
        return None
    price = product.get("price")
    state.views = _recent(state.views, t, cfg)
    state.views.append((id_hash(key), t, None if price is None else float(price)))
    del state.views[:-cfg.max_views]
    return key


def _track_abandonment(state: UserState, etype: str, cart_changed: bool, t: int, cfg: EngineConfig) -> None:
    if etype == "purchase" or not state.cart:
        state.abandon_deadline, state.abandon_fired = None, False
    elif etype == "checkout_start":
        state.abandon_deadline = None
    elif cart_changed and etype in CART_TYPES:
        state.abandon_deadline, state.abandon_fired = t + cfg.abandon_window_ms, False
    elif state.abandon_deadline is not None:
        state.abandon_deadline = t + cfg.abandon_window_ms


def apply_event(state: UserState, event: dict[str, Any], cfg: EngineConfig) -> Effects:
    """Apply one (validated, normalized, deduplicated) event to ``state``."""
    clock = state.last_event
    t = max(event["event_time"], clock) if clock is not None else event["event_time"]
    etype = event["event_type"]
    s = state.session
    new_session = s is None or s.ended or t - s.last > cfg.session_gap_ms
    if new_session:
        end_session(state, cfg)
        _open_session(state, event, t, cfg)
    assert state.session is not None
    _track_session(state.session, event, t, cfg)
    cart_changed = False
    if etype in CART_TYPES or (etype == "checkout_start" and event.get("cart") is not None):
        cart_changed = _apply_cart(state, event, cfg)
    elif etype == "purchase":
        _apply_purchase(state, event, t, cfg)
        cart_changed = True
    _track_abandonment(state, etype, cart_changed, t, cfg)
    weight = AFFINITY_WEIGHTS.get(etype, 0.0)
    for category in _affinity_categories(event) if weight > 0 else ():
        bump_affinity(state, category, weight, t, cfg)
    if (event.get("consent") or {}).get("personalization") is not None:
        state.capture_personalization = bool(event["consent"]["personalization"])
    return Effects(t, new_session, cart_changed, _track_browse(state, event, t, cfg))
