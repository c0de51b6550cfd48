"""Recommendation API: ``GET /api/recs/{user}`` and ``GET /api/hints/{user}`` over the job's Redis.

One request is one Redis round trip (``MGET sp:recs:{user} sp:hints:{user}``) on a pooled
connection; the answer is assembled from JSON fragments prepared once per product, so a lookup
costs little more than the round trip. Recommended ids the catalogue does not sell are skipped
and the list is topped up with the most popular products (``source`` says ``personal`` when at
least one item is the shopper's own, else ``popular``). When Redis is slow or down the answer is
the popular list with ``"degraded": true``: the shop keeps rendering. Bad input gets a JSON 400.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Sequence
from typing import Any, Protocol

from aiohttp import web

from .catalog import Catalog

log = logging.getLogger(__name__)
USER_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
MAX_LIMIT = 50


class Store(Protocol):
    """The one Redis command the API uses (``redis.asyncio.Redis`` satisfies it)."""

    async def mget(self, keys: Sequence[str]) -> list[Any]: ...


def bad_request(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def valid_user_key(user: str) -> bool:
    """An anonymous id or pseudonym: 1-128 characters of letters, digits and ``_ . : -``."""
    return USER_KEY.fullmatch(user) is not None


def parse_json(raw: Any, kind: type) -> Any:
    """A cached JSON value of the expected type, or None (absent or unreadable)."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, kind) else None


class RecsService:
    """Looks up a user's recommendations and hints; falls back to popular products."""

    def __init__(self, catalog: Catalog, store: Store, prefix: str, limit: int, timeout_s: float) -> None:
        self.catalog, self.store, self.prefix = catalog, store, prefix
        self.limit, self.timeout_s = limit, timeout_s
        self.fragments = {pid: json.dumps(p.as_json(), separators=(",", ":"))
                          for pid, p in catalog.products.items()}

    def keys(self, user: str) -> list[str]:
        return [f"{self.prefix}:recs:{user}", f"{self.prefix}:hints:{user}"]

    async def fetch(self, keys: Sequence[str]) -> list[Any] | None:
        """The values of ``keys``, or None when Redis fails or is slower than the timeout."""
        try:
            async with asyncio.timeout(self.timeout_s):
                return list(await self.store.mget(keys))
        except Exception as exc:  # redis-py raises many types; any of them means "no answer"
            log.warning("redis lookup failed: %s: %s", type(exc).__name__, exc)
            return None

    def items(self, recommended: list[Any] | None, limit: int) -> tuple[list[str], str]:
        """Catalogue items for the answer (fragments) and their source."""
        personal = [str(p) for p in recommended or [] if str(p) in self.fragments]
        chosen = list(dict.fromkeys(personal))[:limit]
        source = "personal" if chosen else "popular"
        for pid in self.catalog.popular:
            if len(chosen) >= limit:
                break
            if pid not in chosen:
                chosen.append(pid)
        return [self.fragments[p] for p in chosen], source

    async def recs_body(self, user: str, limit: int) -> str:
        """The JSON answer of ``/api/recs/{user}``."""
        values = await self.fetch(self.keys(user))
        recs, hints = (parse_json(values[0], list), parse_json(values[1], dict)) if values else (None, None)
        items, source = self.items(recs, limit)
        degraded = ',"degraded":true' if values is None else ""
        return (f'{{"user":{json.dumps(user)},"source":"{source}","items":[{",".join(items)}],'
                f'"hints":{json.dumps(hints or {})}{degraded}}}')

    async def hints(self, users: Sequence[str]) -> dict[str, str]:
        """The merged hints of ``users`` (later keys win), in one round trip; empty on failure."""
        values = await self.fetch([f"{self.prefix}:hints:{u}" for u in users]) or []
        merged: dict[str, str] = {}
        for raw in values:
            merged.update(parse_json(raw, dict) or {})
        return merged


def limit_of(request: web.Request, default: int) -> int | None:
    """The ``limit`` query parameter (1..MAX_LIMIT), the default when absent, None when invalid."""
    raw = request.query.get("limit")
    if raw is None:
        return default
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= MAX_LIMIT else None


def recs_handler(service: RecsService) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        user = request.match_info["user"]
        if not valid_user_key(user):
            return bad_request("user must be 1-128 characters of letters, digits and _ . : -")
        limit = limit_of(request, service.limit)
        if limit is None:
            return bad_request(f"limit must be an integer from 1 to {MAX_LIMIT}")
        body = await service.recs_body(user, limit)
        return web.Response(text=body, content_type="application/json", headers={"Cache-Control": "no-store"})

    return handle


def hints_handler(service: RecsService) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        user = request.match_info["user"]
        if not valid_user_key(user):
            return bad_request("user must be 1-128 characters of letters, digits and _ . : -")
        return web.json_response({"user": user, "hints": await service.hints([user])},
                                 headers={"Cache-Control": "no-store"})

    return handle
