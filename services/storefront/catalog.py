"""The shop's catalogue, built from real REES46 events (product id, category code, brand, price).

The data has no product names, so a product is named from its brand, category leaf and id
("Samsung Smartphone 1002544"). ``build_catalog`` keeps the most viewed categories and, in each,
the most viewed products with their median observed price; popularity (views) orders the
fallback recommendations. Category ids are the engine's normalized paths
(``electronics.smartphone`` -> ``electronics/smartphone``), so a trigger's category names a
category page directly. Without the data file a small built-in catalogue is used.
"""
from __future__ import annotations

import csv
import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from udfs.normalize import normalize_category

BUILTIN = Path(__file__).resolve().parent / "catalog_builtin.json"


@dataclass(frozen=True)
class Product:
    """One sellable product; ``price`` in the shop's base currency."""

    product_id: str
    name: str
    brand: str
    category: str
    price: float
    views: int = 0

    def as_json(self) -> dict[str, object]:
        return {"product_id": self.product_id, "name": self.name, "brand": self.brand,
                "category": self.category, "price": self.price, "url": f"/p/{self.product_id}"}


@dataclass(frozen=True)
class Category:
    """A category page: its normalized path, display name and products (most viewed first)."""

    category_id: str
    name: str
    product_ids: tuple[str, ...]
    median_price: float

    @property
    def url(self) -> str:
        return f"/c/{self.category_id}"


@dataclass
class Catalog:
    """Products and categories by id, and the most popular products first."""

    products: dict[str, Product]
    categories: dict[str, Category]
    popular: tuple[str, ...] = field(default=())
    currency: str = "EUR"

    def offers(self) -> list[tuple[str, str, float]]:
        """(product id, category, price) of every product: what the demo's simulator and model use."""
        return [(p.product_id, p.category, p.price) for p in self.products.values()]

    def in_category(self, category_id: str) -> list[Product]:
        return [self.products[p] for p in self.categories[category_id].product_ids]

    def search(self, query: str, limit: int = 24) -> list[Product]:
        """Products whose name, brand or category contains every word of ``query``."""
        words = query.lower().split()
        if not words:
            return []
        hits = [p for p in self.products.values()
                if all(w in f"{p.name} {p.brand} {p.category}".lower() for w in words)]
        return sorted(hits, key=lambda p: -p.views)[:limit]


def category_name(category_id: str) -> str:
    """"electronics/audio/headphone" -> "Electronics › Audio › Headphone"."""
    return " › ".join(part.replace("_", " ").capitalize() for part in category_id.split("/"))


def product_name(brand: str, category_id: str, product_id: str) -> str:
    leaf = category_id.rsplit("/", 1)[-1].replace("_", " ").capitalize()
    return f"{brand.capitalize() if brand else 'Generic'} {leaf} {product_id}"


@dataclass
class _Tally:
    """Per-product observations while reading the events."""

    category: dict[str, str] = field(default_factory=dict)
    brand: dict[str, str] = field(default_factory=dict)
    prices: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    views: Counter[str] = field(default_factory=Counter)

    def add(self, row: Mapping[str, str]) -> None:
        category = normalize_category(row.get("category_code") or None)
        pid, price = (row.get("product_id") or "").strip(), _price(row.get("price"))
        if not category or not pid or price is None:
            return
        self.category[pid], self.brand[pid] = category, (row.get("brand") or "").strip()
        self.prices[pid].append(price)
        self.views[pid] += 1


def _price(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if value > 0 else None


def build_catalog(rows: Iterable[Mapping[str, str]], categories: int, per_category: int) -> Catalog:
    """The ``categories`` most viewed categories with their ``per_category`` most viewed products."""
    tally = _Tally()
    for row in rows:
        tally.add(row)
    by_category: dict[str, list[str]] = defaultdict(list)
    for pid, _ in tally.views.most_common():
        by_category[tally.category[pid]].append(pid)
    ranked = sorted(by_category, key=lambda c: (-sum(tally.views[p] for p in by_category[c]), c))
    products: dict[str, Product] = {}
    cats: dict[str, Category] = {}
    for cid in ranked[:categories]:
        chosen = by_category[cid][:per_category]
        for pid in chosen:
            price = round(statistics.median(tally.prices[pid]), 2)
            products[pid] = Product(pid, product_name(tally.brand[pid], cid, pid), tally.brand[pid], cid,
                                    price, tally.views[pid])
        median = statistics.median(products[p].price for p in chosen)
        cats[cid] = Category(cid, category_name(cid), tuple(chosen), round(median, 2))
    popular = tuple(sorted(products, key=lambda p: (-products[p].views, p)))
    return Catalog(products, cats, popular)


def builtin_rows(path: Path = BUILTIN) -> list[dict[str, str]]:
    """The built-in catalogue, in the same row shape as the REES46 CSV."""
    return [{k: str(v) for k, v in row.items()} for row in json.loads(path.read_text())]


def load_catalog(path: str, categories: int, per_category: int) -> Catalog:
    """The catalogue from the REES46 CSV at ``path``, or the built-in one when it is absent."""
    source = Path(path)
    if not source.is_file():
        return build_catalog(builtin_rows(), categories, per_category)
    with source.open(newline="", encoding="utf-8") as handle:
        return build_catalog(csv.DictReader(handle), categories, per_category)


def configured_catalog(**overrides: object) -> Catalog:
    """The catalogue the storefront serves under the ``SP_STOREFRONT_CATALOG_*`` settings (and
    ``overrides`` of them): what the demo's simulator and model share with the shop."""
    from .config import load_config

    cfg = load_config(None, **overrides)
    return load_catalog(cfg.catalog_path, cfg.catalog_categories, cfg.catalog_per_category)
