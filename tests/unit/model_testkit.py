"""Shared helpers of the model tests: synthetic sessions with learnable structure, tiny exports.

``synthetic_sessions`` draws shoppers who walk a catalogue in order (item i is followed by item
i + 1); half of them browse cheap "deals" and end with a cart add and a purchase, the others
browse expensive items and at most add to cart: so the next-item head can learn the walk and the
intent head who buys. ``export_random_model`` writes an untrained model's
export directory (ONNX + model.json) fast, for registry and scorer tests; ``new_registry`` gives
an empty MLflow registry without paying for MLflow's table creation each time.
"""
from __future__ import annotations

import atexit
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from models.data import Session, make_step
from models.export import export_checkpoint
from models.fit import TrainConfig
from models.model import SessionTransformer, save_checkpoint
from models.registry import ModelRegistry
from udfs.model_store import REGISTRY_DB
from udfs.session_features import Featurizer, build_spec

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "data"
DIGINETICA = SAMPLES / "diginetica-sample-item-views.csv"


def synthetic_sessions(n: int, n_items: int = 40, seed: int = 0) -> list[Session]:
    """``n`` sessions a minute apart: catalogue walks; buyers browse cheap "deals" and end in a purchase."""
    rng = random.Random(seed)
    sessions = []
    for s in range(n):
        t = 1_700_000_000_000 + s * 60_000
        start, buyer = rng.randrange(n_items), rng.random() < 0.5
        category, price = ("deals", 5.0) if buyer else ("browse", 500.0)
        steps = []
        for i in range(rng.randint(2, 8)):
            t += rng.randint(1, 90) * 1000
            steps.append(make_step(f"p{(start + i) % n_items}", "product_view", t, price, category))
        if buyer or rng.random() < 0.3:
            steps.append(make_step(steps[-1]["item_id"], "add_to_cart", t + 5_000, price, category))
        if buyer:
            steps.append(make_step(steps[-1]["item_id"], "purchase", t + 60_000, price, category))
        sessions.append(Session(f"s{s}", steps))
    return sessions


def random_checkpoint(path: Path, sessions: list[Session], seed: int = 0, **meta: Any) -> Path:
    """An untrained (seeded) model of the smallest search configuration, saved as a checkpoint."""
    spec = build_spec([s.steps for s in sessions], max_len=20)
    torch.manual_seed(seed)
    model = SessionTransformer(TrainConfig(d_model=16, n_layers=1, n_heads=1).model_config(spec)).eval()
    save_checkpoint(str(path), model, {"feature_spec": spec.to_dict(), "intent_trained": True, **meta})
    return path


def export_random_model(out: Path, seed: int = 0, n_items: int = 40) -> Path:
    """Export dir of an untrained model over ``n_items`` synthetic items."""
    out.mkdir(parents=True, exist_ok=True)
    sessions = synthetic_sessions(30, n_items=n_items, seed=seed)
    export_checkpoint(random_checkpoint(out / "model.pt", sessions, seed), out, [s.steps for s in sessions])
    return out


def featurizer_for(sessions: list[Session], max_len: int = 20) -> Featurizer:
    return Featurizer(build_spec([s.steps for s in sessions], max_len=max_len))


_TEMPLATE: list[Path] = []


def new_registry(root: Path) -> ModelRegistry:
    """An empty registry at ``root``. Its database is a copy of one made once per test process:
    creating MLflow's tables runs its migrations, about 2 s each time."""
    if not _TEMPLATE:
        template = Path(tempfile.mkdtemp(prefix="sp-registry-template-"))
        atexit.register(shutil.rmtree, template, True)
        ModelRegistry(template).client().search_registered_models()
        _TEMPLATE.append(template / REGISTRY_DB)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_TEMPLATE[0], root / REGISTRY_DB)
    return ModelRegistry(root)
