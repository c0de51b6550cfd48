"""Run the collector: ``python -m services.collector`` (``--help`` lists the settings)."""
from __future__ import annotations

import asyncio
import logging
import signal
import sys

from aiohttp import web

from udfs.envconfig import describe

from .app import create_app
from .config import KEY_VAR, PREFIX, CollectorConfig, ConfigError, load_config, pseudonym_key
from .delivery import make_producer

log = logging.getLogger("services.collector")


async def serve(cfg: CollectorConfig, key: bytes) -> None:
    """Serve until SIGINT/SIGTERM, then stop taking requests and close the producer."""
    producer = make_producer(cfg)
    runner = web.AppRunner(create_app(cfg, producer, key), access_log=None)
    loop = asyncio.get_running_loop()
    try:
        await runner.setup()
        try:
            await web.TCPSite(runner, cfg.host, cfg.port).start()
        except OSError as exc:
            raise ConfigError(f"cannot listen on {cfg.host}:{cfg.port}: {exc.strerror or exc}") from None
        for address in runner.addresses:  # the real port when cfg.port is 0
            log.info("collector listening on http://%s:%s (topic %s, brokers %s)", address[0], address[1],
                     cfg.topic, cfg.bootstrap_servers)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("collector stopping")
    finally:
        await runner.cleanup()
        await loop.run_in_executor(None, lambda: producer.close(timeout=cfg.request_timeout_s))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(f"Settings (environment variables):\n{describe(CollectorConfig, PREFIX)}\n"
              f"{KEY_VAR}: secret HMAC key for user-id and e-mail pseudonyms (required)")
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = load_config()
        key = pseudonym_key(cfg)
    except (ConfigError, ValueError) as exc:
        print(f"collector: cannot start: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(cfg, key))
    except ConfigError as exc:
        print(f"collector: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
