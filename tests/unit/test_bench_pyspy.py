"""The in-Flink profile's summary of py-spy raw samples."""
from __future__ import annotations

import pytest

from bench.pyspy import summarize

RAW = [
    "process_element (a.py:1);EngineFunction._handle (e.py:9);Session.run (ort.py:3) 6",
    "process_element (a.py:1);IngestFunction.process_element (i.py:64);CounterImpl.inc (c.py:29) 2",
    "process_element (a.py:1);EngineFunction._apply (e.py:7);ValueStateImpl.update (s.py:68) 1",
    " 1",
    "not a sample line",
]


def test_shares_of_leaves_stages_and_java() -> None:
    s = summarize(RAW)
    assert s["samples"] == 10 and s["java_pct"] == pytest.approx(10.0)
    assert s["leaf"][0] == ("Session.run", pytest.approx(60.0))
    stages = dict(s["stages"])
    assert stages["triggers"] == pytest.approx(70.0) and stages["ONNX Runtime"] == pytest.approx(60.0)
    assert stages["decode-validate"] == pytest.approx(20.0) and stages["metric counters"] == pytest.approx(20.0)
    assert stages["dedup-identity"] == 0.0 and stages["state access"] == pytest.approx(10.0)
