"""The generated block of BENCHMARKS.md: a part without local results keeps its committed text."""
from __future__ import annotations

from typing import Any

from bench.report import committed_parts, render

COMMITTED = """## Run

Command: `python -m bench latency` (started 2026-11-27 23:11:35 UTC, finished 2026-11-27 23:16:47 UTC).

| machine / version | value |
|---|---|
| cpu | AMD EPYC, 2 cores |

| section | finished | minutes | commit |
|---|---|---|---|
| latency | Fri Nov 27 23:16:47 2026 | 5.2 | 5f85dcd |
| throughput | Fri Nov 27 23:03:56 2026 | 18.3 | 5f85dcd |

## Budgets (DESIGN.md section 7)

| budget | measured | verdict |
|---|---|---|
| whole job >= 50,000 events/s sustained, flat lag | 1,561/s (flat=True) | **missed** |

## Throughput (one run; records/s)

| measurement | records/s |
|---|---|
| raw read | 148,332 |

## Trigger latency (ms, decisive event produced -> trigger readable)

| mode | p99 |
|---|---|
| at-least-once | 88 |

## Before and after (`python -m bench compare --before b21ed87`, earlier)

Ratio after/before: 1.26
"""


def compare_results() -> dict[str, Any]:
    side = {"rates": [1500.0, 1700.0], "rate": 1600.0, "cpu_us_per_record": 737.0}
    return {"compare": {"before": dict(side, rate=1401.0), "after": side, "before_commit": "7f561a8",
                        "after_commit": "c707bbe", "ratio": 1.14, "parallelism": 1},
            "compare_run": {"command": "python -m bench compare --before 7f561a8", "started": "07:04",
                            "finished": "07:14"}}


def test_parts_are_split_by_their_headings() -> None:
    parts = committed_parts(COMMITTED)
    assert sorted(parts) == ["budgets", "compare", "header", "latency", "throughput"]
    assert parts["throughput"].startswith("## Throughput (one run") and "148,332" in parts["throughput"]
    assert "## Budgets" not in parts["header"]


def test_a_compare_on_a_fresh_checkout_keeps_every_other_table() -> None:
    results = {**compare_results(), "meta": {"compare": {"at": "Sun Dec  6 07:14:48 2026", "commit": "c707bbe"}}}
    block = render(results, committed_parts(COMMITTED))
    for name in ("budgets", "throughput", "latency"):
        assert committed_parts(COMMITTED)[name] in block
    header = committed_parts(block)["header"]
    assert header.startswith(COMMITTED[: COMMITTED.index("| section |")])  # the committed run's header
    assert "| compare | Sun Dec  6 07:14:48 2026 |" in header and "| latency | Fri Nov 27" in header
    assert "1.26" not in block and "Ratio after/before: 1.14" in block
    assert "## Throughput\n\nnot measured" not in block and "## Trigger latency\n\nnot measured" not in block


def test_a_new_run_header_lists_the_kept_sections_too() -> None:
    results = {**compare_results(), "run": {"command": "python -m bench scoring", "started": "s", "finished": "f",
                                            "machine": {"cpu": "AMD EPYC, 2 cores"}, "versions": {}, "settings": {}},
               "meta": {"compare": {"at": "Sun Dec  6 07:14:48 2026", "seconds": 600, "commit": "c707bbe"}}}
    header = committed_parts(render(results, committed_parts(COMMITTED)))["header"]
    assert "python -m bench scoring" in header
    rows = [line.split("|")[1].strip() for line in header.splitlines() if line.startswith("| ") and "2026" in line]
    assert rows == ["compare", "latency", "throughput"]  # the new section and the kept ones, sorted


def test_a_throughput_run_alone_updates_its_budgets_and_keeps_the_others() -> None:
    committed = committed_parts(COMMITTED)
    committed["budgets"] += "| trigger latency p99 at-least-once <= 250 ms | 88 ms | met |\n"
    drain = {"parallelism": 1, "model": True, "mode": None, "cpu_us_per_record": 977.0}
    throughput = {"ceiling": {"rate": 253557.0}, "raw_read": {"rate": 153035.0},
                  "passthrough-python": dict(drain, rate=11159.0, parallelism=2, model=False),
                  "passthrough-python-p1": dict(drain, rate=30246.0, model=False), "job-p1": dict(drain, rate=1219.0),
                  "sustained": {"target_rate": 1097.0, "out_rate": 1090.0, "flat": True, "lag": [5, 7]}}
    block = render({"throughput": throughput}, committed)
    budgets = committed_parts(block)["budgets"]
    assert "| whole job >= 50,000 events/s sustained, flat lag | 1,097/s (flat=True) | **missed** |" in budgets
    assert "1,561/s" not in budgets
    assert "| trigger latency p99 at-least-once <= 250 ms | 88 ms | met |" in budgets  # not measured now: kept
    assert "| scoring p99 <= 1 ms per session, batch 1, one thread (fp32, 50 steps) | - ms | not measured yet |" \
        in budgets  # never measured: says so
