"""A standalone Flink session cluster on this machine, from the ``bin/`` PyFlink ships.

For shops whose load outgrows the embedded mini-cluster: the same job is submitted with
``flink run -py pipelines/job.py``. This module writes a configuration folder (no file inside
the installed package is changed), starts/stops the cluster and submits the job.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from services.stack.config import ROOT, StackConfig
from services.stack.proc import StackError, tail

JAVA17_OPTS_KEY = "env.java.opts.all"


def flink_home() -> Path:
    import pyflink

    return Path(pyflink.__file__).resolve().parent


def _java17_opts() -> str:
    for line in (flink_home() / "conf" / "config.yaml").read_text().splitlines():
        if line.strip().startswith("all: --add-exports"):
            return line.split("all:", 1)[1].strip()
    return ""


def job_parallelism(cfg: StackConfig) -> int:
    """The cluster's default parallelism, which its slots must hold: ``SP_JOB_PARALLELISM`` when
    set (> 0), else one subtask per slot (``taskmanagers(cfg)`` x ``cfg.flink_slots``), which a
    job on auto parallelism takes (one interpreter lock per TaskManager)."""
    from pipelines.config import load_job_config

    configured = load_job_config().parallelism
    return configured if configured > 0 else taskmanagers(cfg) * max(cfg.flink_slots, 1)


def taskmanagers(cfg: StackConfig) -> int:
    """How many TaskManagers the cluster starts (``SP_STACK_FLINK_TASKMANAGERS``, else one per core)."""
    return cfg.flink_taskmanagers if cfg.flink_taskmanagers > 0 else max(1, os.cpu_count() or 1)


def write_conf(cfg: StackConfig, rest_port: int, slots: int | None = None) -> Path:
    """The cluster's configuration folder: ``taskmanagers(cfg)`` workers with ``slots`` each (by
    default ``cfg.flink_slots``, raised until all of them hold a job at the default parallelism)."""
    workers, parallelism = taskmanagers(cfg), job_parallelism(cfg)
    slots = slots if slots is not None else max(cfg.flink_slots, -(-parallelism // workers))
    conf = Path(cfg.state_dir) / f"flink-{rest_port}" / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    for name in ("log4j.properties", "log4j-cli.properties", "log4j-console.properties"):
        shutil.copy(flink_home() / "conf" / name, conf / name)
    (conf / "masters").write_text(f"localhost:{rest_port}\n")
    (conf / "workers").write_text("localhost\n" * workers)
    settings = {
        JAVA17_OPTS_KEY: _java17_opts(), "jobmanager.rpc.address": "localhost",
        "jobmanager.bind-host": "localhost", "taskmanager.bind-host": "localhost", "taskmanager.host": "localhost",
        "rest.address": "localhost", "rest.bind-address": "localhost", "rest.port": str(rest_port),
        "jobmanager.rpc.port": str(rest_port + 1), "taskmanager.numberOfTaskSlots": str(slots),
        "jobmanager.memory.process.size": "1024m", "taskmanager.memory.process.size": "2048m",
        "parallelism.default": str(parallelism), "python.executable": sys.executable,
        "python.client.executable": sys.executable, "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": "3", "restart-strategy.fixed-delay.delay": "2 s",
    }
    (conf / "config.yaml").write_text("".join(f"{k}: {v}\n" for k, v in settings.items()))
    return conf


def lib_dir(conf: Path) -> Path:
    """Flink's lib/ plus opt/flink-python (a session cluster needs it to run Python operators)."""
    lib = conf.parent / "lib"
    lib.mkdir(exist_ok=True)
    home = flink_home()
    for jar in [*(home / "lib").glob("*.jar"), *(home / "opt").glob("flink-python-*.jar")]:
        link = lib / jar.name
        if not link.exists():
            link.symlink_to(jar)
    return lib


def _env(conf: Path) -> dict[str, str]:
    env = dict(os.environ, FLINK_CONF_DIR=str(conf), FLINK_LOG_DIR=str(conf.parent / "log"),
               FLINK_PID_DIR=str(conf.parent), FLINK_LIB_DIR=str(lib_dir(conf)), PYTHONPATH=str(ROOT))
    (conf.parent / "log").mkdir(exist_ok=True)
    return env


def _registered(rest_port: int) -> int:
    """TaskManagers registered with the JobManager (0 while it is not up)."""
    try:
        with urllib.request.urlopen(f"http://localhost:{rest_port}/taskmanagers", timeout=2) as resp:
            return len(json.loads(resp.read()).get("taskmanagers", []))
    except (OSError, ValueError):
        return 0


def start(cfg: StackConfig, rest_port: int = 8081) -> Path:
    """Start the JobManager and ``taskmanagers(cfg)`` TaskManagers; returns the configuration folder."""
    import time

    conf = write_conf(cfg, rest_port)
    done = subprocess.run([str(flink_home() / "bin" / "start-cluster.sh")], env=_env(conf),
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise StackError(f"start-cluster.sh failed:\n{done.stdout}\n{done.stderr}")
    deadline = time.monotonic() + cfg.start_timeout_s
    while time.monotonic() < deadline:
        if _registered(rest_port) >= taskmanagers(cfg):
            return conf
        time.sleep(1)
    logs = sorted((conf.parent / "log").glob("*.log"))
    raise StackError(f"Flink cluster not ready on :{rest_port}; " + (tail(logs[-1]) if logs else "no logs"))


def stop(conf: Path) -> None:
    subprocess.run([str(flink_home() / "bin" / "stop-cluster.sh")], env=_env(conf),
                   capture_output=True, text=True, timeout=120)


def submit(conf: Path, rest_port: int, job_args: list[str], job_env: dict[str, str]) -> subprocess.CompletedProcess:
    """``flink run -py pipelines/job.py`` against the cluster; waits for a bounded job to end."""
    argv = [str(flink_home() / "bin" / "flink"), "run", "-m", f"localhost:{rest_port}",
            "-py", str(ROOT / "pipelines" / "job.py"), "-pyclientexec", sys.executable,
            "-pyexec", sys.executable, *job_args]
    return subprocess.run(argv, env={**_env(conf), **job_env}, capture_output=True, text=True, timeout=300)
