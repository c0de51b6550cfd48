"""The shopper's browser state in cookies: login (signed), cart and consent choice.

The login cookie holds the raw user id with an HMAC signature, so a page cannot claim another
shopper's id; from it the service derives the engine's user key, the same keyed pseudonym the
collector gives the user's events. The cart is a plain ``id:qty`` list (a demo shop keeps no
server-side carts); the consent cookie records the choice made on the consent bar.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from udfs.privacy import pseudonymize

from .catalog import Catalog, Product

LOGIN_COOKIE, CART_COOKIE, CONSENT_COOKIE = "sf_login", "sf_cart", "sf_consent"
USER_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_LINES, MAX_QTY = 20, 20


def valid_user_id(user: str) -> bool:
    return USER_ID.fullmatch(user) is not None


def _signature(user: str, key: bytes) -> str:
    return hmac.new(key, b"storefront-login:" + user.encode(), hashlib.sha256).hexdigest()[:32]


def login_cookie(user: str, key: bytes) -> str:
    """The cookie value for a logged-in ``user``."""
    return f"{user}.{_signature(user, key)}"


def logged_in_user(cookies: Mapping[str, str], key: bytes) -> str | None:
    """The raw user id of a correctly signed login cookie, else None."""
    user, _, signature = cookies.get(LOGIN_COOKIE, "").rpartition(".")
    if not valid_user_id(user) or not hmac.compare_digest(signature, _signature(user, key)):
        return None
    return user


def user_key(user: str, key: bytes) -> str:
    """The engine's key for a logged-in user: the collector's pseudonym of the raw id."""
    return pseudonymize(user.strip(), key)


def read_cart(cookies: Mapping[str, str], catalog: Catalog) -> dict[str, int]:
    """Product id -> quantity, keeping only products the catalogue sells and sane quantities."""
    cart: dict[str, int] = {}
    for part in cookies.get(CART_COOKIE, "").split("|")[:MAX_LINES]:
        pid, _, qty = part.partition(":")
        if pid in catalog.products and qty.isdigit() and 1 <= int(qty) <= MAX_QTY:
            cart[pid] = int(qty)
    return cart


def write_cart(cart: Mapping[str, int]) -> str:
    return "|".join(f"{pid}:{qty}" for pid, qty in cart.items())


def cart_lines(cart: Mapping[str, int], catalog: Catalog) -> list[tuple[Product, int]]:
    return [(catalog.products[pid], qty) for pid, qty in cart.items()]


def cart_total(cart: Mapping[str, int], catalog: Catalog) -> float:
    return round(sum(p.price * q for p, q in cart_lines(cart, catalog)), 2)


def tag_lines(cart: Mapping[str, int], catalog: Catalog, currency: str) -> list[dict[str, object]]:
    """Cart lines in the shape the tag's cart functions take."""
    return [{"product_id": p.product_id, "quantity": q, "price": p.price, "currency": currency,
             "category": p.category} for p, q in cart_lines(cart, catalog)]
