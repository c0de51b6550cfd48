"""The page frame every storefront page shares, and the tag set-up it carries.

Each page includes the collector's tag with its configuration (endpoint, flush interval, the
consent the shopper chose) and a queue of tag calls the tag replays when it loads: who is
logged in, the page view, the page's own event (product view, search, filter, cart change,
checkout, purchase) and a flush, so the event reaches the collector at once.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from string import Template
from typing import Any

from .catalog import Catalog
from .config import StorefrontConfig

BASE = Template((Path(__file__).resolve().parent / "templates" / "base.html").read_text(encoding="utf-8"))
CONSENT = {"all": {"analytics": True, "personalization": True, "marketing": False},
           "none": {"analytics": False, "personalization": False, "marketing": False}}


@dataclass
class Page:
    """A rendered page body, its title and the tag calls it makes."""

    title: str
    body: str
    calls: list[list[Any]] = field(default_factory=list)
    status: int = 200
    query: str = ""


@dataclass(frozen=True)
class Visitor:
    """Who is looking: raw user id when logged in, their engine key, consent choice, cart size."""

    user: str | None = None
    key: str = ""
    consent: str | None = None
    cart_count: int = 0
    identity_call: str = "identify"


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e")


def tag_config(cfg: StorefrontConfig, visitor: Visitor) -> dict[str, Any]:
    """The tag's configuration: nothing is sent until the shopper has chosen on the consent bar."""
    return {"endpoint": cfg.collector_url.rstrip("/") + "/v1/events", "flushIntervalMs": cfg.tag_flush_ms,
            "autoPageView": False, "requireConsent": True, "consent": CONSENT.get(visitor.consent or "")}


def tag_calls(page: Page, visitor: Visitor) -> list[list[Any]]:
    identity = [[visitor.identity_call, visitor.user]] if visitor.user else []
    if visitor.identity_call == "logout":
        identity = [["logout"]]
    return [*identity, ["page"], *page.calls, ["flush"]]


def category_nav(catalog: Catalog) -> str:
    return " ".join(f'<a href="{escape(c.url)}" data-sp-track="nav-category">{escape(c.name)}</a>'
                    for c in catalog.categories.values())


def account_html(visitor: Visitor) -> str:
    if visitor.user is None:
        return '<a href="/login" data-sp-track="login-link">Log in</a>'
    return (f'<span class="who">Hi, {escape(visitor.user)}</span> <form class="inline" action="/logout" '
            f'method="post"><button type="submit" data-sp-track="logout">Log out</button></form>')


def render(page: Page, visitor: Visitor, cfg: StorefrontConfig, catalog: Catalog) -> str:
    """The full HTML document of ``page`` for ``visitor``."""
    return BASE.substitute(
        title=escape(page.title), user_key=escape(visitor.key), logged_in="1" if visitor.user else "",
        query=escape(page.query), account=account_html(visitor), cart_count=visitor.cart_count,
        categories=category_nav(catalog), consent_hidden=" hidden" if visitor.consent else "",
        body=page.body, currency=escape(catalog.currency),
        tag_config=script_json(tag_config(cfg, visitor)), tag_calls=script_json(tag_calls(page, visitor)),
        collector_url=escape(cfg.collector_url.rstrip("/")))
