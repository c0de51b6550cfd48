"""The scorer the benchmarked job uses: ONNX Runtime over an export directory, one thread.

It behaves like ``udfs.session_scorer.OnnxSessionScorer`` (the same ``LoadedModel``, loaded in
``open()``, top 10 items) minus the registry lookups. This module imports no torch: it is
unpickled inside the job's Python workers.

ONNX Runtime's native module must be initialized from a thread that Python itself started: its
init calls ``PyGILState_Ensure``, which in a Flink thread-mode (pemja) task thread waits for the
GIL that thread already holds, and the job hangs in INITIALIZING. ``import_native`` imports it
from a short-lived ``threading.Thread`` (joined with the GIL released) before first use.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from udfs.scoring import SessionScores


class DirScorer:
    """SessionScorer over an export directory: ONNX Runtime, one thread, loaded in ``open()``."""

    def __init__(self, path: str, variant: str = "fp32", top_k: int = 10) -> None:
        self.path, self.variant, self.top_k = path, variant, top_k
        self.model: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "variant": self.variant, "top_k": self.top_k}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """On the worker: initialize ONNX Runtime now, from a Python thread (see the module doc)."""
        from udfs.session_scorer import ort_module

        ort_module()
        self.__dict__.update(state, model=None)

    def open(self) -> None:
        from udfs.session_scorer import LoadedModel

        self.model = LoadedModel.from_dir(self.path, self.variant, threads=1)

    def score(self, steps: Sequence[Mapping[str, Any]]) -> SessionScores | None:
        if self.model is None:
            self.open()
        return self.model.score(steps, self.top_k) if steps else None
