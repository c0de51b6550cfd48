"""The demo's model: trained on the shop's own events, so it recommends what the storefront sells,
and trained again when the promoted model knows none of the shop's products."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines import demo_model
from pipelines.demo_events import shop_products
from services.storefront.catalog import configured_catalog
from udfs.model_store import ModelStoreError, current_version

ROOT = Path(__file__).resolve().parents[2]


class Version:
    def __init__(self, items: list[str] | None, version: str = "v0007") -> None:
        self.items, self.version = items, version

    def meta(self) -> dict[str, Any]:
        if self.items is None:
            raise ModelStoreError("v0007/model.json: sha256 0123 != registered 4567")
        return {"feature_spec": {"items": self.items}}


def test_a_model_knows_the_shop_when_its_vocabulary_holds_one_of_the_shops_products() -> None:
    products = [("1001", "electronics/smartphone", 289.0), ("1002", "electronics/smartphone", 899.0)]
    assert demo_model.knows_shop(Version(["p1000", "1002"]), products)  # type: ignore[arg-type]
    assert not demo_model.knows_shop(Version(["p1000", "p1001"]), products)  # type: ignore[arg-type]


def test_the_reason_for_a_new_model_is_said_and_an_unreadable_one_is_replaced_not_fatal() -> None:
    products = [("1001", "electronics/smartphone", 289.0)]
    assert demo_model.unfit(None, products) == "no promoted model"
    assert demo_model.unfit(Version(["1001"]), products) is None  # type: ignore[arg-type]
    assert "v0007 knows none of the shop's products" in str(demo_model.unfit(Version(["p1"]), products))  # type: ignore[arg-type]
    assert "v0007 cannot be read (v0007/model.json: sha256" in str(demo_model.unfit(Version(None), products))  # type: ignore[arg-type]


def test_the_shop_products_are_the_storefront_catalogue() -> None:
    sold = configured_catalog().products
    assert {(p.product_id, p.category, p.price) for p in sold.values()} == set(shop_products())


def test_without_the_events_file_the_history_is_demo_journeys_over_the_shops_products(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SP_STOREFRONT_CATALOG_PATH", str(tmp_path / "absent.csv"))
    products = shop_products()  # the built-in catalogue
    data, fmt, _ = demo_model.training_data(tmp_path, products)
    assert fmt == "avro" and data.is_file()
    import fastavro

    with data.open("rb") as handle:
        viewed = {e["product"]["product_id"] for e in fastavro.reader(handle) if e.get("product")}
    assert viewed and viewed <= {pid for pid, _, _ in products}


def test_a_promoted_model_of_other_products_is_replaced_by_one_trained_on_the_shops_events(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = tmp_path / "registry"
    monkeypatch.setenv("SP_SCORER_REGISTRY", str(registry))
    foreign = tmp_path / "foreign.avro"
    demo_model.demo_history(foreign, products=None, shoppers=400)  # the synthetic p1000-p1199 catalogue
    subprocess.run([sys.executable, "-m", "models.train", "--data", str(foreign), "--format", "avro",
                    "--out", str(tmp_path / "run"), "--configs", "1", "--max-epochs", "1", "--threads", "1",
                    "--register", str(registry), "--promote"], cwd=ROOT, check=True, capture_output=True)
    old = current_version(registry)
    assert old is not None and not demo_model.knows_shop(old, shop_products())

    version = demo_model.ensure_model(tmp_path / "demo")
    new = current_version(registry)
    assert new is not None and version == new.version != old.version
    assert demo_model.knows_shop(new, shop_products())
    assert demo_model.ensure_model(tmp_path / "demo") == new.version, "a fitting model is kept"
