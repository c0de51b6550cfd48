"""Produce records with kafka-python and await the broker's acknowledgements from asyncio.

``KafkaProducer.send`` can block (waiting for topic metadata or buffer space), so sends run in a
small thread pool; each returned future is bridged to an asyncio future with ``add_callback`` /
``add_errback`` + ``call_soon_threadsafe``, so the event loop never blocks. ``deliver`` returns
only when every record is acknowledged (acks=all, idempotent producer) and raises
``DeliveryError`` on any failure or when the deadline passes.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from .config import CollectorConfig, api_version

log = logging.getLogger(__name__)


class DeliveryError(RuntimeError):
    """The broker did not acknowledge every record in time; the client should retry."""


class ProducerFuture(Protocol):
    def add_callback(self, fn: Any, *args: Any, **kwargs: Any) -> Any: ...
    def add_errback(self, fn: Any, *args: Any, **kwargs: Any) -> Any: ...


class Producer(Protocol):
    def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
             timestamp_ms: int | None = None) -> ProducerFuture: ...


def make_producer(cfg: CollectorConfig) -> Any:
    """An idempotent, acks=all KafkaProducer; start-up needs no reachable broker (api_version is set)."""
    from kafka import KafkaProducer

    return KafkaProducer(
        bootstrap_servers=[s.strip() for s in cfg.bootstrap_servers.split(",") if s.strip()],
        client_id="shoppulse-collector",
        acks="all",
        enable_idempotence=True,
        linger_ms=cfg.linger_ms,
        batch_size=cfg.batch_size,
        delivery_timeout_ms=cfg.delivery_timeout_ms,
        request_timeout_ms=max(1000, cfg.delivery_timeout_ms - cfg.linger_ms - 500),
        max_block_ms=cfg.max_block_ms,
        api_version=api_version(cfg),
    )


def describe(exc: BaseException) -> str:
    """``Type: message`` once (kafka-python's errors already start with their type name)."""
    text = str(exc)
    name = type(exc).__name__
    return text if text.startswith(name) else f"{name}: {text}" if text else name


def _resolve(fut: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if fut.done():  # the request already gave up (deadline passed)
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(result)


def bridge(loop: asyncio.AbstractEventLoop, future: ProducerFuture) -> asyncio.Future[Any]:
    """An asyncio future completed, on ``loop``, by a kafka-python future's callback or errback."""
    waiter: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        with contextlib.suppress(RuntimeError):  # loop closed during shutdown: nobody waits any more
            loop.call_soon_threadsafe(_resolve, waiter, result, error)

    future.add_callback(lambda metadata: settle(metadata, None))
    future.add_errback(lambda exc: settle(None, exc))
    return waiter


class KafkaDelivery:
    """Sends a request's records to one topic and waits until the broker has all of them."""

    def __init__(self, producer: Producer, topic: str, timeout_s: float, workers: int = 4) -> None:
        self.producer = producer
        self.topic = topic
        self.timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="collector-send")

    def _send_all(self, records: Sequence[tuple[bytes, bytes]], stamps: Sequence[int | None]) -> list[ProducerFuture]:
        return [self.producer.send(self.topic, value=value, key=key, timestamp_ms=ts)
                for (key, value), ts in zip(records, stamps, strict=True)]

    async def deliver(self, records: Sequence[tuple[bytes, bytes]], timestamps: Sequence[int] | None = None) -> None:
        """Return once every record is acknowledged; DeliveryError on failure or timeout.
        ``timestamps`` are the Kafka record timestamps (the events' times, udfs.event_time)."""
        if not records:
            return
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout_s):
                stamps: Sequence[int | None] = timestamps if timestamps is not None else [None] * len(records)
                futures = await loop.run_in_executor(self._pool, self._send_all, records, stamps)
                await asyncio.gather(*(bridge(loop, f) for f in futures))
        except TimeoutError:
            waited = f"{len(records)} record(s) in {self.timeout_s:g}s"
            raise DeliveryError(f"broker did not acknowledge {waited}") from None
        except Exception as exc:
            log.warning("produce to %s failed: %s", self.topic, describe(exc))
            raise DeliveryError(describe(exc)) from exc

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
