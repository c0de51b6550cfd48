"""Shop pages through the aiohttp test client: every page carries the collector's tag and queues
the right tag events (product view, filter, search, cart change, checkout, purchase, login)."""
from __future__ import annotations

import json
import re
from typing import Any

from aiohttp.test_utils import TestClient

from services.storefront import session
from services.storefront.__main__ import main
from tests.unit.test_storefront_kit import KEY, client_for, run


def tag_setup(html: str) -> tuple[dict[str, Any], list[list[Any]]]:
    """The tag configuration and queued tag calls a page carries."""
    match = re.search(r"window\.shoppulseConfig = (.*?); window\.shoppulse = (.*?);\n", html)
    assert match, "no tag set-up on the page"
    return json.loads(match.group(1)), json.loads(match.group(2))


async def page(client: TestClient, path: str, status: int = 200) -> tuple[str, dict[str, Any], list[list[Any]]]:
    resp = await client.get(path)
    html = await resp.text()
    assert resp.status == status, (path, html[:300])
    assert '<script src="http://collector.test:8088/tag.js" defer></script>' in html
    config, calls = tag_setup(html)
    return html, config, calls


def test_every_page_includes_the_tag_configured_for_the_collector_and_consent() -> None:
    async def scenario() -> None:
        async with client_for(tag_flush_ms=750) as client:
            for path in ("/", "/c/electronics/smartphone", "/p/p1", "/search?q=nike", "/cart", "/checkout",
                         "/login"):
                html, config, calls = await page(client, path)
                assert config == {"endpoint": "http://collector.test:8088/v1/events", "flushIntervalMs": 750,
                                  "autoPageView": False, "requireConsent": True, "consent": None}
                assert calls[0] == ["page"] and calls[-1] == ["flush"]
                assert 'id="consent-bar" class="consent">' in html  # shown until the shopper chooses
            client.session.cookie_jar.update_cookies({session.CONSENT_COOKIE: "all"})
            html, config, _ = await page(client, "/")
            assert config["consent"] == {"analytics": True, "personalization": True, "marketing": False}
            assert 'id="consent-bar" class="consent" hidden>' in html

    run(scenario)


def test_product_category_and_search_pages_queue_their_events() -> None:
    async def scenario() -> None:
        async with client_for() as client:
            html, _, calls = await page(client, "/p/p1")
            assert ["productView", {"product_id": "p1", "category": "electronics/smartphone", "price": 310.0,
                                    "currency": "EUR", "brand": "samsung"}] in calls
            assert "Samsung Smartphone p1" in html and 'data-sp-product-id="p1"' in html
            html, _, calls = await page(client, "/c/apparel/shoes/keds?brand=nike&price_max=70")
            assert ["filter", "brand", "nike"] in calls and ["filter", "price_max", "70"] in calls
            assert "/p/k1" in html and "/p/k2" not in html
            html, _, calls = await page(client, "/search?q=apple")
            assert ["search", "apple"] in calls and "/p/p2" in html and "/p/p1" not in html
            await page(client, "/p/nope", 404)
            await page(client, "/c/no/such", 404)

    run(scenario)


def test_cart_changes_checkout_and_purchase_each_send_one_event() -> None:
    async def scenario() -> None:
        async with client_for() as client:
            resp = await client.post("/cart/add", data={"product_id": "p2", "quantity": "2"}, allow_redirects=False)
            assert resp.status == 303 and resp.headers["Location"] == "/cart"
            html, _, calls = await page(client, "/cart")
            line = {"product_id": "p2", "quantity": 2, "price": 900.0, "currency": "EUR",
                    "category": "electronics/smartphone"}
            assert calls[1][:3] == ["addToCart", {"product_id": "p2", "category": "electronics/smartphone",
                                                  "price": 900.0, "currency": "EUR", "brand": "apple"}, 2]
            assert calls[1][3] == [line] and "1,800.00 EUR" in html and "Cart (2)" in html
            assert tag_setup(await (await client.get("/cart")).text())[1] == [["page"], ["flush"]]  # reload
            _, _, calls = await page(client, "/checkout")
            assert ["checkout", [line]] in calls
            resp = await client.post("/checkout", allow_redirects=False)
            order_url = resp.headers["Location"]
            _, _, calls = await page(client, order_url)
            assert calls[1] == ["purchase", order_url.rsplit("/", 1)[1], [line], {}]
            assert tag_setup(await (await client.get(order_url)).text())[1] == [["page"], ["flush"]]
            html, _, _ = await page(client, "/cart")
            assert "Your cart is empty" in html
            bad = await client.post("/cart/add", data={"product_id": "p2", "quantity": "99"})
            assert bad.status == 400

    run(scenario)


def test_login_identifies_the_shopper_and_renders_their_engine_key() -> None:
    async def scenario() -> None:
        async with client_for() as client:
            await client.post("/login", data={"user": "alice"})
            html, _, calls = await page(client, "/")  # the redirect target already consumed the flash
            assert calls[0] == ["identify", "alice"]
            assert f'data-user-key="{session.user_key("alice", KEY)}"' in html and "Hi, alice" in html
            refused = await client.post("/login", data={"user": "not a name!"})
            assert refused.status == 400
            await client.post("/logout")
            html, _, calls = await page(client, "/")
            assert calls[0] == ["page"] and 'data-user-key=""' in html

    run(scenario)


def test_login_redirect_sends_the_login_event_once() -> None:
    async def scenario() -> None:
        async with client_for() as client:
            resp = await client.post("/login", data={"user": "bob"}, allow_redirects=False)
            assert resp.status == 303
            _, _, calls = await page(client, "/")
            assert calls[0] == ["login", "bob"]
            _, _, calls = await page(client, "/")
            assert calls[0] == ["identify", "bob"]

    run(scenario)


def test_static_script_health_and_help() -> None:
    async def scenario() -> None:
        async with client_for() as client:
            script = await client.get("/static/storefront.js")
            assert script.status == 200 and "EventSource('/api/live'" in await script.text()
            health = await (await client.get("/healthz")).json()
            assert health == {"status": "ok", "products": 5, "routed": 0, "hidden": 0, "erased": 0}

    run(scenario)
    assert main(["--help"]) == 0


def test_start_without_a_pseudonym_key_fails_loudly(monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.delenv("SP_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("SP_STOREFRONT_ALLOW_DEV_KEY", raising=False)
    assert main([]) == 2
    assert "SP_PSEUDONYM_KEY is not set" in capsys.readouterr().err
