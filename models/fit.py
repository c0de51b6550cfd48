"""Fit one SessionTransformer configuration with early stopping on a validation score.

The loss is the sum of two mean negative log-likelihoods: next-item cross-entropy over the item
table at every step that has a next-item target, and binary cross-entropy of purchase intent at
every intent case (only when the data has purchase labels). Validation reports the same loss and
the session-rec numbers (Recall@k, MRR@k over every next-item target; ROC-AUC / PR-AUC over the
intent cases), computed with ``models.metrics`` from one causal pass per window.

Early stopping and model selection maximise ``score`` = MRR@k + (ROC-AUC - 0.5): each head's
gain over chance (random ranking has MRR ~0, random intent AUC 0.5), the AUC term only when
the validation data has intent cases of both classes. Not the loss: on sparse session data the
validation cross-entropy turns up epochs before the ranking metrics stop improving.
"""
from __future__ import annotations

import copy
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.optim.lr_scheduler import LambdaLR, LRScheduler

from models.data.textio import Progress
from models.metrics import mrr_at_k, pr_auc, ranks_from_scores, recall_at_k, roc_auc
from models.model import ModelConfig, SessionTransformer
from models.windows import IGNORE, Window, collate
from udfs.session_features import OOV, FeatureSpec, Featurizer


@dataclass(frozen=True)
class TrainConfig:
    """Architecture and optimisation hyper-parameters of one training run."""

    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 2
    dropout: float = 0.2
    lr: float = 2e-3
    weight_decay: float = 0.01
    batch_size: int = 64
    max_epochs: int = 30
    patience: int = 5
    warmup_epochs: int = 2
    intent_weight: float = 1.0
    seed: int = 0

    @property
    def name(self) -> str:
        return f"d{self.d_model}-L{self.n_layers}-H{self.n_heads}-p{self.dropout:g}-lr{self.lr:g}"

    def model_config(self, spec: FeatureSpec) -> ModelConfig:
        return ModelConfig(n_items=spec.n_items, n_event_types=spec.n_event_types, n_gaps=spec.gap_buckets,
                           n_prices=spec.price_bands, n_categories=spec.n_categories, max_len=spec.max_len,
                           d_model=self.d_model, n_layers=self.n_layers, n_heads=self.n_heads,
                           dropout=self.dropout)


@dataclass
class FitResult:
    """The best model (by validation score) and the per-epoch history that chose it."""

    config: TrainConfig
    model: SessionTransformer
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0

    @property
    def best(self) -> dict[str, float]:
        return self.history[self.best_epoch - 1]

    def summary(self) -> dict[str, Any]:
        return {"config": asdict(self.config), "name": self.config.name, "best_epoch": self.best_epoch,
                "n_params": self.model.n_params(), "best": self.best, "history": self.history}


def batches(windows: Sequence[Window], featurizer: Featurizer, size: int,
            rng: np.random.Generator | None = None) -> Iterator[dict[str, Tensor]]:
    """Tensors of batches; shuffled and length-bucketed when ``rng`` is given (less padding)."""
    order = np.arange(len(windows)) if rng is None else rng.permutation(len(windows))
    if rng is not None:
        chunks = [sorted(order[i:i + size * 20], key=lambda j: windows[j].features.shape[1])
                  for i in range(0, len(order), size * 20)]
        groups = [c[i:i + size] for c in chunks for i in range(0, len(c), size)]
        order_groups = [groups[i] for i in rng.permutation(len(groups))]
    else:
        order_groups = [list(order[i:i + size]) for i in range(0, len(order), size)]
    for group in order_groups:
        arrays = collate([windows[j] for j in group], featurizer)
        yield {k: torch.from_numpy(v) for k, v in arrays.items()}


def step_outputs(model: SessionTransformer, batch: dict[str, Tensor],
                 ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Item logits (N, V) and targets (N,) at item targets; intent logits and labels (M,) at cases."""
    h = model.encode(batch["items"], batch["event_types"], batch["gaps"], batch["prices"],
                     batch["categories"], batch["mask"])  # (B, T, C)
    item_at = batch["item_target"] != IGNORE  # (B, T)
    intent_at = batch["intent_target"] != IGNORE  # (B, T)
    logits = model.item_logits(h[item_at])  # (N, V)
    intent = model.intent_logit(h[intent_at])  # (M,)
    return logits, batch["item_target"][item_at], intent, batch["intent_target"][intent_at].float()


def losses(model: SessionTransformer, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    """(next-item cross-entropy, intent binary cross-entropy); zero where a batch has no targets."""
    logits, targets, intent, labels = step_outputs(model, batch)
    item_loss = F.cross_entropy(logits, targets) if len(targets) else logits.sum() * 0.0
    intent_loss = F.binary_cross_entropy_with_logits(intent, labels) if len(labels) else intent.sum() * 0.0
    return item_loss, intent_loss


def train_epoch(model: SessionTransformer, opt: torch.optim.Optimizer, sched: LRScheduler,
                windows: Sequence[Window], featurizer: Featurizer, cfg: TrainConfig, rng: np.random.Generator,
                progress: Progress) -> float:
    """One pass over ``windows``; returns the mean training loss."""
    model.train()
    total, n = 0.0, 0
    for batch in batches(windows, featurizer, cfg.batch_size, rng):
        item_loss, intent_loss = losses(model, batch)
        loss = item_loss + cfg.intent_weight * intent_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        total, n = total + float(loss), n + 1
        progress.update(len(batch["mask"]))
    return total / max(n, 1)


@torch.no_grad()
def validate(model: SessionTransformer, windows: Sequence[Window], featurizer: Featurizer,
             k: int = 20, batch_size: int = 256) -> dict[str, float]:
    """Validation loss and session-rec metrics over every target of ``windows``."""
    model.eval()
    item_nll = intent_nll = 0.0
    ranks, labels, scores = [], [], []
    for batch in batches(windows, featurizer, batch_size):
        logits, targets, intent, y = step_outputs(model, batch)
        item_nll += float(F.cross_entropy(logits, targets, reduction="sum")) if len(targets) else 0.0
        intent_nll += float(F.binary_cross_entropy_with_logits(intent, y, reduction="sum")) if len(y) else 0.0
        logits[:, :OOV + 1] = float("-inf")  # never rank padding / OOV
        ranks.append(ranks_from_scores(logits.numpy(), targets.numpy()))
        labels.append(y.numpy())
        scores.append(torch.sigmoid(intent).numpy())
    return _metrics(np.concatenate(ranks), np.concatenate(labels), np.concatenate(scores),
                    item_nll, intent_nll, k)


def _metrics(ranks: np.ndarray, labels: np.ndarray, scores: np.ndarray, item_nll: float,
             intent_nll: float, k: int) -> dict[str, float]:
    out = {"item_loss": item_nll / max(len(ranks), 1), "intent_loss": intent_nll / max(len(labels), 1)}
    out["loss"] = out["item_loss"] + out["intent_loss"]
    out["score"] = 0.0
    if len(ranks):
        out[f"Recall@{k}"], out[f"MRR@{k}"] = recall_at_k(ranks, k), mrr_at_k(ranks, k)
        out["score"] += out[f"MRR@{k}"]
    if len(labels) and labels.min() != labels.max():
        out["AUC"], out["PR-AUC"] = roc_auc(labels.astype(int), scores), pr_auc(labels.astype(int), scores)
        out["score"] += out["AUC"] - 0.5
    return out


def fit(cfg: TrainConfig, featurizer: Featurizer, train: Sequence[Window], valid: Sequence[Window],
        label: str = "train") -> FitResult:
    """Train from seed ``cfg.seed`` until the validation score stops improving for ``patience`` epochs."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = SessionTransformer(cfg.model_config(featurizer.spec))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    warmup = max(1, cfg.warmup_epochs * -(-len(train) // cfg.batch_size))  # optimizer steps
    sched = LambdaLR(opt, lambda step: min(1.0, (step + 1) / warmup))
    result, best_state, best_score = FitResult(cfg, model), copy.deepcopy(model.state_dict()), float("-inf")
    for epoch in range(1, cfg.max_epochs + 1):
        started = time.monotonic()
        progress = Progress(f"{label} {cfg.name} epoch {epoch}", total=len(train), unit="windows")
        train_loss = train_epoch(model, opt, sched, train, featurizer, cfg, rng, progress)
        progress.done()
        stats = {"epoch": epoch, "train_loss": train_loss, **validate(model, valid, featurizer)}
        stats["seconds"] = time.monotonic() - started
        result.history.append(stats)
        if stats["score"] > best_score:
            best_score, result.best_epoch = stats["score"], epoch
            best_state = copy.deepcopy(model.state_dict())
        elif epoch - result.best_epoch >= cfg.patience:
            break
    model.load_state_dict(best_state)
    model.eval()
    return result
