"""E-mail bodies for outbound triggers: plain text and HTML, built from the trigger (and the
shop's product names, when the sender has a catalogue: a cart line the catalogue does not know
shows its id, a recommendation it does not sell is left out).

- ``abandoned_cart``: the cart's lines (product, quantity, unit price, line total), the cart
  value, a link back to the cart, and the recommended items.
- ``repeated_browse_offer``: an offer on the category the shopper kept browsing, with a link to
  it, and recommended items when the trigger carries some.

Every value from the trigger is HTML-escaped in the HTML part and URL-quoted in links. The
message's ``Message-ID`` derives from the trigger id, so a receiver can deduplicate too.
"""
from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import quote

TRIGGER_HEADER = "X-Shoppulse-Trigger-Id"


@dataclass(frozen=True)
class Rendered:
    """Subject and both bodies of one e-mail."""

    subject: str
    text: str
    html: str


def money(value: float | None, currency: str | None) -> str:
    """``120.00 EUR``; an unknown value reads as ``-``."""
    return "-" if value is None else f"{value:,.2f} {currency or ''}".rstrip()


def _link(shop_url: str, kind: str, ident: str) -> str:
    return f"{shop_url.rstrip('/')}/{kind}/{quote(ident, safe='/')}"


def _cart_rows(trigger: dict[str, Any], shop_url: str, names: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(plain line, HTML row, product id) per cart line."""
    cur, rows = trigger.get("currency"), []
    for line in trigger.get("cart") or []:
        pid, qty, price = str(line["product_id"]), int(line["quantity"]), float(line["price"])
        name = names.get(pid, pid)
        text = f"  - {name} x {qty} at {money(price, cur)} = {money(price * qty, cur)}  {_link(shop_url, 'p', pid)}"
        row = (f'<tr><td><a href="{html.escape(_link(shop_url, "p", pid))}">{html.escape(name)}</a></td>'
               f"<td>{qty}</td><td>{html.escape(money(price, cur))}</td>"
               f"<td>{html.escape(money(price * qty, cur))}</td></tr>")
        rows.append((text, row, pid))
    return rows


def _recommendations(trigger: dict[str, Any], shop_url: str, names: Mapping[str, str]) -> tuple[str, str]:
    """The 'you might also like' block, plain and HTML ('' when there is nothing to show). With a
    catalogue (``names``) only the products it sells are recommended: a link must lead somewhere."""
    ids = [str(i) for i in trigger.get("recommended_items") or []]
    items = [(i, names.get(i, i)) for i in ids if not names or i in names]
    if not items:
        return "", ""
    text = "You might also like:\n" + "\n".join(f"  - {n}  {_link(shop_url, 'p', i)}" for i, n in items) + "\n"
    lis = "".join(f'<li><a href="{html.escape(_link(shop_url, "p", i))}">{html.escape(n)}</a></li>' for i, n in items)
    return text, f"<h3>You might also like</h3><ul>{lis}</ul>"


def _abandoned_cart(trigger: dict[str, Any], shop_url: str, names: Mapping[str, str]) -> Rendered:
    rows = _cart_rows(trigger, shop_url, names)
    value = money(trigger.get("cart_value"), trigger.get("currency"))
    cart_url = f"{shop_url.rstrip('/')}/cart"
    rec_text, rec_html = _recommendations(trigger, shop_url, names)
    text = ("Hello,\n\nyou left these items in your cart:\n\n" + "\n".join(r[0] for r in rows)
            + f"\n\nCart value: {value}\nComplete your order: {cart_url}\n\n{rec_text}")
    body = (f"<p>Hello,</p><p>you left these items in your cart:</p><table><tr><th>Item</th><th>Qty</th>"
            f"<th>Price</th><th>Total</th></tr>{''.join(r[1] for r in rows)}</table>"
            f"<p>Cart value: <b>{html.escape(value)}</b></p>"
            f'<p><a href="{html.escape(cart_url)}">Complete your order</a></p>{rec_html}')
    count = sum(int(line["quantity"]) for line in trigger.get("cart") or [])
    return Rendered(f"You left {count} item{'s' if count != 1 else ''} in your cart", text, body)


def _browse_offer(trigger: dict[str, Any], shop_url: str, names: Mapping[str, str]) -> Rendered:
    category = str(trigger.get("category") or "our selection")
    url = _link(shop_url, "c", category)
    rec_text, rec_html = _recommendations(trigger, shop_url, names)
    text = (f"Hello,\n\nstill thinking about {category}? We picked an offer for you:\n{url}\n\n{rec_text}")
    body = (f"<p>Hello,</p><p>still thinking about <b>{html.escape(category)}</b>? We picked an offer for you:</p>"
            f'<p><a href="{html.escape(url)}">See the {html.escape(category)} offer</a></p>{rec_html}')
    return Rendered(f"An offer on {category}, picked for you", text, body)


def render(trigger: dict[str, Any], shop_url: str, names: Mapping[str, str] | None = None) -> Rendered:
    """The e-mail for an ``abandoned_cart`` or ``repeated_browse_offer`` trigger (ValueError
    otherwise); ``names`` maps product ids to the names the e-mail shows."""
    kind, names = trigger.get("trigger_type"), names or {}
    if kind == "abandoned_cart":
        return _abandoned_cart(trigger, shop_url, names)
    if kind == "repeated_browse_offer":
        return _browse_offer(trigger, shop_url, names)
    raise ValueError(f"no e-mail for trigger type {kind!r}")


def build_message(trigger: dict[str, Any], rendered: Rendered, sender: str, to: str) -> EmailMessage:
    """A multipart/alternative message (plain text first, then HTML) with trigger headers."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, rendered.subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = f"<{trigger['trigger_id']}.email@shoppulse.invalid>"
    msg[TRIGGER_HEADER] = str(trigger["trigger_id"])
    msg["X-Shoppulse-Trigger-Type"] = str(trigger["trigger_type"])
    msg.set_content(rendered.text)
    msg.add_alternative(f"<!doctype html><html><body>{rendered.html}</body></html>", subtype="html")
    return msg
