"""What the samplers (``bench.pyspy``, ``bench.javaprof``) share: the whole job draining the
preloaded pool past its start-up, the drain rate over the sampled span, and the share tables."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass
class Span:
    """The sampled span: drain rate (events/s) and its wall-clock bounds (epoch seconds)."""

    rate: float = 0.0
    start: float = 0.0
    end: float = 0.0


@contextmanager
def draining_job(label: str, parallelism: int, events: int, env: dict[str, str] | None = None,
                 warmup_s: float = 0.0) -> Iterator[tuple[Any, Any]]:
    """The whole job draining ``events`` pool records, yielded (run, clean-topic probe) once it
    has written 5,000 clean events (past start-up) and ``warmup_s`` more seconds have passed."""
    from bench import stack
    from bench.jobrun import FlinkRun
    from bench.throughput import ensure_pool, job_spec, preload

    stack.fresh()
    topic, _ = preload(ensure_pool(events), events)
    run = stack.run_name(f"{label}-p{parallelism}")
    cfg = stack.job_config(run, events_topic=topic, parallelism=parallelism, checkpoint_interval_ms=10_000)
    with FlinkRun(run, job_spec("job", cfg, cfg.clean_topic), env=env) as job:
        job.wait_running()
        probe = stack.OffsetProbe(cfg.clean_topic)
        try:
            while probe.count() < 5_000:
                time.sleep(1)
            time.sleep(warmup_s)
            yield job, probe
        finally:
            probe.close()


@contextmanager
def measured(probe: Any) -> Iterator[Span]:
    """Times the block: the span's drain rate and bounds are set when it ends."""
    span = Span(start=time.time())
    before, started = probe.count(), time.monotonic()
    yield span
    span.rate = (probe.count() - before) / (time.monotonic() - started)
    span.end = time.time()


def share_table(head: str, rows: list[tuple[str, float]], code: bool = False) -> str:
    """A two-column Markdown table of (name, percent) rows."""
    cell = "`{}`" if code else "{}"
    return "\n".join([f"| {head} | share |", "|---|---|",
                      *(f"| {cell.format(name)} | {share:.1f}% |" for name, share in rows)])
