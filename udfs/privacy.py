"""Personal-data minimization shared by the collector and the job.

- ``pseudonymize``: keyed HMAC-SHA256 of an identifier (user id, e-mail), so the same person
  maps to the same opaque id everywhere while the raw value never reaches Kafka. The key comes
  from the environment (``SP_PSEUDONYM_KEY``); rotating it unlinks all history.
- ``strip_url_pii``: keeps a URL's path and only allow-listed, non-personal query parameters.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

PSEUDONYM_PREFIX = "u_"
SAFE_QUERY_PARAMS = frozenset(
    {"q", "query", "page", "sort", "category", "cat", "color", "size", "brand", "price_min",
     "price_max", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "ref"}
)
_EMAIL = re.compile(r"[^@\s/]+@[^@\s/]+\.[A-Za-z]{2,}")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def pseudonymize(value: str, key: bytes) -> str:
    """Stable keyed pseudonym of ``value`` (already normalized); ``u_`` + 32 hex chars."""
    if not key:
        raise ValueError("pseudonymization key is empty: set SP_PSEUDONYM_KEY")
    digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:32]


def is_pseudonym(value: str) -> bool:
    return value.startswith(PSEUDONYM_PREFIX) and len(value) == len(PSEUDONYM_PREFIX) + 32


def strip_url_pii(url: str | None, safe_params: frozenset[str] = SAFE_QUERY_PARAMS) -> str | None:
    """Path plus allow-listed query parameters; drops scheme, host, fragment and e-mails in the path."""
    if url is None:
        return None
    parts = urlsplit(url.strip())
    path = _EMAIL.sub("[email]", parts.path or "/")
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=False) if k.lower() in safe_params]
    kept = [(k, v) for k, v in kept if not _EMAIL.search(v)]
    return path + ("?" + urlencode(kept) if kept else "")
