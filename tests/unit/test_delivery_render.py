"""E-mail rendering and recipient address resolution."""
from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from services.delivery.config import EmailConfig, load
from services.delivery.directory import (
    BookDirectory,
    ChainDirectory,
    RedisDirectory,
    TemplateDirectory,
    clean_address,
    from_config,
)
from services.delivery.render import TRIGGER_HEADER, build_message, money, render
from tests.unit.delivery_samples import abandoned_cart, browse_offer, ui_hint

SHOP = "https://shop.example"


def parts(msg: EmailMessage) -> tuple[str, str]:
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def test_abandoned_cart_lists_items_value_and_recommendations_in_both_parts() -> None:
    t = abandoned_cart("u1")
    msg = build_message(t, render(t, SHOP), "Shop <offers@shop.example>", "u1@shop.example")
    text, html = parts(msg)
    for body in (text, html):
        assert "p-kettle" in body and "p-toaster" in body
        assert "p-mug" in body and "p-grinder" in body
        assert "120.00 EUR" in body
        assert "https://shop.example/cart" in body
    assert "p-kettle x 2 at 39.50 EUR = 79.00 EUR" in text
    assert msg["Subject"] == "You left 3 items in your cart"
    assert msg["To"] == "u1@shop.example" and msg[TRIGGER_HEADER] == t["trigger_id"]
    assert t["trigger_id"] in msg["Message-ID"]


def test_browse_offer_names_and_links_the_category() -> None:
    t = browse_offer("u2", category="electronics/cameras")
    rendered = render(t, SHOP + "/")
    assert "electronics/cameras" in rendered.subject
    assert "https://shop.example/c/electronics/cameras" in rendered.text
    assert "p-lens" in rendered.text and "p-lens" in rendered.html
    assert "Cart value" not in rendered.text


def test_values_from_the_trigger_are_escaped_in_html_and_quoted_in_links() -> None:
    t = abandoned_cart("u", cart=[{"product_id": "<b>x</b>&y", "quantity": 1, "price": 1.0, "category": None}],
                       recommended_items=['"><script>'])
    rendered = render(t, SHOP)
    assert "<script>" not in rendered.html and "<b>x</b>" not in rendered.html
    assert "&lt;b&gt;x&lt;/b&gt;&amp;y" in rendered.html
    assert "https://shop.example/p/%3Cb%3Ex%3C/b%3E%26y" in rendered.text


def test_known_products_are_named_linked_by_id_escaped_and_unsold_ones_not_recommended() -> None:
    t = abandoned_cart("u1")
    names = {"p-kettle": "Acme Kettle <2l>", "p-mug": "Acme Mug"}
    rendered = render(t, SHOP, names)
    assert "Acme Kettle <2l> x 2 at 39.50 EUR = 79.00 EUR  https://shop.example/p/p-kettle" in rendered.text
    assert "  - Acme Mug  https://shop.example/p/p-mug" in rendered.text
    assert "p-toaster x 1" in rendered.text, "a cart line the catalogue does not know shows its id"
    assert "p-grinder" not in rendered.text + rendered.html, "a recommendation the shop does not sell is left out"
    assert "p-grinder" in render(t, SHOP).text, "without a catalogue every recommendation is shown"
    assert '<a href="https://shop.example/p/p-kettle">Acme Kettle &lt;2l&gt;</a>' in rendered.html
    assert '<a href="https://shop.example/p/p-mug">Acme Mug</a>' in rendered.html


def test_the_sender_names_products_from_the_storefronts_catalogue() -> None:
    from services.delivery.senders import product_names
    from services.storefront.catalog import configured_catalog
    from services.storefront.config import DEFAULT_DATA

    names = product_names(str(DEFAULT_DATA))
    catalogue = configured_catalog(catalog_path=str(DEFAULT_DATA)).products
    assert names and names == {pid: p.name for pid, p in catalogue.items()}
    assert product_names("") == {}


def test_no_email_for_ui_personalization() -> None:
    with pytest.raises(ValueError, match="ui_personalization"):
        render(ui_hint("u"), SHOP)


def test_money() -> None:
    assert money(1234.5, "EUR") == "1,234.50 EUR" and money(None, "EUR") == "-" and money(3, None) == "3.00"


@pytest.mark.parametrize(("value", "ok"), [
    ("a@shop.example", True), ("a@localhost", False), ("no-at.example", False), ("", False), (None, False),
    ("a@shop.example\r\nBcc: x@evil.example", False), ("a@shop.example, b@shop.example", False),
    ("Name <a@shop.example>", False),
])
def test_clean_address_accepts_one_plain_address_only(value: str | None, ok: bool) -> None:
    assert (clean_address(value) == value) if ok else clean_address(value) is None


class FakeRedis:
    def __init__(self, data: dict[str, bytes]) -> None:
        self.data = data

    def get(self, key: str) -> bytes | None:
        return self.data.get(key)


def test_directory_chain_book_then_redis_then_template(tmp_path: Path) -> None:
    book = tmp_path / "book.json"
    book.write_text(json.dumps({"u1": "alice@mail.example", "u4": "broken"}))
    redis = FakeRedis({"sp:contact:u2": b"bob@mail.example"})
    cfg = load(EmailConfig, {}, address_book=str(book), address_key="sp:contact:{user}")
    chain = from_config(cfg, redis)
    assert chain.address("u1") == "alice@mail.example"
    assert chain.address("u2") == "bob@mail.example"
    assert chain.address("u3") == "u3@shop.example"
    assert chain.address("u4") == "u4@shop.example", "an invalid book entry falls through"


def test_directory_without_template_has_no_answer_for_unknown_users() -> None:
    chain = ChainDirectory([BookDirectory({"u1": "a@b.example"}), RedisDirectory(FakeRedis({}), "c:{user}")])
    assert chain.address("u1") == "a@b.example" and chain.address("u2") is None
    assert TemplateDirectory("{user}@shop.example").address("u 1") is None


def test_address_book_must_be_an_object_of_strings(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"u1": 5}))
    with pytest.raises(ValueError, match="user id -> address"):
        BookDirectory.from_file(str(path))
