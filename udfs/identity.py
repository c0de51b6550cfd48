"""Identity: merging an anonymous shopper's state into the user's when a login links the ids.

``merge(user_state, anonymous_state, cfg)`` returns the user's state with the anonymous
activity folded in, so the session before the login counts for the user from then on:

- session: when both sessions are open and within ``session_gap_ms`` of each other they become
  one (earliest start, counts summed, steps interleaved by time); otherwise the later one is kept;
- cart: the user's lines, then the anonymous lines for other products; for a product in both,
  the larger quantity (a shop that synced the cart at login must not double it);
- abandonment: pending if either was pending, at the later deadline;
- history (visits, views, purchases, bought, trigger log, offers, affinity, rate statistics):
  unions, bounded as always; affinity decayed to a common time and summed;
- profile, consent, timers and erasure marker: the user's; captured consent: the anonymous
  side's when it has one (it is the device in use).
"""
from __future__ import annotations

import copy
import math
from dataclasses import replace
from typing import TypeVar

from udfs.engine_config import EngineConfig
from udfs.state import CartLine, Session, UserState

K = TypeVar("K", str, int)


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def _merge_sessions(a: Session | None, b: Session | None, cfg: EngineConfig) -> Session | None:
    if a is None or b is None:
        return a or b
    first, second = sorted((a, b), key=lambda s: s.last)
    apart = second.start - first.last > cfg.session_gap_ms
    if apart or first.ended or second.ended:
        return second
    steps = sorted(first.steps + second.steps, key=lambda st: st[2])[-cfg.max_steps:]
    counts = {k: first.counts.get(k, 0) + second.counts.get(k, 0) for k in {**first.counts, **second.counts}}
    products = list(dict.fromkeys(first.products + second.products))
    overflow = max(0, len(products) - cfg.max_products)
    return Session(session_id=second.session_id or first.session_id, start=min(a.start, b.start),
                   last=second.last, counts=counts, products=products[:cfg.max_products],
                   extra_views=first.extra_views + second.extra_views + overflow,
                   filters=list(dict.fromkeys(first.filters + second.filters))[:cfg.max_filters],
                   steps=steps, gaps=(first.gaps + second.gaps)[-cfg.max_gaps:])


def _merge_cart(user: list[CartLine], anon: list[CartLine], cfg: EngineConfig) -> list[CartLine]:
    anon_by_id = {line.product_id: line for line in anon}
    merged = [replace(ln, quantity=max(ln.quantity, anon_by_id[ln.product_id].quantity))
              if ln.product_id in anon_by_id else ln for ln in user]
    have = {ln.product_id for ln in user}
    return (merged + [ln for ln in anon if ln.product_id not in have])[-cfg.max_cart_lines:]


def _merge_affinity(u: UserState, a: UserState, cfg: EngineConfig) -> tuple[dict[str, float], int]:
    at = max(u.affinity_at, a.affinity_at)
    total: dict[str, float] = {}
    for st in (u, a):
        factor = 0.5 ** ((at - st.affinity_at) / cfg.affinity_half_life_ms)
        for c, v in st.affinity.items():
            total[c] = total.get(c, 0.0) + v * factor
    top = sorted(total.items(), key=lambda cv: (-cv[1], cv[0]))[:cfg.affinity_top_k]
    return dict(top), at


def _merge_rate(x: tuple[int, float, float], y: tuple[int, float, float]) -> tuple[int, float, float]:
    """Combine two Welford accumulators (Chan et al.)."""
    n = x[0] + y[0]
    if n == 0:
        return (0, 0.0, 0.0)
    delta = y[1] - x[1]
    mean = x[1] + delta * y[0] / n
    m2 = x[2] + y[2] + delta * delta * x[0] * y[0] / n
    return (n, mean, m2) if math.isfinite(m2) else x


def _merge_times(a: dict[K, int], b: dict[K, int]) -> dict[K, int]:
    return {k: max(a.get(k, v), v) for k, v in {**a, **b}.items()}


def merge(user: UserState, anon: UserState, cfg: EngineConfig) -> UserState:
    """The user's state with ``anon``'s activity folded in (``user`` and ``anon`` are not modified)."""
    if user.erased_at is not None:
        return replace(user)
    deadline = _max(user.abandon_deadline, anon.abandon_deadline)
    affinity, affinity_at = _merge_affinity(user, anon, cfg)
    offers = dict(sorted(_merge_times(user.offers, anon.offers).items(), key=lambda kv: (kv[1], kv[0])))
    merged = replace(
        user, anonymous=False, session=_merge_sessions(user.session, anon.session, cfg),
        cart=_merge_cart(user.cart, anon.cart, cfg), currency=anon.currency or user.currency,
        abandon_deadline=deadline,
        abandon_fired=deadline is None and (user.abandon_fired or anon.abandon_fired),
        visits=sorted(set(user.visits + anon.visits))[-cfg.max_visits:],
        prev_end=_max(user.prev_end, anon.prev_end),
        last_purchase=_max(user.last_purchase, anon.last_purchase),
        affinity=affinity, affinity_at=affinity_at,
        views=sorted(set(user.views + anon.views), key=lambda v: (v[1], v[0]))[-cfg.max_views:],
        purchases=sorted(set(user.purchases + anon.purchases), key=lambda p: (p[1], p[0]))[-cfg.max_views:],
        bought=list(dict.fromkeys(user.bought + anon.bought))[-cfg.max_bought:],
        rate=_merge_rate(user.rate, anon.rate), last_fired=_merge_times(user.last_fired, anon.last_fired),
        cap_log=sorted(user.cap_log + anon.cap_log)[-max(cfg.frequency_cap, 1):],
        offers=dict(list(offers.items())[-cfg.max_offers:]),
        capture_personalization=(anon.capture_personalization if anon.capture_personalization is not None
                                 else user.capture_personalization),
    )
    return copy.deepcopy(merged)
