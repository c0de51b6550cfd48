"""``python -m services.demo.job_runner READY_FILE``: the live job in its own process.

Submits the job detached (``pipelines.job.run``) with the ``SP_JOB_*`` and ``SP_TRIGGERS_*``
settings of its environment, writes the job id to ``READY_FILE`` once Flink reports it RUNNING,
and on SIGTERM or SIGINT cancels it and waits for the cancellation before exiting. A job that
fails or ends on its own makes the runner exit 1, so the orchestrator notices.
"""
from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("shoppulse.demo.job")
TERMINAL = ("FAILED", "CANCELED", "FINISHED", "SUSPENDED")


def status(client: Any) -> str:
    """The job's status name (RUNNING, FAILED, ...)."""
    return str(client.get_job_status().result().name)


def wait_running(client: Any, stop: threading.Event, timeout_s: float = 300.0) -> str:
    """Poll until RUNNING (returned), a terminal status (returned) or ``stop``/timeout."""
    deadline = time.monotonic() + timeout_s
    current = status(client)
    while current != "RUNNING" and current not in TERMINAL and time.monotonic() < deadline:
        if stop.wait(0.5):
            break
        current = status(client)
    return current


def supervise(client: Any, stop: threading.Event) -> int:
    """Until ``stop``: watch the job; then cancel it. Returns the exit code."""
    while not stop.wait(2.0):
        current = status(client)
        if current in TERMINAL:
            log.error("job %s ended on its own: %s", client.get_job_id(), current)
            return 1
    log.info("cancelling job %s ...", client.get_job_id())
    client.cancel().result()
    log.info("job %s cancelled", client.get_job_id())
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m services.demo.job_runner READY_FILE", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    from pipelines import job
    from pipelines.config import load_job_config

    client = job.run(load_job_config(), job.Stages.from_env(), detached=True)
    started = wait_running(client, stop)
    if started != "RUNNING":
        log.log(logging.INFO if stop.is_set() else logging.ERROR, "job %s stopped before RUNNING (%s)",
                client.get_job_id(), started)
        if started not in TERMINAL:
            client.cancel().result()
        return 0 if stop.is_set() else 1
    Path(args[0]).write_text(str(client.get_job_id()))
    log.info("job %s RUNNING", client.get_job_id())
    return supervise(client, stop)


if __name__ == "__main__":
    sys.exit(main())
