"""Before and after a change: the whole job of an earlier commit against the working tree's,
draining the same preloaded backlog in one run, alternated (before, after, before, after) so
the machine's drift hits both alike.

``python -m bench compare --before <git ref>`` checks the earlier commit out into a worktree
under ``.state/bench`` (sharing this checkout's ``.venv`` and ``.jars``) and runs its
``bench.flinkjob`` from there, so each side runs its own job code with the same bench model,
settings and topic.
"""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from bench import report
from bench.settings import ROOT, Settings, state_path
from bench.throughput import drain, ensure_pool, preload

ROUNDS = 2


def worktree(ref: str) -> tuple[Path, str]:
    """A checkout of ``ref`` (made once per commit) and the commit's short id."""
    commit = report.git("rev-parse", "--short", ref, check=True)
    path = state_path(f"before-{commit}")
    if not (path / ".git").exists():
        report.git("worktree", "add", "--force", "--detach", str(path), commit, check=True)
    for shared in (".venv", ".jars"):
        link = path / shared
        if not link.exists():
            link.symlink_to((ROOT / shared).resolve())
    return path, commit


def run(s: Settings, before: str, parallelism: int = 1) -> dict[str, Any]:
    """Alternating drains of the job at ``before`` and of the working tree, both at ``parallelism``
    (by default 1, the job's own on the embedded mini-cluster); rates and CPU."""
    old_root, old_commit = worktree(before)
    new_commit = report.commit()
    topic, _ = preload(ensure_pool(s.events), s.events)
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for i in range(ROUNDS):
        for side, root in (("before", old_root), ("after", ROOT)):
            runs[side].append(drain(f"{side}-{i + 1}", "job", topic, s.events, s, parallelism, True,
                                      root=root))
    out: dict[str, Any] = {"before_commit": old_commit, "after_commit": new_commit, "parallelism": parallelism}
    for side, results in runs.items():
        out[side] = {"rates": [r["rate"] for r in results], "rate": statistics.median(r["rate"] for r in results),
                     "cpu_us_per_record": statistics.median(r["cpu_us_per_record"] for r in results)}
    out["ratio"] = out["after"]["rate"] / out["before"]["rate"] if out["before"]["rate"] else None
    print(f"    compare: before {out['before']['rate']:,.0f}/s, after {out['after']['rate']:,.0f}/s, "
          f"ratio {out['ratio']:.2f}", flush=True)
    return out
