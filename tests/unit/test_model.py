"""SessionTransformer: shapes, causality, padding invariance and checkpoint round trip."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.model import ModelConfig, SessionTransformer, load_checkpoint, save_checkpoint

torch.set_num_threads(1)
CFG = ModelConfig(n_items=50, n_event_types=18, n_gaps=24, n_prices=32, n_categories=6, max_len=16,
                  d_model=32, n_layers=2, n_heads=2, dropout=0.0)


def inputs(b: int, t: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    sizes = {"items": CFG.n_items, "event_types": CFG.n_event_types, "gaps": CFG.n_gaps,
             "prices": CFG.n_prices, "categories": CFG.n_categories}
    out = {k: torch.randint(1, n, (b, t), generator=g) for k, n in sizes.items()}
    out["mask"] = torch.ones(b, t, dtype=torch.bool)
    return out


def encode(m: SessionTransformer, x: dict[str, torch.Tensor]) -> torch.Tensor:
    return m.encode(x["items"], x["event_types"], x["gaps"], x["prices"], x["categories"], x["mask"])


def model() -> SessionTransformer:
    torch.manual_seed(0)
    return SessionTransformer(CFG).eval()


def test_forward_returns_last_step_logits_and_intent_probability() -> None:
    logits, intent = model()(**inputs(3, 7))
    assert logits.shape == (3, CFG.n_items) and intent.shape == (3,)
    assert ((intent > 0) & (intent < 1)).all()


def test_a_step_never_sees_later_steps() -> None:
    m, x = model(), inputs(2, 8)
    h = encode(m, x)
    x["items"][:, 5:] = 7
    x["prices"][:, 5:] = 3
    h2 = encode(m, x)
    assert torch.allclose(h[:, :5], h2[:, :5], atol=1e-6)
    assert not torch.allclose(h[:, 5:], h2[:, 5:], atol=1e-3)


def test_left_padding_does_not_change_the_output() -> None:
    m, x = model(), inputs(1, 5)
    padded = {k: torch.cat([torch.zeros(1, 4, dtype=v.dtype), v], dim=1) for k, v in x.items()}
    a, b = m(**x), m(**padded)
    assert torch.allclose(a[0], b[0], atol=1e-5) and torch.allclose(a[1], b[1], atol=1e-6)


def test_prefix_alone_matches_its_position_in_the_whole_session() -> None:
    m, x = model(), inputs(1, 9)
    whole = encode(m, x)  # (1, 9, C)
    prefix = encode(m, {k: v[:, :4] for k, v in x.items()})
    assert torch.allclose(whole[:, 3], prefix[:, -1], atol=1e-5)


def test_checkpoint_keeps_config_weights_and_meta(tmp_path: Path) -> None:
    m, x = model(), inputs(2, 6)
    save_checkpoint(str(tmp_path / "m.pt"), m, {"feature_spec": {"max_len": 16}, "note": "x"})
    again, meta = load_checkpoint(str(tmp_path / "m.pt"))
    assert again.cfg == CFG and meta["note"] == "x"
    assert torch.equal(again(**x)[0], m(**x)[0])


def test_head_count_must_divide_width() -> None:
    with pytest.raises(AssertionError):
        SessionTransformer(ModelConfig(**{**CFG.to_dict(), "d_model": 30, "n_heads": 4}))


def test_forward_computes_the_newest_step_like_the_full_encoding() -> None:
    m, x = model(), inputs(3, 11, seed=4)
    x["mask"][1, :6] = False
    full = encode(m, x)[:, -1]  # (B, C)
    logits, intent = m(**x)
    assert torch.allclose(logits, m.item_logits(full), atol=1e-5)
    assert torch.allclose(intent, torch.sigmoid(m.intent_logit(full)), atol=1e-6)
