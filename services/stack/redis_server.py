"""Debian's redis-server on 127.0.0.1, no persistence (a cache: every key has a TTL)."""
from __future__ import annotations

import os
import shutil

from services.stack.config import StackConfig
from services.stack.proc import StackError, port_open, read_pid, spawn, stop, wait_ready


def ready(cfg: StackConfig) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(cfg.redis_url, socket_timeout=1).ping())
    except Exception:
        return False


def start(cfg: StackConfig) -> str:
    d = cfg.redis_dir
    pid_file = d / "redis.pid"
    if read_pid(pid_file) is not None and ready(cfg):
        return f"Redis already running on {cfg.redis_url}"
    if port_open(cfg.redis_port):  # another process's server: its keys are not ours to use or flush
        raise StackError(f"port {cfg.redis_port} is taken by another process; set SP_STACK_REDIS_PORT")
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(server):
        raise StackError("redis-server not found: run scripts/setup.sh (installs Debian's redis-server)")
    d.mkdir(parents=True, exist_ok=True)
    argv = [server, "--port", str(cfg.redis_port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(d), "--daemonize", "no", "--protected-mode", "yes"]
    log = d / "redis.log"
    pid = spawn(argv, log, pid_file, d)
    wait_ready("Redis", pid, lambda: ready(cfg), cfg.start_timeout_s, log)
    return f"Redis {cfg.redis_url} (pid {pid})"


def shutdown(cfg: StackConfig) -> bool:
    return stop("Redis", cfg.redis_dir / "redis.pid")
