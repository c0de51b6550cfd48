"""``python -m services.demo``: the whole system live on the local stack, until Ctrl-C.

Needs the stack up first (``python -m services.stack up``; the same ``SP_STACK_*`` settings).
Starts the live job, collector, storefront, SMTP sink, e-mail and webhook senders and the shopper
simulator, prints the storefront's URL and a summary line every few seconds, and stops all of it
on Ctrl-C or after ``--duration`` seconds. Logs: ``.state/demo/<child>.log``.
"""
from __future__ import annotations

import argparse
import sys

from services.demo.config import PREFIX, DemoConfig, load
from services.demo.orchestrator import run
from services.stack import kafka, redis_server
from services.stack.config import load as load_stack
from udfs.envconfig import describe


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m services.demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Settings (environment variables):\n" + describe(DemoConfig, PREFIX))
    p.add_argument("--duration", type=float, help="seconds to run once up (0: until Ctrl-C) [SP_DEMO_DURATION]")
    p.add_argument("--rate", type=float, dest="sim_rate", help="simulator events per second [SP_DEMO_SIM_RATE]")
    p.add_argument("--seed", type=int, dest="sim_seed", help="simulator seed [SP_DEMO_SIM_SEED]")
    p.add_argument("--abandon-window-ms", type=int, dest="abandon_window_ms",
                   help="cart inactivity before abandoned_cart [SP_DEMO_ABANDON_WINDOW_MS]")
    p.add_argument("--no-simulator", action="store_false", dest="simulator", default=None,
                   help="no simulated shoppers: only what you do in the shop [SP_DEMO_SIMULATOR=false]")
    p.add_argument("--no-push", action="store_false", dest="push", default=None,
                   help="no webhook sender and receiver [SP_DEMO_PUSH=false]")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        cfg, stack = load(**vars(args)), load_stack()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    missing = [name for name, up in (("Kafka " + stack.bootstrap, kafka.ready(stack)),
                                     ("Redis " + stack.redis_url, redis_server.ready(stack))) if not up]
    if missing:
        print(f"error: {' and '.join(missing)} not reachable: start the stack first "
              "(python -m services.stack up, same SP_STACK_* settings)", file=sys.stderr)
        return 2
    return run(cfg, stack)


if __name__ == "__main__":
    sys.exit(main())
