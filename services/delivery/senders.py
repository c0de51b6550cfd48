"""The two transports: SMTP for e-mail, an HTTP POST of JSON for push. Thin on purpose.

Each sender is a callable ``trigger -> SendResult`` for ``core.Delivery``; both retry transient
failures on the ``backoff`` schedule. An ambiguous failure (the connection drops after the
server got the whole message) can be retried into a second copy; the e-mail's ``Message-ID``
and the POST's ``Idempotency-Key`` both carry the trigger id, so the receiver can drop it.

SMTP: connection errors, disconnects and 4xx replies are transient; 5xx replies are not.
HTTP: 2xx is success; 5xx, 408, 425, 429, timeouts and connection errors are transient; any
other status is final.
"""
from __future__ import annotations

import http.client
import json
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from .backoff import Attempt, Backoff, classify_status, retry, schedule
from .config import EmailConfig, WebhookConfig
from .core import SendResult
from .directory import Directory
from .render import build_message, render

Sleep = Callable[[float], object]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def smtp_verdict(exc: BaseException) -> Attempt:
    """Transient or final, for an exception raised while talking SMTP."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return Attempt("retry" if any(400 <= c < 500 for c in codes) else "fatal", _describe(exc))
    if isinstance(exc, smtplib.SMTPResponseException):
        return Attempt("retry" if 400 <= exc.smtp_code < 500 else "fatal", _describe(exc))
    return Attempt("retry", _describe(exc))


def product_names(catalog_path: str) -> dict[str, str]:
    """Product id -> name from the storefront's catalogue built from ``catalog_path`` ({} without one)."""
    if not catalog_path:
        return {}
    from services.storefront.catalog import configured_catalog

    return {pid: p.name for pid, p in configured_catalog(catalog_path=catalog_path).products.items()}


class EmailSender:
    """Resolve the address, render, and send over SMTP with retries."""

    def __init__(self, cfg: EmailConfig, directory: Directory, sleep: Sleep = time.sleep) -> None:
        self.cfg = cfg
        self.directory = directory
        self.sleep = sleep
        self.backoff = Backoff.from_config(cfg)
        self.names = product_names(cfg.catalog_path)

    def __call__(self, trigger: dict[str, Any]) -> SendResult:
        to = self.directory.address(str(trigger["user_id"]))
        if to is None:
            return SendResult("skipped", "no_address", 0)
        msg = build_message(trigger, render(trigger, self.cfg.shop_url, self.names), self.cfg.sender, to)
        result = retry(lambda n: self.attempt(msg), schedule(self.backoff), self.sleep,
                       give_up_after_s=self.backoff.give_up_after_s)
        return SendResult(result.status, f"{result.detail} to {to}".strip(), result.attempts)

    def attempt(self, msg: EmailMessage) -> Attempt:
        """One SMTP session delivering ``msg``."""
        cfg = self.cfg
        try:
            with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.smtp_timeout_s) as smtp:
                if cfg.smtp_starttls:
                    smtp.starttls()
                if cfg.smtp_username:
                    smtp.login(cfg.smtp_username, cfg.smtp_password)
                smtp.send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            return smtp_verdict(exc)
        return Attempt("ok", "")


def webhook_body(trigger: dict[str, Any]) -> bytes:
    """The trigger as compact JSON (Avro maps and arrays become objects and lists)."""
    return json.dumps(trigger, sort_keys=True, separators=(",", ":")).encode("utf-8")


class WebhookSender:
    """POST the trigger as JSON to the configured URL, with retries."""

    def __init__(self, cfg: WebhookConfig, sleep: Sleep = time.sleep) -> None:
        self.cfg = cfg
        self.sleep = sleep
        self.backoff = Backoff.from_config(cfg)

    def __call__(self, trigger: dict[str, Any]) -> SendResult:
        body = webhook_body(trigger)
        tid = str(trigger["trigger_id"])
        return retry(lambda n: self.attempt(body, tid, n), schedule(self.backoff), self.sleep,
                     give_up_after_s=self.backoff.give_up_after_s)

    def headers(self, trigger_id: str, attempt: int) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Idempotency-Key": trigger_id,
                   "X-Shoppulse-Trigger-Id": trigger_id, "X-Shoppulse-Attempt": str(attempt)}
        if self.cfg.webhook_token:
            headers["Authorization"] = f"Bearer {self.cfg.webhook_token}"
        return headers

    def attempt(self, body: bytes, trigger_id: str, n: int) -> Attempt:
        """One POST; the verdict comes from the status or the kind of error."""
        request = urllib.request.Request(self.cfg.webhook_url, data=body, method="POST",
                                         headers=self.headers(trigger_id, n))
        try:
            with urllib.request.urlopen(request, timeout=self.cfg.webhook_timeout_s) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            status = int(exc.code)
            exc.close()
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            return Attempt("retry", _describe(exc))
        return Attempt(classify_status(status), f"HTTP {status}")
