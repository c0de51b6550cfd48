"""The catalogue built from REES46 rows, the built-in fallback, search, and the login key."""
from __future__ import annotations

import csv
from pathlib import Path

from services.collector.validation import Context, validate_event
from services.storefront import session
from services.storefront.catalog import BUILTIN, build_catalog, builtin_rows, load_catalog
from tests.unit.test_storefront_kit import KEY, ROWS, small_catalog


def test_categories_use_the_engines_normalized_paths_with_median_prices() -> None:
    catalog = small_catalog()
    assert list(catalog.categories) == ["apparel/shoes/keds", "electronics/smartphone"]  # 4 views each: by name
    phones = catalog.categories["electronics/smartphone"]
    assert phones.name == "Electronics › Smartphone" and phones.url == "/c/electronics/smartphone"
    assert phones.product_ids == ("p1", "p2")  # most viewed first
    assert catalog.products["p1"].price == 310.0  # the median of its observed prices
    assert catalog.products["p1"].name == "Samsung Smartphone p1" and catalog.products["k3"].name.startswith("Generic")
    assert phones.median_price == 605.0 and catalog.categories["apparel/shoes/keds"].median_price == 50.0
    assert "x9" not in catalog.products  # no category: not sellable


def test_limits_keep_the_most_viewed_categories_and_products() -> None:
    extra = [{"product_id": f"c{i}", "category_code": "kids.toys", "brand": "b", "price": "5"} for i in range(6)]
    catalog = build_catalog(ROWS + extra, categories=1, per_category=2)
    assert list(catalog.categories) == ["kids/toys"] and len(catalog.products) == 2
    assert catalog.popular == tuple(catalog.categories["kids/toys"].product_ids)


def test_popular_orders_by_views_and_search_matches_every_word() -> None:
    catalog = small_catalog()
    assert catalog.popular[:2] == ("p1", "k1")
    assert [p.product_id for p in catalog.search("samsung smartphone")] == ["p1"]
    assert catalog.search("   ") == [] and catalog.search("nothing-like-this") == []


def test_csv_file_and_builtin_fallback(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["event_time", "event_type", *ROWS[0]])
        writer.writeheader()
        writer.writerows({"event_time": "2019-10-01 00:00:00 UTC", "event_type": "view", **r} for r in ROWS)
    assert set(load_catalog(str(path), 5, 10).products) == {"p1", "p2", "k1", "k2", "k3"}
    builtin = load_catalog(str(tmp_path / "missing.csv"), 8, 12)
    assert len(builtin.products) == len(builtin_rows(BUILTIN)) == 16
    high = [c for c in builtin.categories.values() if c.median_price >= 100]
    assert high and len(high) < len(builtin.categories)  # some categories are high-value, some not


def test_login_key_is_the_collectors_pseudonym_of_the_same_user() -> None:
    raw = {"event_type": "page_view", "anonymous_id": "a1", "event_time": 1_700_000_000_000, "user_id": "alice"}
    event, problems = validate_event(raw, Context(received_ms=1_700_000_000_000, key=KEY))
    assert problems == [] and event is not None
    assert session.user_key("alice", KEY) == event["user_id"]


def test_login_cookie_is_signed() -> None:
    cookie = session.login_cookie("alice", KEY)
    assert session.logged_in_user({session.LOGIN_COOKIE: cookie}, KEY) == "alice"
    forged = cookie.replace("alice", "bob", 1)
    assert session.logged_in_user({session.LOGIN_COOKIE: forged}, KEY) is None
    assert session.logged_in_user({session.LOGIN_COOKIE: cookie}, b"another-key") is None
    assert session.logged_in_user({}, KEY) is None


def test_cart_cookie_keeps_known_products_and_sane_quantities() -> None:
    catalog = small_catalog()
    cart = session.read_cart({session.CART_COOKIE: "p1:2|zz:1|k1:0|k2:99|k3:x|p2:1"}, catalog)
    assert cart == {"p1": 2, "p2": 1}
    assert session.write_cart(cart) == "p1:2|p2:1" and session.cart_total(cart, catalog) == 1520.0
