"""HTTP side of the API: recommendation routes and the live push stream (Server-Sent Events).

``GET /api/live?anon=<anonymous id>`` subscribes the page to its anonymous id (the engine's key
until a login) and, when the login cookie is valid, to the shopper's pseudonym (the key after
it); the pseudonym comes from the server-side login, never from the query, so a page cannot
listen to another shopper's user key. The stream starts with the current UI hints from Redis and
the keys' recent triggers, then sends each new visible trigger as it arrives::

    event: trigger
    id: <trigger_id>
    data: {"type": "repeated_browse_offer", "offer": {...}, "hints": {...}, ...}
"""
from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .push import CLOSE, Hub, hints_view
from .recs import RecsService, bad_request, hints_handler, recs_handler, valid_user_key

KeyOf = Callable[[web.Request], str]


async def send(response: web.StreamResponse, event: str, data: dict[str, Any], event_id: str = "") -> None:
    head = f"event: {event}\n" + (f"id: {event_id}\n" if event_id else "")
    await response.write((head + f"data: {json.dumps(data, separators=(',', ':'))}\n\n").encode())


def live_keys(request: web.Request, user_key_of: KeyOf) -> list[str] | None:
    """The keys a live connection listens on; None when the anonymous id is malformed."""
    anon = request.query.get("anon", "")
    if anon and not valid_user_key(anon):
        return None
    return [k for k in (anon, user_key_of(request)) if k]


async def stream(response: web.StreamResponse, hub: Hub, recs: RecsService, keys: list[str],
                 heartbeat_s: float) -> None:
    """Hints, recent triggers, then live triggers until the page goes away or the server stops."""
    sub = hub.subscribe(keys)
    try:
        await send(response, "hello", {"keys": len(keys)})
        hints = await recs.hints(keys)
        if hints:
            await send(response, "hints", {"hints": hints, "banner": hints_view(hints, recs.catalog)})
        for message in hub.recent_for(keys):
            await send(response, "trigger", message, message["trigger_id"])
        while True:
            try:
                message = await asyncio.wait_for(sub.queue.get(), heartbeat_s)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if message is CLOSE:
                return
            await send(response, "trigger", message, message["trigger_id"])
    finally:
        hub.unsubscribe(sub)


def live_handler(recs: RecsService, hub: Hub, user_key_of: KeyOf, heartbeat_s: float) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        keys = live_keys(request, user_key_of)
        if keys is None:
            return bad_request("anon must be 1-128 characters of letters, digits and _ . : -")
        if not keys:
            return bad_request("nothing to listen to: pass anon=<anonymous id> or log in")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                               "X-Accel-Buffering": "no"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):
            await stream(response, hub, recs, keys, heartbeat_s)
        return response

    return handle


def add_api_routes(app: web.Application, recs: RecsService, hub: Hub, user_key_of: KeyOf,
                   heartbeat_s: float = 15.0) -> None:
    """``/api/recs/{user}``, ``/api/hints/{user}`` and ``/api/live``; live streams end at shutdown."""
    app.router.add_get("/api/recs/{user}", recs_handler(recs))
    app.router.add_get("/api/hints/{user}", hints_handler(recs))
    app.router.add_get("/api/live", live_handler(recs, hub, user_key_of, heartbeat_s))

    async def close_streams(_: web.Application) -> None:
        hub.close()

    app.on_shutdown.append(close_streams)
