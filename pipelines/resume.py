"""Where a job's checkpoints live, and which one a restart resumes from.

An unbounded run keeps its checkpoints when it is cancelled or dies (Flink's
``RETAIN_ON_CANCELLATION``), and the next run of the same job restores the newest complete one:
sessions, carts and their abandonment timers, dedup and device links, consent and the Kafka
offsets all continue where they were. Without this a restart would start from empty state and
the committed offsets, and every cart in flight would be forgotten.

"The same job" is one scope folder under ``checkpoint_dir``: the job name plus a hash of the
broker, the consumer group and the source topics, so a run on other topics (a test, a bench,
another shop) never restores this one's state. Inside a scope Flink writes
``<flink job id>/chk-<n>/_metadata``; a checkpoint is complete once its ``_metadata`` exists.
Runs older than the newest ``retained_runs`` are deleted when a run starts. Only local paths are
scanned; for a remote ``checkpoint_dir`` (s3://...) set ``execution.state-recovery.path``
yourself (or ``flink run -s``).

No pyflink here: ``pipelines.flink_env`` turns the answer into Flink options.
"""
from __future__ import annotations

import hashlib
import logging
import re
import shutil
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from pipelines.config import JobConfig

log = logging.getLogger("shoppulse.resume")
_CHK = re.compile(r"chk-(\d+)$")


def scope_name(cfg: JobConfig) -> str:
    """``<job name>-<hash>``: one folder per job, broker, consumer group and source topics."""
    ident = "|".join((cfg.bootstrap_servers, cfg.group_id, cfg.events_topic, cfg.profiles_topic,
                      cfg.consent_topic, cfg.erasure_topic))
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", cfg.job_name) or "job"
    return f"{safe}-{hashlib.sha1(ident.encode()).hexdigest()[:10]}"


def local_dir(location: str) -> Path | None:
    """``location`` as a local folder (a bare path or a file: URI), None for a remote file system."""
    if location.startswith("file:"):
        return Path(url2pathname(urlparse(location).path))
    if "://" in location:
        return None
    return Path(location).expanduser().resolve()


def checkpoint_uri(location: str) -> str:
    """A checkpoint directory as Flink wants it: a URI (a local folder becomes file://, absolute)."""
    local = local_dir(location)
    return local.as_uri() if local is not None else location


def checkpoint_location(cfg: JobConfig) -> str:
    """The folder this job's runs checkpoint into: its scope under ``checkpoint_dir``."""
    base = cfg.checkpoint_dir.rstrip("/")
    local = local_dir(base)
    return str(local / scope_name(cfg)) if local is not None else f"{base}/{scope_name(cfg)}"


def complete_checkpoints(scope: Path) -> list[Path]:
    """Every complete checkpoint (``chk-<n>`` holding ``_metadata``) of every run in ``scope``,
    oldest first: by the time its metadata was written, then by number."""
    found = []
    for run in _runs(scope):
        for chk in run.iterdir():
            match = _CHK.match(chk.name)
            meta = chk / "_metadata"
            if match and meta.is_file():
                found.append((meta.stat().st_mtime, int(match.group(1)), chk))
    return [chk for _, _, chk in sorted(found)]


def newest_checkpoint(scope: Path) -> Path | None:
    found = complete_checkpoints(scope)
    return found[-1] if found else None


def prune(scope: Path, keep: int, protect: Path | None) -> list[Path]:
    """Delete the runs of ``scope`` beyond the newest ``keep`` (by their last complete checkpoint), never the run
    holding ``protect``; returns the deleted folders."""
    runs = sorted(_runs(scope), key=_last_change, reverse=True)
    keeper = protect.parent if protect is not None else None
    doomed = [run for run in runs[max(keep, 0):] if run != keeper]
    for run in doomed:
        shutil.rmtree(run, ignore_errors=True)
    return doomed


def _runs(scope: Path) -> list[Path]:
    return [p for p in scope.iterdir() if p.is_dir()] if scope.is_dir() else []


def _last_change(run: Path) -> float:
    """When the run last completed a checkpoint (its folder's time if it never did)."""
    return max((m.stat().st_mtime for m in run.glob("chk-*/_metadata")), default=run.stat().st_mtime)


def recovery_path(cfg: JobConfig) -> str | None:
    """For a resuming run: the checkpoint to restore (None: start empty), after pruning old runs.
    Bounded runs never resume: a bounded source restored from an unbounded run would not stop."""
    if cfg.bounded or not cfg.resume:
        return None
    scope = local_dir(checkpoint_location(cfg))
    if scope is None:
        log.info("checkpoints in %s are not local: set execution.state-recovery.path to resume", cfg.checkpoint_dir)
        return None
    newest = newest_checkpoint(scope)
    for run in prune(scope, cfg.retained_runs, newest):
        log.info("deleted the checkpoints of an earlier run: %s", run)
    if newest is None:
        log.info("no earlier checkpoint in %s: starting from empty state", scope)
        return None
    log.info("resuming from %s (SP_JOB_RESUME=false or --fresh starts from empty state)", newest)
    return newest.as_uri()
