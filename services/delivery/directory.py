"""Where an e-mail goes: a small, pluggable directory from pseudonymized user id to address.

Triggers carry no e-mail address (user ids are pseudonyms), and the job's ``sp:profile:{user}``
key holds no direct identifiers either (only time zone, country, locale, currency, tier,
segments: the profile's ``email_hash`` is a hash, not an address). So the address comes from
outside the job, looked up in this order, first answer wins:

1. ``address_book``: a JSON file ``{"<user_id>": "<address>"}`` (fixtures, small deployments);
2. ``address_key``: a Redis key template such as ``sp:contact:{user}`` whose string value the
   shop's customer system writes (the job never does), so addresses live apart from the stream;
3. ``address_template``: e.g. ``{user}@shop.example``, the demo default, which turns every
   pseudonym into a deliverable address on the local SMTP sink.

A value that is not a single plain address (no ``@``, line breaks, several addresses) is
refused, so a bad entry can never inject headers. No address: the e-mail is skipped and recorded.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Protocol

from .config import EmailConfig


class Directory(Protocol):
    def address(self, user: str) -> str | None: ...


def clean_address(value: str | None) -> str | None:
    """``value`` when it is one plain address (``local@domain``), else None."""
    if not value or any(ch in value for ch in "\r\n,;<> \t"):
        return None
    _, parsed = parseaddr(value)
    local, at, domain = parsed.partition("@")
    return parsed if parsed == value and at and local and "." in domain else None


class BookDirectory:
    """Addresses from a mapping (e.g. a JSON file)."""

    def __init__(self, book: Mapping[str, str]) -> None:
        self._book = dict(book)

    @classmethod
    def from_file(cls, path: str) -> BookDirectory:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ValueError(f"{path}: expected a JSON object of user id -> address strings")
        return cls(data)

    def address(self, user: str) -> str | None:
        return clean_address(self._book.get(user))


class RedisDirectory:
    """Addresses from a Redis string key per user (``template`` with ``{user}``)."""

    def __init__(self, client: Any, template: str) -> None:
        self._client = client
        self._template = template

    def address(self, user: str) -> str | None:
        raw = self._client.get(self._template.format(user=user))
        return clean_address(raw.decode() if isinstance(raw, bytes) else raw)


class TemplateDirectory:
    """An address made from the user id, e.g. ``{user}@shop.example``."""

    def __init__(self, template: str) -> None:
        self._template = template

    def address(self, user: str) -> str | None:
        return clean_address(self._template.format(user=user))


class ChainDirectory:
    """The first directory that knows the user answers."""

    def __init__(self, directories: Sequence[Directory]) -> None:
        self._directories = list(directories)

    def address(self, user: str) -> str | None:
        for directory in self._directories:
            found = directory.address(user)
            if found:
                return found
        return None


def from_config(cfg: EmailConfig, client: Any) -> ChainDirectory:
    """The lookup order of the module docstring, with only the configured sources."""
    chain: list[Directory] = []
    if cfg.address_book:
        chain.append(BookDirectory.from_file(cfg.address_book))
    if cfg.address_key:
        chain.append(RedisDirectory(client, cfg.address_key))
    if cfg.address_template:
        chain.append(TemplateDirectory(cfg.address_template))
    return ChainDirectory(chain)
