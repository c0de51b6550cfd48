"""Shopper personas: event scripts with a known outcome under the trigger engine's rules.

Each persona builds one session of complete behavior_event dicts (``udfs.journey.Journey``: the
fields of ``behavior_event.avsc``, deterministic event ids, consent flags captured by the tag)
and states which trigger types it must earn (``expected``) and must not earn (``forbidden``):

- buyer: views, a cart, checkout and purchase -> ui_personalization; no abandoned_cart.
- abandoner: views, a cart, then silence -> abandoned_cart and ui_personalization.
- browser: ``browse_views`` or more views of one high-price category, no cart, no purchase ->
  repeated_browse_offer and ui_personalization.
- window: page views, searches, filters, views of cheap categories (and fewer than
  ``browse_views`` of any expensive one) -> ui_personalization only.
- bot: a crawl at tens of events a second (median gap far below a human's), then views of an
  expensive category and a cart -> the bot score suppresses abandoned_cart and the offer. Its
  first UI hint comes before the bot score has enough gaps, so ui_personalization is not scored.
- declined (any human persona): personalization refused at capture -> no trigger at all.

Prices are relative to ``browse_high_price`` and gaps to the engine's windows (``Thresholds``),
so the ground truth holds for the engine configuration the job runs with. Products come from a
synthetic catalogue, or from the shop's own (``shop_catalogue``: the storefront's products, split
into expensive and cheap categories by the same price rule), so the model and the storefront
know what the personas view.
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from udfs.engine_config import TRIGGER_TYPES, EngineConfig
from udfs.journey import Journey

HIGH = ("electronics/tv", "electronics/smartphone", "furniture/living_room/sofa", "appliances/kitchen/coffee_machine")
LOW = ("kids/toys", "books/fiction", "apparel/socks", "home/kitchen/utensils")
PRODUCTS_PER_CATEGORY = 40
UI, CART, OFFER = "ui_personalization", "abandoned_cart", "repeated_browse_offer"
OUTCOMES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "buyer": (frozenset({UI}), frozenset({CART, OFFER})),
    "abandoner": (frozenset({CART, UI}), frozenset({OFFER})),
    "browser": (frozenset({OFFER, UI}), frozenset({CART})),
    "window": (frozenset({UI}), frozenset({CART, OFFER})),
    "bot": (frozenset(), frozenset({CART, OFFER})),
}
DECLINED = (frozenset[str](), frozenset(TRIGGER_TYPES))


@dataclass(frozen=True)
class Thresholds:
    """The engine settings a persona must respect for its ground truth to hold."""

    browse_views: int = 3
    high_price: float = 100.0
    bot_min_gaps: int = 8
    human_gap_ms: int = 1000
    max_gap_ms: int = 60_000

    @staticmethod
    def from_engine(cfg: EngineConfig) -> Thresholds:
        """Gaps stay under a third of the abandonment window and the session gap."""
        longest = min(60_000, cfg.abandon_window_ms // 3, cfg.session_gap_ms // 3)
        return Thresholds(cfg.browse_views, cfg.browse_high_price, cfg.bot_min_gaps, cfg.bot_human_gap_ms, longest)


@dataclass(frozen=True)
class Catalogue:
    """(product id, price) per category, and which categories are expensive and which cheap: every
    product of a ``high`` category costs at least 1.5x the high price, of a ``low`` one at most 0.6x."""

    products: Mapping[str, tuple[tuple[str, float], ...]]
    high: tuple[str, ...] = HIGH
    low: tuple[str, ...] = LOW


@lru_cache(maxsize=8)
def catalogue(high_price: float) -> Catalogue:
    """A synthetic catalogue; expensive categories cost 1.5-8x the high price."""
    rng = random.Random("shoppulse-catalogue")
    out: dict[str, tuple[tuple[str, float], ...]] = {}
    for i, category in enumerate(HIGH + LOW):
        low, high = (1.5, 8.0) if category in HIGH else (0.05, 0.6)
        out[category] = tuple((f"p{i}{n:03d}", round(rng.uniform(low, high) * high_price, 2))
                              for n in range(PRODUCTS_PER_CATEGORY))
    return Catalogue(out)


def shop_catalogue(items: Iterable[tuple[str, str, float]], high_price: float, least: int = 2) -> Catalogue | None:
    """The shop's own (product id, category, price) items as a persona catalogue: a category with
    ``least`` products at 1.5x the high price or more is expensive (only those products kept);
    another with ``least`` at 0.6x or less is cheap. None without one of each."""
    by_category: dict[str, list[tuple[str, float]]] = {}
    for pid, category, price in items:
        by_category.setdefault(category, []).append((pid, price))
    ranked = sorted(by_category.items())
    high = {c: tuple(p for p in ps if p[1] >= 1.5 * high_price) for c, ps in ranked}
    high = {c: ps for c, ps in high.items() if len(ps) >= least}
    low = {c: tuple(p for p in ps if p[1] <= 0.6 * high_price) for c, ps in ranked if c not in high}
    low = {c: ps for c, ps in low.items() if len(ps) >= least}
    if not high or not low:
        return None
    return Catalogue({**high, **low}, tuple(high), tuple(low))


class Actor:
    """One shopper's script: a Journey, its random source and its pace."""

    def __init__(self, journey: Journey, rng: random.Random, th: Thresholds, shop: Catalogue,
                 bot: bool = False) -> None:
        self.j, self.rng, self.th, self.shop, self.bot = journey, rng, th, shop, bot
        self.seen: dict[str, int] = {}

    def gap(self) -> int:
        """Machine-fast gaps for bots; irregular human gaps (log-normal around 8 s) otherwise."""
        if self.bot:
            return self.rng.randint(self.th.human_gap_ms // 40 + 1, self.th.human_gap_ms // 10 + 2)
        low = min(int(self.th.human_gap_ms * 1.5), self.th.max_gap_ms)
        return int(min(max(self.rng.lognormvariate(math.log(8_000), 0.6), low), self.th.max_gap_ms))

    def then(self) -> Journey:
        """The journey, after the pause that precedes the next action (none before the first)."""
        if self.j.events:
            self.j.wait(ms=self.gap())
        return self.j

    def pick(self, category: str) -> tuple[str, float]:
        return self.rng.choice(self.shop.products[category])

    def view(self, category: str) -> tuple[str, float]:
        self.seen[category] = self.seen.get(category, 0) + 1
        pid, price = self.pick(category)
        self.then().event("product_view", product=Journey.product(pid, category, price), page_path=f"/p/{pid}")
        return pid, price

    def casual(self) -> str:
        """A random category whose next view keeps every expensive one under ``browse_views``."""
        shop = self.shop
        options = [c for c in shop.high + shop.low if c in shop.low or self.seen.get(c, 0) + 1 < self.th.browse_views]
        return self.rng.choice(options)

    def add(self, category: str | None = None) -> None:
        category = category or self.casual()
        pid, price = self.view(category)
        self.then().add(pid, category, price, quantity=self.rng.choice((1, 1, 1, 2)))

    def page(self, path: str) -> None:
        self.then().page(path)

    def search(self) -> None:
        self.then().event("search", search_query=self.rng.choice(("gift", "sale", "new", "black")), page_path="/s")

    def casual_views(self, count: int) -> None:
        """Views of random categories, fewer than ``browse_views`` of any expensive one."""
        for _ in range(count):
            self.view(self.casual())


def buyer(a: Actor) -> None:
    a.page("/")
    a.casual_views(a.rng.randint(1, 3))
    for _ in range(a.rng.randint(1, 2)):
        a.add()
    a.then().checkout()
    a.then().purchase(order_id=f"o-{a.j.anonymous_id}")


def abandoner(a: Actor) -> None:
    a.page("/")
    a.casual_views(a.rng.randint(1, 3))
    for _ in range(a.rng.randint(1, 2)):
        a.add()


def browser(a: Actor) -> None:
    a.page("/")
    category = a.rng.choice(a.shop.high)
    for _ in range(a.th.browse_views + a.rng.randint(0, 2)):
        a.view(category)
        if a.rng.random() < 0.3:
            a.view(a.rng.choice(a.shop.low))


def window(a: Actor) -> None:
    a.page("/")
    a.search()
    if a.rng.random() < 0.5:
        a.then().filter("color", a.rng.choice(("black", "red", "blue")))
    a.casual_views(a.rng.randint(2, 6))
    a.then().event("scroll", scroll_depth=a.rng.randint(20, 100))


def bot(a: Actor) -> None:
    for n in range(a.th.bot_min_gaps + 2):
        a.page(f"/c/{a.rng.choice(a.shop.high + a.shop.low)}?page={n}")
    category = a.rng.choice(a.shop.high)
    for _ in range(a.th.browse_views + a.rng.randint(2, 12)):
        a.view(category)
    a.add(category)


SCRIPTS: dict[str, Callable[[Actor], None]] = {
    "buyer": buyer, "abandoner": abandoner, "browser": browser, "window": window, "bot": bot}


def events_for(persona: str, journey: Journey, rng: random.Random, th: Thresholds,
               shop: Catalogue | None = None) -> list[dict[str, Any]]:
    """The persona's events, played on ``journey`` (which sets ids, start time and consent), over
    ``shop``'s products (a synthetic catalogue priced from ``th`` by default)."""
    SCRIPTS[persona](Actor(journey, rng, th, shop or catalogue(th.high_price), bot=persona == "bot"))
    return journey.events


def outcome(persona: str, declined: bool) -> tuple[frozenset[str], frozenset[str]]:
    """(expected, forbidden) trigger types of a shopper."""
    return DECLINED if declined else OUTCOMES[persona]
