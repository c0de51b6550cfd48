"""Settings of one benchmark run: where the bench stack lives, how much load, how long.

``--quick`` shrinks every size and duration to a smoke run of seconds (numbers then mean
nothing); the defaults are the full measurement. Ports keep clear of the demo stack
(9092/9093/6379), the test stacks and Flink's 8081.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from services.stack.config import ROOT, StackConfig, load

STATE = ROOT / ".state" / "bench"
RESULTS = STATE / "results.json"
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
REST_PORT = 8292
DEFAULT_JOB = "job-p1"
"""The drain of the job as it runs by default on the embedded mini-cluster (auto parallelism: 1,
``pipelines.flink_env.resolved_parallelism``); the sustained run and the budgets use it."""
PYTHON_PASSTHROUGHS = ("passthrough-python", "passthrough-python-p1")
"""The Python passthrough drains (parallelism 2 and 1); the ratio budget takes the faster."""


@dataclass(frozen=True)
class Settings:
    """Sizes and durations (seconds) of the measurements."""

    events: int = 2_000_000
    """Records preloaded for the drain measurements (raw read, passthroughs, whole job)."""
    drain_window_s: float = 120.0
    """Longest a drain measurement samples before it stops (the backlog may last longer)."""
    sustain_s: float = 180.0
    """Length of the paced run at the sustained rate that must keep lag flat."""
    sustain_shares: tuple[float, ...] = (0.9, 0.8, 0.7)
    """Paced rates tried in turn, as shares of the whole job's drain rate, until lag stays flat."""
    latency_s: float = 90.0
    """Paced run at half the sustained rate, per delivery mode."""
    probe_every: int = 50
    """One latency probe (a fresh shopper's first page view) per this many background records."""
    checkpoint_ms: int = 10_000
    """Checkpoint interval of every Flink job here (exactly-once commits on it)."""
    state_users: int = 20_000
    """Shoppers in the state-size measurement."""
    serving_rps: int = 2_000
    serving_s: float = 30.0
    sample_s: float = 5.0
    """Sampling period of rates and lag."""
    quick: bool = False

    def quick_run(self) -> Settings:
        """A smoke run of seconds: every size and duration shrunk."""
        return replace(self, events=60_000, drain_window_s=20.0, sustain_s=20.0, latency_s=15.0, probe_every=20,
                       checkpoint_ms=3_000, state_users=500, serving_s=5.0, sample_s=2.0, quick=True)


def stack_config() -> StackConfig:
    """The bench's own Kafka (9192/9193) and Redis (6479) in .state/bench."""
    return load(state_dir=str(STATE), kafka_port=9192, controller_port=9193, redis_port=6479,
                kafka_heap="1g")


def state_path(name: str) -> Path:
    STATE.mkdir(parents=True, exist_ok=True)
    return STATE / name
