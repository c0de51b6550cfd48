"""The JVM profile's summary of async-profiler's collapsed stacks, and its choice of windows."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from bench.javaprof import category, summarize, windows_within
from bench.report_tables import job_against_passthrough

TASK = "java/lang/Thread.run;org/apache/flink/streaming/runtime/tasks/StreamTask.invoke"
LINES = [
    f"{TASK};pemja/core/object/PyIterator.next;Java_pemja_core_object_PyIterator_next;"
    "PyIter_Next;_PyEval_EvalFrameDefault;PyObject_Vectorcall 5",
    f"{TASK};pemja/core/object/PyIterator.next;Java_pemja_core_object_PyIterator_next;drop_gil;"
    "___pthread_cond_signal 2",
    f"{TASK};pemja/core/object/PyIterator.next;_PyEval_EvalFrameDefault;"
    "/venv/site-packages/onnxruntime/capi/onnxruntime_pybind11_state.so 1",
    f"{TASK};pemja/core/object/PyIterator.next;org/apache/flink/runtime/state/heap/HeapValueState.value 1",
    "start_thread;thread_native_entry;CompileBroker::compiler_thread_loop;C2Compiler::compile_method 1",
    "not a sample",
]


def test_each_stack_is_charged_to_one_cost() -> None:
    assert category(LINES[0].rpartition(" ")[0].split(";")) == "Python interpreter (the job's Python code)"
    assert category(LINES[1].rpartition(" ")[0].split(";")) == "interpreter-lock hand-offs between threads"
    assert category(LINES[2].rpartition(" ")[0].split(";")) == "ONNX Runtime"
    assert category(LINES[3].rpartition(" ")[0].split(";")) == "Python calling Java (state, timers, output)"
    assert category(LINES[4].rpartition(" ")[0].split(";")) == "JIT compiler"


def test_shares_add_up_over_the_samples() -> None:
    s = summarize(LINES)
    shares = dict(s["categories"])
    assert s["samples"] == 10 and sum(shares.values()) == pytest.approx(100.0)
    assert shares["Python interpreter (the job's Python code)"] == pytest.approx(50.0)
    assert s["leaf"][0] == ("PyObject_Vectorcall", pytest.approx(50.0))


def test_only_windows_wholly_inside_the_measured_span_count(tmp_path: Path) -> None:
    start = time.mktime(time.strptime("20261127-150600", "%Y%m%d-%H%M%S"))
    names = ["20261127-150550", "20261127-150600", "20261127-150610", "20261127-150625", "notes"]
    files = [tmp_path / f"{n}.txt" for n in names]
    assert [f.stem for f in windows_within(files, start, start + 30)] == ["20261127-150600", "20261127-150610"]


def test_the_budget_ratio_takes_the_default_job_against_the_faster_passthrough() -> None:
    t = {"job-p1": {"rate": 1_500.0}, "job-p2": {"rate": 1_200.0},
         "passthrough-python": {"rate": 20_000.0}, "passthrough-python-p1": {"rate": 30_000.0}}
    assert job_against_passthrough(t) == (1_500.0, 30_000.0)
