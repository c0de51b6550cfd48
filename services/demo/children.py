"""Child processes of the demo: started in their own session, probed until ready, stopped
without leaving anything behind.

Each child runs in a new session (its own process group), so Ctrl-C in the terminal reaches the
orchestrator alone and the children are stopped in order. On Linux a child is also told to
receive SIGTERM should the orchestrator die without cleaning up. ``stop`` sends SIGTERM to the
child, waits, then SIGKILLs whatever is left of its process group (e.g. the job's JVM).
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.stack.proc import tail

PR_SET_PDEATHSIG = 1
Probe = Callable[[], bool]


class ChildFailed(RuntimeError):
    """A child exited or did not get ready; the message names it and quotes its log."""


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies (Linux; elsewhere a no-op)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """One running child process and its log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def failure(self, what: str) -> ChildFailed:
        return ChildFailed(f"{self.name} {what}; last lines of {self.log}:\n{tail(self.log)}")

    def wait_ready(self, probe: Probe, timeout_s: float) -> None:
        """Poll ``probe`` until true; raise ChildFailed if the child exits or time runs out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive():
                raise self.failure(f"exited with code {self.proc.returncode} during start-up")
            if probe():
                return
            time.sleep(0.3)
        raise self.failure(f"not ready after {timeout_s:.0f} s")

    def stop(self, grace_s: float = 20.0) -> None:
        """SIGTERM, wait ``grace_s``, then SIGKILL the child's whole process group."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(grace_s)
        deadline = time.monotonic() + 5.0
        while group_alive(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)  # members (the job's JVM) leave once the leader has gone
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def group_alive(pgid: int) -> bool:
    """Whether any process of the group ``pgid`` still exists."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def spawn(name: str, argv: Sequence[str], env: Mapping[str, str], logs: Path, cwd: Path) -> Child:
    """Start ``python <argv>`` in its own session with output to ``logs/<name>.log``."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, *argv], cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=dict(env), start_new_session=True,
                                preexec_fn=_die_with_parent)
    return Child(name, proc, log)


def http_ok(url: str) -> Probe:
    """Probe: ``url`` answers 200."""
    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False
    return probe


def port_open(port: int, host: str = "127.0.0.1") -> Probe:
    """Probe: something accepts TCP connections on ``host:port``."""
    def probe() -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex((host, port)) == 0
    return probe


def log_says(log: Path, marker: str) -> Probe:
    """Probe: the log file contains ``marker``."""
    def probe() -> bool:
        try:
            return marker in log.read_text(errors="replace")
        except OSError:
            return False
    return probe


def path_exists(path: Path) -> Probe:
    """Probe: ``path`` exists."""
    return path.exists
