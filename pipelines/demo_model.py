"""A model for the demo: when the registry has no promoted version, or the promoted one knows
none of the shop's products, train a small one, export it to ONNX, register and promote it, so
the demo job scores sessions and recommends what the storefront sells.

The history is the REES46 events file the storefront's catalogue is built from (real sessions
over the same product ids); without it, demo journeys over the shop's products, written as an
Avro container file of behavior_event records. ``models.train`` runs in a child process (torch
stays out of the job's process). A shop trains on its own history: ``python -m models.train --help``.
"""
from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import fastavro

from pipelines.demo_events import Products, journey, shop_products
from services.storefront.config import load_config as load_storefront_config
from udfs.avro_codec import registry
from udfs.envconfig import from_env
from udfs.model_store import ModelStoreError, ModelVersion, current_version, resolve_root
from udfs.session_scorer import ScorerConfig

ROOT = Path(__file__).resolve().parent.parent
DAY_MS = 86_400_000


def demo_history(path: Path, products: Products | None = None, shoppers: int = 3000, days: int = 14,
                 seed: int = 11) -> int:
    """Write ``shoppers`` demo journeys over ``products`` spread over ``days`` days to ``path``;
    returns the count."""
    rng = random.Random(seed)
    start = int(time.time() * 1000) - days * DAY_MS
    events = [e for i in range(shoppers) for e in journey(rng, i, start + rng.randrange(days * DAY_MS), products)]
    events.sort(key=lambda e: e["event_time"])  # (event_time-ordered behavior_event dicts)
    with path.open("wb") as out:
        fastavro.writer(out, registry().schema("behavior_event"), events)
    return len(events)


def knows_shop(found: ModelVersion, products: Products) -> bool:
    """Whether the model's item vocabulary holds any product the shop sells: one that holds none
    can only recommend what the storefront cannot show."""
    items = set(found.meta()["feature_spec"]["items"])
    return any(pid in items for pid, _, _ in products)


def unfit(found: ModelVersion | None, products: Products) -> str | None:
    """Why the demo needs a new model (None: the promoted one will do)."""
    if found is None:
        return "no promoted model"
    try:
        fits = knows_shop(found, products)
    except ModelStoreError as exc:
        return f"the promoted model {found.version} cannot be read ({exc})"
    return None if fits else f"the promoted model {found.version} knows none of the shop's products"


def training_data(work: Path, products: Products) -> tuple[Path, str, str]:
    """(file, format, description): the REES46 events the storefront's catalogue comes from, or,
    without that file, demo journeys over the shop's products."""
    source = Path(load_storefront_config().catalog_path)
    if source.is_file():
        return source, "rees46", f"the shop's REES46 events ({source.name})"
    count = demo_history(work / "history.avro", products)
    return work / "history.avro", "avro", f"{count} demo events over the shop's products"


def ensure_model(work: Path = ROOT / "artifacts" / "demo-model") -> str | None:
    """The promoted version, training one first when there is none, or when the promoted one knows
    none of the shop's products; None if training fails."""
    root = resolve_root(from_env(ScorerConfig, "SP_SCORER").registry)
    products = shop_products()
    found = current_version(root)
    why = unfit(found, products)
    if found is not None and why is None:
        return str(found.version)
    work.mkdir(parents=True, exist_ok=True)
    data, fmt, what = training_data(work, products)
    print(f"==> {why}: training a small one on {what} (about a minute) ...", flush=True)
    cmd = [sys.executable, "-m", "models.train", "--data", str(data), "--format", fmt,
           "--out", str(work / "run"), "--configs", "1", "--max-epochs", "4", "--threads", "2",
           "--register", str(root), "--promote"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"    training failed; the demo runs on rules alone:\n{done.stderr[-2000:]}", flush=True)
        return None
    found = current_version(root)
    return str(found.version) if found is not None else None


if __name__ == "__main__":
    print(ensure_model())
