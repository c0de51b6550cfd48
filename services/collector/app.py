"""The collector's aiohttp application: intake endpoints, health, the tag, CORS and limits.

Every intake request is validated as a whole (400 listing each problem, 413 when too large, 415
for a wrong content type) and answered 202 only after the broker acknowledged all its records;
503 with Retry-After otherwise, so a client retries and nothing accepted is ever lost.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from . import payloads
from .config import CollectorConfig, pseudonym_key
from .delivery import DeliveryError, KafkaDelivery, Producer
from .intake import context_for, take
from .payloads import Payload, RequestError
from .validation import Limits

TAG_PATH = Path(__file__).resolve().parent / "static" / "tag.js"
JSON_TYPES = ("application/json",)
TAG_TYPES = ("application/json", "text/plain")  # text/plain: beacons and fetches without a preflight
LOG_TYPES = ("text/plain", "application/x-ndjson", "application/jsonl")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class State:
    cfg: CollectorConfig
    key: bytes
    limits: Limits
    delivery: KafkaDelivery
    tag: bytes
    tag_etag: str


STATE = web.AppKey("collector_state", State)


def error(status: int, message: str, problems: list[dict[str, Any]] | None = None, cap: int = 100,
          headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, Any] = {"error": message}
    if problems:
        body["problems"] = problems[:cap]
        if len(problems) > cap:
            body["problems_total"] = len(problems)
    return web.json_response(body, status=status, headers=headers)


async def read_body(request: web.Request, cfg: CollectorConfig, types: Collection[str]) -> bytes:
    """The raw body, after the size and content-type checks (RequestError 413/415)."""
    length = request.content_length
    if length is not None and length > cfg.max_body_bytes:
        raise RequestError(413, f"body of {length} bytes exceeds the limit of {cfg.max_body_bytes}")
    if request.content_type not in types:
        accepted = " or ".join(types)
        raise RequestError(415, f"Content-Type {request.content_type!r} not accepted here; use {accepted}")
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise RequestError(413, f"body exceeds the limit of {cfg.max_body_bytes} bytes") from None


async def accept(state: State, payload: Payload) -> web.Response:
    """Validate, produce and wait for the broker: 202, 400, 413 or 503."""
    cfg = state.cfg
    if len(payload.items) > cfg.max_batch_events:
        return error(413, f"{len(payload.items)} events in one request; the limit is {cfg.max_batch_events}")
    ctx = context_for(payload, int(time.time() * 1000), state.key, state.limits)
    intake = take(payload, ctx)
    if not intake.ok:
        message = f"{len(intake.problems)} problem(s); nothing was accepted"
        return error(400, message, intake.problems, cfg.max_problems)
    try:
        await state.delivery.deliver(intake.records, intake.timestamps)
    except DeliveryError as exc:
        retry = {"Retry-After": str(cfg.retry_after_s)}
        return error(503, f"events not stored, retry later ({exc})", headers=retry)
    return web.json_response({"accepted": len(intake.records)}, status=202)


def intake_handler(types: Collection[str], parse: Callable[[bytes, State], Payload]) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        try:
            payload = parse(await read_body(request, state.cfg, types), state)
        except RequestError as exc:
            return error(exc.status, exc.message, exc.problems, state.cfg.max_problems)
        return await accept(state, payload)

    return handle


async def healthz(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "ok", "topic": request.app[STATE].cfg.topic})


async def tag_js(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    if not state.tag:
        return error(404, f"the storefront tag is not installed ({TAG_PATH.name} missing)")
    headers = {"Cache-Control": f"public, max-age={state.cfg.tag_max_age_s}", "ETag": state.tag_etag,
               "X-Content-Type-Options": "nosniff"}
    if state.tag_etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=state.tag, content_type="application/javascript", charset="utf-8",
                        headers=headers)


def cors_middleware(origins: Collection[str]) -> Any:
    """Lets the storefront post from the browser; error answers carry the headers too."""

    def allow(request: web.Request, headers: Any) -> None:
        origin = request.headers.get("Origin")
        if "*" in origins:
            headers["Access-Control-Allow-Origin"] = "*"
        elif origin in origins:
            headers["Access-Control-Allow-Origin"] = origin
            headers["Vary"] = "Origin"

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            allow(request, exc.headers)
            raise
        allow(request, response.headers)
        return response

    return cors


async def preflight(request: web.Request) -> web.StreamResponse:
    return web.Response(status=204, headers={
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": "86400",
    })


def create_app(cfg: CollectorConfig, producer: Producer, key: bytes | None = None) -> web.Application:
    """The application; ``key`` defaults to ``SP_PSEUDONYM_KEY`` (ConfigError when it is unset)."""
    tag = TAG_PATH.read_bytes() if TAG_PATH.is_file() else b""
    delivery = KafkaDelivery(producer, cfg.topic, cfg.request_timeout_s)
    app = web.Application(client_max_size=cfg.max_body_bytes, middlewares=[cors_middleware(cfg.cors_origins)])
    app[STATE] = State(cfg, key if key is not None else pseudonym_key(cfg), Limits.from_config(cfg), delivery,
                       tag, '"' + hashlib.sha256(tag).hexdigest()[:20] + '"')
    app.router.add_post("/v1/events", intake_handler(
        TAG_TYPES, lambda body, s: payloads.events_payload(body)))
    app.router.add_post("/v1/batch", intake_handler(
        JSON_TYPES, lambda body, s: payloads.batch_payload(body, s.cfg.max_string_len)))
    app.router.add_post("/v1/logs", intake_handler(LOG_TYPES, lambda body, s: payloads.log_payload(body)))
    for path in ("/v1/events", "/v1/batch", "/v1/logs"):
        app.router.add_route("OPTIONS", path, preflight)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/tag.js", tag_js)

    async def close_delivery(_: web.Application) -> None:
        delivery.close()

    app.on_cleanup.append(close_delivery)
    return app
