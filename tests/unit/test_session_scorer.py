"""The ONNX session scorer: lazy loading, scores, hot reload on an alias switch, no-model fallback."""
from __future__ import annotations

import logging
import pickle
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from models.registry import ModelRegistry
from tests.unit.model_testkit import export_random_model, new_registry, synthetic_sessions
from udfs.scoring import ScoreMemo, SessionScorer
from udfs.session_scorer import LoadedModel, OnnxSessionScorer, ScorerConfig, top_items

STEPS = synthetic_sessions(5, seed=1)[4].steps


class Clock:
    """A hand-moved monotonic clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("exports")
    return export_random_model(base / "a", seed=1), export_random_model(base / "b", seed=2, n_items=60)


def scorer(root: Path, clock: Clock, **cfg: object) -> OnnxSessionScorer:
    """A scorer polling the registry at ``root`` every 5 s of ``clock``, with its own download cache."""
    return OnnxSessionScorer(ScorerConfig(registry=str(root), reload_seconds=5.0,  # type: ignore[arg-type]
                                          cache_dir=str(root / ".cache"), **cfg), clock=clock)


def promoted(root: Path, *exports: Path) -> ModelRegistry:
    """A registry at ``root`` with ``exports`` registered in order, the first one promoted."""
    reg = new_registry(root)
    for export in exports:
        reg.register(export)
    reg.promote("v0001")
    return reg


def test_scores_one_session_with_items_from_the_vocabulary(tmp_path: Path, exports: tuple[Path, Path],
                                                            ) -> None:
    promoted(tmp_path, exports[0])
    s: SessionScorer = scorer(tmp_path, Clock(), top_k=7)
    scores = s.score(STEPS)
    assert scores is not None and scores.model_version == "v0001"
    assert 0.0 < scores.purchase_intent < 1.0
    assert scores.abandonment_risk == pytest.approx(1.0 - scores.purchase_intent)
    assert len(scores.next_items) == len(set(scores.next_items)) == 7
    assert all(item.startswith("p") for item in scores.next_items)
    assert s.score([]) is None


def test_scores_match_the_export_loaded_directly(tmp_path: Path, exports: tuple[Path, Path]) -> None:
    promoted(tmp_path, exports[0])
    direct = LoadedModel.from_dir(exports[0])
    logits, intent = direct.run([STEPS])
    scores = scorer(tmp_path, Clock(), top_k=3).score(STEPS)
    assert scores is not None and scores.purchase_intent == pytest.approx(float(intent[0]))
    best = np.argsort(-logits[0])
    assert list(scores.next_items) == direct.featurizer.decode_items(best)[:3]


def test_no_model_means_none_said_once_then_a_promotion_is_picked_up(
        tmp_path: Path, exports: tuple[Path, Path], caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    s = scorer(tmp_path, clock)
    with caplog.at_level(logging.WARNING, logger="udfs.session_scorer"):
        for i in range(3):
            clock.now = 10.0 * i
            assert s.score(STEPS) is None
    assert sum("no model promoted" in r.message for r in caplog.records) == 1
    promoted(tmp_path, exports[0])
    assert s.score(STEPS) is None  # not yet: the next check is due later
    clock.now += 5
    assert s.score(STEPS) is not None and s.model_version == "v0001"


def test_hot_reload_mid_stream_when_v2_is_promoted(tmp_path: Path, exports: tuple[Path, Path]) -> None:
    reg = promoted(tmp_path, *exports)
    clock = Clock()
    s = scorer(tmp_path, clock)
    s.open()
    seen = []
    for i in range(40):
        if i == 10:
            reg.promote("v0002")
        scores = s.score(STEPS)
        assert scores is not None
        seen.append(scores.model_version)
        clock.now += 0.5
    switch = seen.index("v0002")
    assert seen[:switch] == ["v0001"] * switch and set(seen[switch:]) == {"v0002"}
    assert 10 <= switch <= 21  # within reload_seconds (5 s = 10 calls) of the promotion
    reg.promote("v0001")  # roll back
    clock.now += 5
    rolled_back = s.score(STEPS)
    assert rolled_back is not None and rolled_back.model_version == "v0001"


def test_removing_the_alias_turns_scoring_off(tmp_path: Path, exports: tuple[Path, Path]) -> None:
    reg = promoted(tmp_path, exports[0])
    clock = Clock()
    s = scorer(tmp_path, clock)
    assert s.score(STEPS) is not None
    reg.client().delete_registered_model_alias(reg.model_name, "champion")
    clock.now += 5
    assert s.score(STEPS) is None and s.model_version is None


def test_a_broken_new_version_keeps_the_old_one(tmp_path: Path, exports: tuple[Path, Path],
                                                caplog: pytest.LogCaptureFixture) -> None:
    reg = promoted(tmp_path, exports[0])
    clock = Clock()
    s = scorer(tmp_path, clock)
    assert s.score(STEPS) is not None
    v2 = reg.register(exports[1])
    reg.promote(v2.version)
    (reg.artifact_dir(v2.version) / "model.onnx").write_bytes(b"not a model")  # corrupted after promotion
    with caplog.at_level(logging.ERROR, logger="udfs.session_scorer"):
        for _ in range(3):
            clock.now += 5
            scores = s.score(STEPS)
            assert scores is not None and scores.model_version == "v0001"
    errors = [r.message for r in caplog.records if "cannot load" in r.message]
    assert len(errors) == 1 and "sha256" in errors[0], "a broken version is tried once, not at every poll"
    reg.promote(reg.register(exports[1]).version)  # a sound re-registration is picked up
    clock.now += 5
    assert s.score(STEPS) is not None and s.model_version == "v0003"


def test_pickles_without_the_onnx_session_and_reopens(tmp_path: Path, exports: tuple[Path, Path]) -> None:
    promoted(tmp_path, exports[0])
    s = OnnxSessionScorer(ScorerConfig(registry=str(tmp_path), cache_dir=str(tmp_path / "cache")))
    fresh = pickle.dumps(s)
    s.open()
    assert s.model_version == "v0001"
    opened = pickle.dumps(s)
    assert len(opened) < 2_000 and len(fresh) < 2_000
    again = pickle.loads(opened)
    assert again.model_version is None
    rescored = again.score(STEPS)
    assert rescored is not None and rescored.model_version == "v0001"


def test_a_model_without_intent_labels_gives_no_opinion_on_intent(tmp_path: Path, exports: tuple[Path, Path],
                                                                    ) -> None:
    export = tmp_path / "export"
    shutil.copytree(exports[0], export)
    meta_path = export / "model.json"
    meta_path.write_text(meta_path.read_text().replace('"intent_trained": true', '"intent_trained": false'))
    promoted(tmp_path / "reg", export)
    scores = scorer(tmp_path / "reg", Clock()).score(STEPS)
    assert scores is not None and (scores.purchase_intent, scores.abandonment_risk) == (0.5, 0.5)
    assert scores.extra == {"intent_trained": 0.0} and scores.next_items


def test_config_reads_the_environment() -> None:
    from udfs.envconfig import from_env
    env = {"SP_SCORER_REGISTRY": "/models", "SP_SCORER_RELOAD_SECONDS": "2.5", "SP_SCORER_MODEL_NAME": "m"}
    cfg = from_env(ScorerConfig, "SP_SCORER", env)
    assert (cfg.registry, cfg.reload_seconds, cfg.intra_op_threads, cfg.model_name) == ("/models", 2.5, 1, "m")


def test_latency_per_session_at_batch_1(tmp_path: Path, exports: tuple[Path, Path]) -> None:
    """Printed, not asserted: featurize + ONNX Runtime + top-k, one thread, 50-step sessions."""
    promoted(tmp_path, exports[0])
    s = scorer(tmp_path, Clock())
    sessions = [sess.steps * 8 for sess in synthetic_sessions(200, seed=5)]
    s.open()
    times = []
    for steps in sessions:
        start = time.perf_counter()
        s.score(steps)
        times.append((time.perf_counter() - start) * 1000)
    print(f"\nscorer latency per session at batch 1: p50 {np.percentile(times, 50):.3f} ms, "
          f"p99 {np.percentile(times, 99):.3f} ms over {len(times)} sessions (tiny test model)")


class _Ids:
    """A featurizer's decode_items over rows 2.. (0 padding, 1 OOV) as plain numbers."""

    def decode_items(self, indices: object) -> list[str]:
        return [f"i{int(i)}" for i in indices if int(i) >= 2]  # type: ignore[attr-defined]


def test_top_items_are_best_first_per_row_and_never_padding_or_oov() -> None:
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(3, 40)).astype(np.float32)  # (B, V)
    logits[:, :2] = 99.0  # padding and OOV score highest, and are still never named
    got = top_items(logits, _Ids(), 5)  # type: ignore[arg-type]
    for row, items in zip(logits, got, strict=True):
        assert items == [f"i{i}" for i in (np.argsort(-row[2:], kind="stable")[:5] + 2)]
    assert len(top_items(logits, _Ids(), 100)[0]) == 38  # type: ignore[arg-type]


class _CountingSession:
    """An ONNX Runtime session that counts its runs."""

    def __init__(self, inner: object) -> None:
        self.inner, self.runs = inner, 0

    def run(self, names: list, inputs: dict) -> list:
        self.runs += 1
        return self.inner.run(names, inputs)  # type: ignore[attr-defined]


def test_a_repeated_short_session_is_answered_from_the_memo_with_the_same_scores(
        exports: tuple[Path, Path]) -> None:
    model = LoadedModel.from_dir(exports[0])
    fresh = LoadedModel.from_dir(exports[0])
    counting = _CountingSession(model.session)
    model.session = counting  # type: ignore[assignment]
    opening = [dict(STEPS[0], event_time=1_000)]
    same_opening_later = [dict(STEPS[0], event_time=9_000_000)]  # inputs are relative: the same key
    first, again = model.score(opening, 7), model.score(same_opening_later, 7)
    assert again == first == fresh.score(opening, 7) and counting.runs == 1
    assert model.score(opening, 5) == fresh.score(opening, 5) and counting.runs == 2  # top_k is part of the key
    assert model.score(STEPS, 7) == fresh.score(STEPS, 7) and model.score(STEPS, 7) == fresh.score(STEPS, 7)
    assert counting.runs == 4 and len(STEPS) > model.memo.max_steps  # long sessions always run
    assert (model.memo.hits, model.memo.misses) == (1, 2)


def test_the_memo_stays_bounded_and_can_be_turned_off(exports: tuple[Path, Path]) -> None:
    model = LoadedModel.from_dir(exports[0])
    model.memo = ScoreMemo(entries=3, max_steps=1)
    for i in range(10):
        model.score([dict(STEPS[0], price=float(2 ** i))], 5)  # ten different price bands
        assert len(model.memo.saved) <= 3
    model.memo = ScoreMemo(entries=0)
    counting = _CountingSession(model.session)
    model.session = counting  # type: ignore[assignment]
    model.score(STEPS[:1], 5)
    model.score(STEPS[:1], 5)
    assert counting.runs == 2 and not model.memo.saved


def test_a_promoted_model_gets_the_configured_memo(tmp_path: Path, exports: tuple[Path, Path]) -> None:
    promoted(tmp_path, exports[0])
    s = scorer(tmp_path, Clock(), memo_entries=7, memo_steps=3)
    s.open()
    assert (s._model.memo.entries, s._model.memo.max_steps) == (7, 3)  # type: ignore[union-attr]
