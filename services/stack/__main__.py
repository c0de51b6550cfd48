"""``python -m services.stack up|down|status``: the local Kafka broker and Redis, and the topics."""
from __future__ import annotations

import argparse
import sys

from pipelines.config import load_job_config
from services.stack import kafka, redis_server
from services.stack.config import StackConfig, load
from services.stack.proc import StackError
from services.stack.topics import ensure_topics, topic_specs


def up(cfg: StackConfig) -> None:
    print("==> starting Redis ...", flush=True)
    print("    " + redis_server.start(cfg), flush=True)
    print("==> starting Kafka (KRaft) ...", flush=True)
    print("    " + kafka.start(cfg), flush=True)
    job = load_job_config(bootstrap_servers=cfg.bootstrap)
    created = ensure_topics(cfg.bootstrap, topic_specs(job.topics(), cfg.partitions))
    print(f"==> topics ready: {', '.join(job.topics().values())}"
          + (f" (created {len(created)})" if created else ""), flush=True)


def down(cfg: StackConfig) -> None:
    print("Kafka stopped" if kafka.shutdown(cfg) else "Kafka was not running")
    print("Redis stopped" if redis_server.shutdown(cfg) else "Redis was not running")


def status(cfg: StackConfig) -> None:
    print(f"Kafka {cfg.bootstrap}: {'up' if kafka.ready(cfg) else 'down'}")
    print(f"Redis {cfg.redis_url}: {'up' if redis_server.ready(cfg) else 'down'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.stack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    cfg = load()
    try:
        {"up": up, "down": down, "status": status}[args.command](cfg)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
