"""The session transformer: SASRec-style causal self-attention over a shopper's steps.

Inputs are the five int64 feature rows of ``udfs.session_features`` (items, event types, time-gap
buckets, price bands, categories), each (B, T), LEFT-padded, plus a bool padding mask (B, T).
Each step's embedding is the sum of its feature embeddings and a learned position embedding;
positions count from the first real step (cumsum of the mask), so a prefix scored alone gets
the same positions it had inside the whole session during training. Pre-LayerNorm blocks with
causal attention follow (nanoGPT layout). Two heads read the hidden states:

- next item: logits over the item table, scored against the (tied) item embeddings;
- purchase intent: sigmoid probability that a purchase is still to come in the session.

``forward`` is exactly what gets exported to ONNX: it returns the heads at the newest step only.
Training uses ``encode`` + ``item_logits`` / ``intent_logit`` at every position.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NEG = -1e9


@dataclass(frozen=True)
class ModelConfig:
    """Table sizes (from the FeatureSpec) and the architecture's hyper-parameters."""

    n_items: int
    n_event_types: int
    n_gaps: int
    n_prices: int
    n_categories: int
    max_len: int = 50
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 2
    dropout: float = 0.2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where a step sees itself, earlier steps, and no padding."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        assert cfg.d_model % cfg.n_heads == 0, f"d_model {cfg.d_model} not divisible by n_heads {cfg.n_heads}"
        self.d_model, self.n_heads, self.head_dim = cfg.d_model, cfg.n_heads, cfg.d_model // cfg.n_heads
        self.scale = 1.0 / math.sqrt(self.head_dim)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor, allowed: Tensor, newest_only: bool = False) -> Tensor:
        """(B, T, C) -> (B, T, C); with ``newest_only`` only the last step's query: (B, 1, C)."""
        b, t, c = x.shape
        w, bias, d = self.qkv.weight, self.qkv.bias, self.d_model
        q = F.linear(x[:, -1:] if newest_only else x, w[:d], bias[:d])  # (B, Tq, C)
        k, v = F.linear(x, w[d:], bias[d:]).split(d, dim=2)  # 2 x (B, T, C)
        tq = 1 if newest_only else t
        if newest_only:
            allowed = allowed[:, :, -1:]  # (B, 1, 1, T)
        q = q.view(b, tq, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, Tq, D)
        k = k.view(b, t, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        v = v.view(b, t, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        att = (q @ k.transpose(-2, -1)) * self.scale  # (B, H, Tq, T)
        att = att.masked_fill(~allowed, NEG).softmax(dim=-1)  # (B, H, Tq, T)
        y = self.drop(att) @ v  # (B, H, Tq, D)
        y = y.transpose(1, 2).reshape(b, tq, c)  # (B, Tq, C)
        return self.drop(self.proj(y))  # (B, Tq, C)


class Block(nn.Module):
    """Pre-LN transformer block: attention then a 4x MLP, each with a residual."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(nn.Linear(cfg.d_model, 4 * cfg.d_model), nn.GELU(),
                                 nn.Linear(4 * cfg.d_model, cfg.d_model), nn.Dropout(cfg.dropout))

    def forward(self, x: Tensor, allowed: Tensor, newest_only: bool = False) -> Tensor:
        """(B, T, C) -> (B, T, C), or (B, 1, C) for the newest step only (keys still see all steps)."""
        x = (x[:, -1:] if newest_only else x) + self.attn(self.ln1(x), allowed, newest_only)  # (B, Tq, C)
        return x + self.mlp(self.ln2(x))  # (B, Tq, C)


class SessionTransformer(nn.Module):
    """Embeddings -> causal blocks -> next-item and purchase-intent heads."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.item_emb = nn.Embedding(cfg.n_items, d, padding_idx=0)
        self.type_emb = nn.Embedding(cfg.n_event_types, d, padding_idx=0)
        self.gap_emb = nn.Embedding(cfg.n_gaps, d, padding_idx=0)
        self.price_emb = nn.Embedding(cfg.n_prices, d, padding_idx=0)
        self.cat_emb = nn.Embedding(cfg.n_categories, d, padding_idx=0)
        self.pos_emb = nn.Embedding(cfg.max_len, d)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(d)
        self.item_bias = nn.Parameter(torch.zeros(cfg.n_items))
        self.intent_head = nn.Linear(d, 1)
        self.register_buffer("causal", torch.tril(torch.ones(cfg.max_len, cfg.max_len, dtype=torch.bool)))
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear | nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def encode(self, items: Tensor, event_types: Tensor, gaps: Tensor, prices: Tensor,
               categories: Tensor, mask: Tensor, newest_only: bool = False) -> Tensor:
        """Hidden state of every step, (B, T, C); row t depends on steps <= t only.

        ``newest_only`` returns the newest step's state alone, (B, 1, C): the last block then skips
        the queries and MLP of the other steps (what serving needs; same numbers as row -1).
        """
        t = items.shape[1]
        pos = (mask.long().cumsum(dim=1) - 1).clamp(min=0)  # (B, T)
        x = (self.item_emb(items) + self.type_emb(event_types) + self.gap_emb(gaps)
             + self.price_emb(prices) + self.cat_emb(categories) + self.pos_emb(pos))  # (B, T, C)
        x = self.drop(x)
        causal = self.causal[:t, :t]  # (T, T)
        allowed = causal.unsqueeze(0).unsqueeze(0) & mask.unsqueeze(1).unsqueeze(2)  # (B, 1, T, T)
        for i, block in enumerate(self.blocks):
            x = block(x, allowed, newest_only and i == len(self.blocks) - 1)  # (B, T, C) or (B, 1, C)
        return self.ln_f(x)  # (B, T, C) or (B, 1, C)

    def item_logits(self, h: Tensor) -> Tensor:
        """Next-item logits over the item table: (..., C) -> (..., V)."""
        return h @ self.item_emb.weight.t() + self.item_bias  # (..., V)

    def intent_logit(self, h: Tensor) -> Tensor:
        """Purchase-intent logit: (..., C) -> (...)."""
        return self.intent_head(h).squeeze(-1)  # (...)

    def forward(self, items: Tensor, event_types: Tensor, gaps: Tensor, prices: Tensor,
                categories: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """(next-item logits (B, V), purchase intent in [0, 1] (B,)) at the newest step."""
        h = self.encode(items, event_types, gaps, prices, categories, mask, newest_only=True)[:, -1]  # (B, C)
        return self.item_logits(h), torch.sigmoid(self.intent_logit(h))  # (B, V), (B,)

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def load_checkpoint(path: str, map_location: str = "cpu") -> tuple[SessionTransformer, dict[str, Any]]:
    """A model rebuilt from a checkpoint written by ``save_checkpoint``, and its extra metadata."""
    ckpt = torch.load(path, map_location=map_location, weights_only=True)
    model = SessionTransformer(ModelConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, ckpt["meta"]


def save_checkpoint(path: str, model: SessionTransformer, meta: dict[str, Any]) -> None:
    """Weights, the ModelConfig and ``meta`` (feature spec, metrics, ...) in one file."""
    torch.save({"config": model.cfg.to_dict(), "state_dict": model.state_dict(), "meta": meta}, path)
