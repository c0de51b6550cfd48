"""Bodies of the storefront pages and the tag calls each one makes.

Product cards carry ``data-sp-track`` / ``data-sp-product-id`` so the tag records clicks on them;
product pages record a product view (id, normalized category, price, brand), the category page
records each filter it applies, the search page the query, the cart page the change that led
there, checkout and the order page the checkout and the purchase.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from .catalog import Catalog, Category, Product
from .layout import Page


def money(value: float, currency: str) -> str:
    return f"{value:,.2f} {escape(currency)}"


def tag_product(p: Product, currency: str) -> dict[str, Any]:
    return {"product_id": p.product_id, "category": p.category, "price": p.price, "currency": currency,
            "brand": p.brand or None}


def card(p: Product, currency: str) -> str:
    return (f'<a class="card" href="/p/{escape(p.product_id)}" data-sp-track="product-card" '
            f'data-sp-product-id="{escape(p.product_id)}"><span class="name">{escape(p.name)}</span>'
            f'<span class="price">{money(p.price, currency)}</span></a>')


def grid(products: Sequence[Product], currency: str) -> str:
    if not products:
        return '<p class="empty">Nothing found.</p>'
    return '<div class="grid">' + "".join(card(p, currency) for p in products) + "</div>"


def home(catalog: Catalog) -> Page:
    tiles = "".join(f'<li><a href="{escape(c.url)}" data-sp-track="category-tile">{escape(c.name)}</a>'
                    f' <small>from {money(min(p.price for p in catalog.in_category(c.category_id)), catalog.currency)}'
                    f'</small></li>' for c in catalog.categories.values())
    popular = [catalog.products[p] for p in catalog.popular[:8]]
    body = (f'<h1>Shop by category</h1><ul class="tiles">{tiles}</ul>'
            f'<h2>Popular now</h2>{grid(popular, catalog.currency)}')
    return Page("Home", body)


def _filter_form(category: Category, brands: Sequence[str], brand: str, price_max: str) -> str:
    options = "".join(f'<option value="{escape(b)}"{" selected" if b == brand else ""}>{escape(b.capitalize())}'
                      f'</option>' for b in brands)
    return (f'<form class="filters" action="{escape(category.url)}" method="get">'
            f'<label>Brand <select name="brand"><option value="">any</option>{options}</select></label> '
            f'<label>Max price <input name="price_max" type="number" min="1" value="{escape(price_max)}"></label> '
            f'<button type="submit" data-sp-track="apply-filters">Apply</button></form>')


def category_page(catalog: Catalog, category: Category, query: Mapping[str, str]) -> Page:
    """A category's products, filtered by ``brand`` and ``price_max`` when given."""
    products = catalog.in_category(category.category_id)
    brands = sorted({p.brand for p in products if p.brand})
    brand = query.get("brand", "") if query.get("brand", "") in brands else ""
    raw_max = query.get("price_max", "").strip()
    price_max = float(raw_max) if raw_max.replace(".", "", 1).isdigit() else None
    calls: list[list[Any]] = []
    if brand:
        products = [p for p in products if p.brand == brand]
        calls.append(["filter", "brand", brand])
    if price_max is not None:
        products = [p for p in products if p.price <= price_max]
        calls.append(["filter", "price_max", raw_max])
    body = (f'<h1>{escape(category.name)}</h1>'
            f'{_filter_form(category, brands, brand, raw_max if price_max is not None else "")}'
            f'{grid(products, catalog.currency)}')
    return Page(category.name, body, calls)


def product_page(catalog: Catalog, p: Product) -> Page:
    category = catalog.categories[p.category]
    body = (f'<article class="product" data-product-id="{escape(p.product_id)}">'
            f'<p class="crumb"><a href="{escape(category.url)}">{escape(category.name)}</a></p>'
            f'<h1>{escape(p.name)}</h1><p class="brand">{escape(p.brand.capitalize())}</p>'
            f'<p class="price">{money(p.price, catalog.currency)}</p>'
            f'<form action="/cart/add" method="post"><input type="hidden" name="product_id" '
            f'value="{escape(p.product_id)}"><label>Quantity <input name="quantity" type="number" min="1" '
            f'max="20" value="1"></label> <button type="submit" id="add-to-cart" data-sp-track="add-to-cart" '
            f'data-sp-product-id="{escape(p.product_id)}">Add to cart</button></form></article>')
    return Page(p.name, body, [["productView", tag_product(p, catalog.currency)]])


def search_page(catalog: Catalog, query: str) -> Page:
    calls = [["search", query]] if query else []
    body = f'<h1>Search: {escape(query)}</h1>{grid(catalog.search(query), catalog.currency)}'
    return Page(f"Search {query}", body, calls, query=query)


def cart_table(lines: Sequence[tuple[Product, int]], total: float, currency: str, editable: bool) -> str:
    if not lines:
        return '<p class="empty">Your cart is empty.</p>'
    rows = "".join(
        f'<tr><td><a href="/p/{escape(p.product_id)}">{escape(p.name)}</a></td><td>{q}</td>'
        f'<td>{money(p.price * q, currency)}</td><td>'
        + (f'<form action="/cart/remove" method="post"><input type="hidden" name="product_id" '
           f'value="{escape(p.product_id)}"><button type="submit" data-sp-track="remove-from-cart">Remove'
           f'</button></form>' if editable else "") + "</td></tr>" for p, q in lines)
    return (f'<table class="cart"><tr><th>Product</th><th>Qty</th><th>Amount</th><th></th></tr>{rows}'
            f'<tr class="total"><td>Total</td><td></td><td id="cart-total">{money(total, currency)}</td><td></td>'
            f'</tr></table>')


def cart_page(catalog: Catalog, lines: Sequence[tuple[Product, int]], total: float,
              change: list[Any] | None) -> Page:
    checkout = '<p><a class="button" href="/checkout" data-sp-track="checkout">Checkout</a></p>' if lines else ""
    body = f'<h1>Your cart</h1>{cart_table(lines, total, catalog.currency, True)}{checkout}'
    return Page("Cart", body, [change] if change else [])


def checkout_page(catalog: Catalog, lines: Sequence[tuple[Product, int]], total: float,
                  tag_cart: list[dict[str, Any]]) -> Page:
    place = ('<form action="/checkout" method="post"><button type="submit" id="place-order" '
             'data-sp-track="place-order">Place order (demo, nothing is charged)</button></form>') if lines else ""
    body = f'<h1>Checkout</h1>{cart_table(lines, total, catalog.currency, False)}{place}'
    return Page("Checkout", body, [["checkout", tag_cart]] if lines else [])


def order_page(catalog: Catalog, order_id: str, lines: Sequence[tuple[Product, int]], total: float,
               purchase: list[Any] | None) -> Page:
    body = (f'<h1>Thank you!</h1><p>Order <strong id="order-id">{escape(order_id)}</strong> is confirmed '
            f'(a demo order).</p>{cart_table(lines, total, catalog.currency, False)}')
    return Page("Order confirmed", body, [purchase] if purchase else [])


def login_page(error: str = "") -> Page:
    note = f'<p class="error">{escape(error)}</p>' if error else ""
    body = (f'<h1>Log in</h1>{note}<form action="/login" method="post"><label>User name '
            f'<input name="user" required maxlength="64" pattern="[A-Za-z0-9_.\\-]+"></label> '
            f'<button type="submit" id="login-submit" data-sp-track="login">Log in</button></form>'
            f'<p>A demo login: any name of letters, digits, _ . - works.</p>')
    return Page("Log in", body, status=400 if error else 200)


def not_found(what: str) -> Page:
    return Page("Not found", f'<h1>Not found</h1><p>{escape(what)}</p><p><a href="/">Back to the shop</a></p>',
                status=404)
