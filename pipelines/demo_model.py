"""A model for the demo: when the registry has no promoted version, train a small one on demo
shopper history, export it to ONNX, register and promote it, so the demo job scores sessions.

The history comes from the demo's own journeys (the same catalogue the demo stream uses), is
written as an Avro container file of behavior_event records (an importer format of
``models.data``) and trained by ``models.train`` in a child process (torch stays out of the
job's process). A shop trains on its own history instead: ``python -m models.train --help``.
"""
from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import fastavro

from pipelines.demo_events import journey
from udfs.avro_codec import registry
from udfs.envconfig import from_env
from udfs.model_store import current_version, resolve_root
from udfs.session_scorer import ScorerConfig

ROOT = Path(__file__).resolve().parent.parent
DAY_MS = 86_400_000


def demo_history(path: Path, shoppers: int = 3000, days: int = 14, seed: int = 11) -> int:
    """Write ``shoppers`` demo journeys spread over ``days`` days to ``path``; returns the count."""
    rng = random.Random(seed)
    start = int(time.time() * 1000) - days * DAY_MS
    events = [e for i in range(shoppers) for e in journey(rng, i, start + rng.randrange(days * DAY_MS))]
    events.sort(key=lambda e: e["event_time"])  # (event_time-ordered behavior_event dicts)
    with path.open("wb") as out:
        fastavro.writer(out, registry().schema("behavior_event"), events)
    return len(events)


def ensure_model(work: Path = ROOT / "artifacts" / "demo-model") -> str | None:
    """The promoted version, training one first when there is none; None if training fails."""
    root = resolve_root(from_env(ScorerConfig, "SP_SCORER").registry)
    found = current_version(root)
    if found is not None:
        return str(found.version)
    work.mkdir(parents=True, exist_ok=True)
    count = demo_history(work / "history.avro")
    print(f"==> no promoted model: training a small one on {count} demo events (about a minute) ...", flush=True)
    cmd = [sys.executable, "-m", "models.train", "--data", str(work / "history.avro"), "--format", "avro",
           "--out", str(work / "run"), "--configs", "1", "--max-epochs", "4", "--threads", "2",
           "--register", str(root), "--promote"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"    training failed; the demo runs on rules alone:\n{done.stderr[-2000:]}", flush=True)
        return None
    found = current_version(root)
    return str(found.version) if found is not None else None


if __name__ == "__main__":
    print(ensure_model())
