"""The storefront's aiohttp application: shop pages, cart and checkout, the API and live push.

Pages are server-rendered (``pages``/``layout``); the cart, login and consent live in cookies
(``session``). A cart change, login or logout is a POST that redirects to a page, with a one-shot
"flash" cookie telling that page which tag event to send, so a reload never repeats it.
"""
from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from . import pages, session
from .catalog import Catalog, Product
from .config import StorefrontConfig
from .erasure import Cutoffs
from .layout import Page, Visitor, render
from .live import add_api_routes
from .push import Hub, Router
from .recs import RecsService, Store

STATIC = Path(__file__).resolve().parent / "static"
FLASH = "sf_flash"
MAX_ORDERS = 1000


@dataclass
class Order:
    lines: list[tuple[Product, int]]
    total: float
    tracked: bool = False


@dataclass
class State:
    cfg: StorefrontConfig
    catalog: Catalog
    key: bytes
    recs: RecsService
    hub: Hub
    router: Router
    orders: OrderedDict[str, Order] = field(default_factory=OrderedDict)


STATE = web.AppKey("storefront_state", State)


def visitor_for(request: web.Request, state: State, flash: str = "") -> Visitor:
    user = session.logged_in_user(request.cookies, state.key)
    call = {"login": "login", "logout": "logout"}.get(flash, "identify")
    return Visitor(user=user, key=session.user_key(user, state.key) if user else "",
                   consent=request.cookies.get(session.CONSENT_COOKIE) if request.cookies.get(
                       session.CONSENT_COOKIE) in ("all", "none") else None,
                   cart_count=sum(session.read_cart(request.cookies, state.catalog).values()), identity_call=call)


def respond(request: web.Request, page: Page, flash: str = "") -> web.Response:
    state = request.app[STATE]
    html = render(page, visitor_for(request, state, flash), state.cfg, state.catalog)
    response = web.Response(text=html, content_type="text/html", status=page.status,
                            headers={"Cache-Control": "no-store"})
    if flash:
        response.del_cookie(FLASH, path="/")
    return response


def redirect(location: str, cookies: dict[str, str | None]) -> web.Response:
    """303 to ``location`` setting (value) or deleting (None) cookies."""
    response = web.Response(status=303, headers={"Location": location})
    for name, value in cookies.items():
        if value is None:
            response.del_cookie(name, path="/")
        else:
            response.set_cookie(name, value, path="/", httponly=True, samesite="Lax", max_age=30 * 86_400)
    return response


async def home(request: web.Request) -> web.StreamResponse:
    return respond(request, pages.home(request.app[STATE].catalog), request.cookies.get(FLASH, ""))


async def category(request: web.Request) -> web.StreamResponse:
    catalog = request.app[STATE].catalog
    found = catalog.categories.get(request.match_info["category"].strip("/"))
    if found is None:
        return respond(request, pages.not_found("No such category."))
    return respond(request, pages.category_page(catalog, found, request.query))


async def product(request: web.Request) -> web.StreamResponse:
    catalog = request.app[STATE].catalog
    found = catalog.products.get(request.match_info["product_id"])
    return respond(request, pages.product_page(catalog, found) if found else pages.not_found("No such product."))


async def search(request: web.Request) -> web.StreamResponse:
    query = request.query.get("q", "").strip()[:200]
    return respond(request, pages.search_page(request.app[STATE].catalog, query))


def cart_change(state: State, flash: str, cart: dict[str, int]) -> list[Any] | None:
    """The tag call for a flash ``added:<id>:<qty>`` or ``removed:<id>:<qty>``."""
    kind, _, rest = flash.partition(":")
    pid, _, qty = rest.partition(":")
    p = state.catalog.products.get(pid)
    if kind not in ("added", "removed") or p is None or not qty.isdigit():
        return None
    lines = session.tag_lines(cart, state.catalog, state.catalog.currency)
    call = "addToCart" if kind == "added" else "removeFromCart"
    return [call, pages.tag_product(p, state.catalog.currency), int(qty), lines]


async def cart(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    items = session.read_cart(request.cookies, state.catalog)
    flash = request.cookies.get(FLASH, "")
    page = pages.cart_page(state.catalog, session.cart_lines(items, state.catalog),
                           session.cart_total(items, state.catalog), cart_change(state, flash, items))
    return respond(request, page, flash)


async def change_cart(request: web.Request, add: bool) -> web.StreamResponse:
    state = request.app[STATE]
    form = await request.post()
    pid, qty_text = str(form.get("product_id", "")), str(form.get("quantity", "1"))
    qty = int(qty_text) if qty_text.isdigit() else 0
    if pid not in state.catalog.products or (add and not 1 <= qty <= session.MAX_QTY):
        return web.json_response({"error": "unknown product or quantity out of range 1-20"}, status=400)
    items = session.read_cart(request.cookies, state.catalog)
    if add:
        items[pid] = min(session.MAX_QTY, items.get(pid, 0) + qty)
    else:
        qty = items.pop(pid, 0)
    flash = f"{'added' if add else 'removed'}:{pid}:{qty}" if qty else None
    return redirect("/cart", {session.CART_COOKIE: session.write_cart(items), FLASH: flash})


async def cart_add(request: web.Request) -> web.StreamResponse:
    return await change_cart(request, add=True)


async def cart_remove(request: web.Request) -> web.StreamResponse:
    return await change_cart(request, add=False)


async def checkout(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    items = session.read_cart(request.cookies, state.catalog)
    page = pages.checkout_page(state.catalog, session.cart_lines(items, state.catalog),
                               session.cart_total(items, state.catalog),
                               session.tag_lines(items, state.catalog, state.catalog.currency))
    return respond(request, page)


async def place_order(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    items = session.read_cart(request.cookies, state.catalog)
    if not items:
        return redirect("/cart", {})
    order_id = uuid.uuid4().hex[:12]
    state.orders[order_id] = Order(session.cart_lines(items, state.catalog), session.cart_total(items, state.catalog))
    while len(state.orders) > MAX_ORDERS:
        state.orders.popitem(last=False)
    return redirect(f"/order/{order_id}", {session.CART_COOKIE: None})


async def order(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    order_id = request.match_info["order_id"]
    found = state.orders.get(order_id)
    if found is None:
        return respond(request, pages.not_found("No such order."))
    purchase = None
    if not found.tracked:  # the purchase event goes once, on the first view of the confirmation
        found.tracked = True
        lines = session.tag_lines({p.product_id: q for p, q in found.lines}, state.catalog, state.catalog.currency)
        purchase = ["purchase", order_id, lines, {}]
    return respond(request, pages.order_page(state.catalog, order_id, found.lines, found.total, purchase))


async def login_form(request: web.Request) -> web.StreamResponse:
    return respond(request, pages.login_page())


async def login(request: web.Request) -> web.StreamResponse:
    user = str((await request.post()).get("user", "")).strip()
    if not session.valid_user_id(user):
        return respond(request, pages.login_page("Use 1-64 letters, digits, _ . or -."))
    cookie = session.login_cookie(user, request.app[STATE].key)
    return redirect("/", {session.LOGIN_COOKIE: cookie, FLASH: "login"})


async def logout(request: web.Request) -> web.StreamResponse:
    return redirect("/", {session.LOGIN_COOKIE: None, FLASH: "logout"})


async def healthz(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    return web.json_response({"status": "ok", "products": len(state.catalog.products), **state.router.counts})


def create_app(cfg: StorefrontConfig, catalog: Catalog, key: bytes, store: Store) -> web.Application:
    """The application over ``catalog``, reading Redis through ``store``; live push is fed by
    ``state.router.handle`` (the service's feed of triggers and erasures, or a test)."""
    hub = Hub(cfg.push_queue, cfg.push_recent_s, cfg.push_recent_keys)
    recs = RecsService(catalog, store, cfg.cache_prefix, cfg.recs_limit, cfg.redis_timeout_s)
    app = web.Application()
    router = Router(hub, catalog, cfg.offer_pct, Cutoffs(cfg.push_erased_s, cfg.push_erased_ids))
    app[STATE] = State(cfg, catalog, key, recs, hub, router)
    for path, handler in (("/", home), ("/c/{category:.+}", category), ("/p/{product_id}", product),
                          ("/search", search), ("/cart", cart), ("/checkout", checkout),
                          ("/order/{order_id}", order), ("/login", login_form), ("/healthz", healthz)):
        app.router.add_get(path, handler)
    for path, handler in (("/cart/add", cart_add), ("/cart/remove", cart_remove), ("/checkout", place_order),
                          ("/login", login), ("/logout", logout)):
        app.router.add_post(path, handler)
    app.router.add_static("/static/", STATIC)
    add_api_routes(app, recs, hub, lambda request: visitor_for(request, request.app[STATE]).key, cfg.heartbeat_s)
    return app
