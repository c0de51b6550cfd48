"""The three trigger rules: when each applies, and the trigger dict (trigger.avsc) it produces.

- abandoned_cart: evaluated at the abandonment deadline (``udfs.sessionize``) with items in the
  cart worth at least ``abandon_min_value``; with model scores, ``abandon_min_risk`` must be met.
  Payload: cart lines, value, currency, recommended items (the scorer's next items minus cart and
  recently bought), scores.
- repeated_browse_offer: on a product view, when the category has ``browse_views`` views inside
  ``browse_window_ms``, the median viewed price there is at least ``browse_high_price``, nothing
  of the category was bought in the window and no offer for it was made in the window.
- ui_personalization: hints from the session so far, emitted (onsite) when they change:
  ``banner`` = ``category:<top affinity category>`` (affinity >= ``ui_min_affinity``);
  ``visitor`` = new / returning / customer; ``highlight`` = ``new_arrivals`` for a first visit,
  ``cart_reminder`` for a returning shopper with a cart; ``layout`` = ``filters_expanded`` once
  the session applied two distinct filters.
Every trigger carries the rule text with its thresholds, the feature map, scores and model version.
"""
from __future__ import annotations

import zlib
from typing import Any

from udfs.engine_config import EngineConfig
from udfs.features import quantile, top_affinity
from udfs.policy import Gate, trigger_id
from udfs.scoring import NullScorer, SessionScorer, SessionScores
from udfs.state import UserState, id_hash


def score(state: UserState, scorer: SessionScorer) -> SessionScores | None:
    """The scorer's view of the current session (None with no steps or no model)."""
    if state.session is None or not state.session.steps or isinstance(scorer, NullScorer):
        return None
    return scorer.score(state.scorer_steps())


def recommended(state: UserState, scores: SessionScores | None, cfg: EngineConfig) -> list[str]:
    """The model's next items that are neither in the cart nor recently bought."""
    if scores is None:
        return []
    in_cart = {line.product_id for line in state.cart}
    bought = set(state.bought)
    picks = [item for item in scores.next_items if item not in in_cart and id_hash(item) not in bought]
    return list(dict.fromkeys(picks))[:cfg.recommend_max]


def build(state: UserState, trigger_type: str, decisive: str, t: int, now_ms: int, gate: Gate,
          rule: str, feats: dict[str, float], scores: SessionScores | None, **payload: Any) -> dict[str, Any]:
    """A trigger.avsc record; ``payload`` sets cart, category, hints, recommended_items..."""
    if gate.dropped:
        rule += f"; {','.join(gate.dropped)} dropped in quiet hours"
    return {"trigger_id": trigger_id(trigger_type, state.key, decisive), "trigger_type": trigger_type,
            "user_id": state.key, "session_id": state.session.session_id if state.session else None,
            "channels": list(gate.channels), "event_time": t, "emitted_at": now_ms, "holdout": gate.holdout,
            "cart": [], "cart_value": None, "currency": state.currency, "category": None,
            "recommended_items": [], "hints": {}, "rule": rule, "features": feats,
            "scores": scores.as_map() if scores else {},
            "model_version": scores.model_version if scores else None, **payload}


def abandonment_applies(state: UserState, scores: SessionScores | None, cfg: EngineConfig) -> bool:
    if not state.cart or state.cart_value() < cfg.abandon_min_value:
        return False
    return scores is None or scores.abandonment_risk >= cfg.abandon_min_risk


def abandoned_cart_payload(state: UserState, scores: SessionScores | None,
                           cfg: EngineConfig) -> dict[str, Any]:
    cart = [{"product_id": ln.product_id, "quantity": ln.quantity, "price": ln.price, "category": ln.category}
            for ln in state.cart]
    return {"cart": cart, "cart_value": state.cart_value(),
            "recommended_items": recommended(state, scores, cfg)}


def abandoned_cart_rule(state: UserState, cfg: EngineConfig) -> str:
    return (f"abandoned_cart: {len(state.cart)} cart line(s) worth {state.cart_value():.2f} and no checkout "
            f"or purchase for abandon_window_ms={cfg.abandon_window_ms} "
            f"(abandon_min_value={cfg.abandon_min_value}, abandon_min_risk={cfg.abandon_min_risk})")


def browse_match(state: UserState, category: str, t: int, cfg: EngineConfig) -> tuple[int, float] | None:
    """(views, median price) when the repeated-browse rule applies to ``category`` at ``t``."""
    since, h = t - cfg.browse_window_ms, id_hash(category)
    views = [v for v in state.views if v[0] == h and v[1] > since]
    prices = sorted(p for _, _, p in views if p is not None)
    if len(views) < cfg.browse_views or not prices:
        return None
    median = quantile(prices, 0.5)  # type: ignore[arg-type]
    bought = any(c == h and pt > since for c, pt in state.purchases)
    offered = state.offers.get(h, since) > since
    if median < cfg.browse_high_price or bought or offered:
        return None
    return len(views), median


def browse_rule(category: str, views: int, median: float, cfg: EngineConfig) -> str:
    return (f"repeated_browse_offer: {views} views of {category} "
            f"within browse_window_ms={cfg.browse_window_ms} (browse_views={cfg.browse_views}), "
            f"median viewed price {median:.2f} >= "
            f"browse_high_price={cfg.browse_high_price}, no purchase in the category")


def remember_offer(state: UserState, category: str, t: int, cfg: EngineConfig) -> None:
    state.offers[id_hash(category)] = t
    while len(state.offers) > cfg.max_offers:
        del state.offers[min(state.offers, key=lambda c: (state.offers[c], c))]


def ui_hints(state: UserState, t: int, cfg: EngineConfig) -> dict[str, str]:
    """Banner/layout hints from the state at event time ``t``."""
    hints: dict[str, str] = {}
    top = top_affinity(state, t, cfg)
    if top is not None and top[1] >= cfg.ui_min_affinity:
        hints["banner"] = f"category:{top[0]}"
    first_visit = state.prev_end is None and state.last_purchase is None
    bought = state.last_purchase is not None
    hints["visitor"] = "new" if first_visit else "customer" if bought else "returning"
    if first_visit:
        hints["highlight"] = "new_arrivals"
    elif state.cart:
        hints["highlight"] = "cart_reminder"
    if state.session is not None and len(state.session.filters) >= 2:
        hints["layout"] = "filters_expanded"
    return hints


def hints_signature(hints: dict[str, str]) -> str:
    """Short stable digest of a hints map (what the state remembers as last emitted)."""
    text = "\x1f".join(f"{k}={v}" for k, v in sorted(hints.items()))
    return f"{zlib.crc32(text.encode()):08x}"


def ui_rule(hints: dict[str, str], cfg: EngineConfig) -> str:
    listed = ", ".join(f"{k}={v}" for k, v in sorted(hints.items()))
    return (f"ui_personalization: hints changed to {listed} "
            f"(banner needs affinity >= ui_min_affinity={cfg.ui_min_affinity}; "
            f"new_arrivals on a first visit)")
