"""Run a delivery service: ``python -m services.delivery email|webhook`` (``--help`` lists the settings)."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from udfs.envconfig import describe

from .config import PREFIX, DeliveryConfig, EmailConfig, WebhookConfig, load
from .core import Delivery
from .service import email_delivery, redis_client, serve, webhook_delivery

SERVICES: dict[str, tuple[type[DeliveryConfig], str, Callable[..., Delivery], str]] = {
    "email": (EmailConfig, "email", email_delivery,
              "E-mail abandoned_cart and repeated_browse_offer triggers whose channels include email, over SMTP."),
    "webhook": (WebhookConfig, "push", webhook_delivery,
                "POST triggers whose channels include push as JSON to a webhook, with bounded retries."),
}

NOTES = {"email": "\n\nRecipients: triggers carry pseudonyms only; the address comes from ADDRESS_BOOK, then\n"
                   "ADDRESS_KEY (Redis), then ADDRESS_TEMPLATE, first answer wins (services/delivery/directory.py)."}


def parser() -> argparse.ArgumentParser:
    """The command line: one sub-command per service, each listing its environment variables."""
    top = argparse.ArgumentParser(prog="python -m services.delivery",
                                  description="Deliver triggers from Kafka at most once per (trigger_id, channel).")
    subs = top.add_subparsers(dest="service", required=True)
    for name, (cls, _, _, summary) in SERVICES.items():
        subs.add_parser(name, help=summary, description=summary, formatter_class=argparse.RawDescriptionHelpFormatter,
                        epilog=f"Settings (environment variables):\n{describe(cls, PREFIX)}{NOTES.get(name, '')}")
    return top


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: Any) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    cls, channel, build, _ = SERVICES[args.service]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)  # keep the log to what was sent or skipped
    try:
        cfg = load(cls)
    except ValueError as exc:
        print(f"delivery {args.service}: cannot start: {exc}", file=sys.stderr)
        return 2
    return run(cfg, channel, build)


def run(cfg: DeliveryConfig, channel: str, build: Callable[..., Delivery]) -> int:
    """Serve until SIGINT/SIGTERM; exit code 2 when Redis or Kafka fails (unreachable, refused)."""
    from kafka.errors import KafkaError
    from redis.exceptions import ConnectionError as RedisConnectionError

    stop = threading.Event()
    _stop_on_signals(stop)
    client = redis_client(cfg)
    try:
        client.ping()
        serve(cfg, channel, build(cfg, client, stop), stop)
    except (KafkaError, RedisConnectionError) as exc:
        logging.getLogger("services.delivery").error("%s delivery stopped: %s: %s", channel, type(exc).__name__, exc)
        return 2
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
