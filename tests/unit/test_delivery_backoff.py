"""Backoff schedule, retry loop, failure classification, sender wiring and configuration."""
from __future__ import annotations

import random
import smtplib
import socket
from typing import Any

import pytest

from services.delivery.__main__ import main, parser
from services.delivery.backoff import Attempt, Backoff, ceilings, classify_status, retry, schedule
from services.delivery.config import EmailConfig, WebhookConfig, load
from services.delivery.senders import EmailSender, WebhookSender, smtp_verdict, webhook_body
from tests.unit.delivery_samples import abandoned_cart


def test_ceilings_grow_exponentially_up_to_the_cap() -> None:
    assert ceilings(Backoff(max_attempts=6, base_s=0.5, factor=2, max_s=3)) == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert ceilings(Backoff(max_attempts=1)) == []


def test_schedule_is_jittered_below_each_ceiling_and_bounded() -> None:
    policy = Backoff(max_attempts=8, base_s=1, factor=2, max_s=10, jitter=1.0, give_up_after_s=1000)
    rng = random.Random(7)
    runs = [schedule(policy, rng) for _ in range(200)]
    for delays in runs:
        assert len(delays) == 7
        assert all(0 <= d <= c for d, c in zip(delays, ceilings(policy), strict=True))
    assert len({round(r[3], 6) for r in runs}) > 100, "jitter spreads the retries"


def test_schedule_with_no_jitter_is_the_ceilings_and_stops_at_the_deadline() -> None:
    assert schedule(Backoff(max_attempts=5, base_s=1, factor=3, max_s=100, jitter=0)) == [1, 3, 9, 27]
    assert schedule(Backoff(max_attempts=5, base_s=1, factor=3, max_s=100, jitter=0, give_up_after_s=13)) == [1, 3, 9]
    half = schedule(Backoff(max_attempts=4, base_s=2, factor=2, max_s=100, jitter=0.5), random.Random(1))
    assert all(c / 2 <= d <= c for d, c in zip(half, [2, 4, 8], strict=True))


def scripted(*verdicts: str) -> tuple[Any, list[int]]:
    calls: list[int] = []

    def attempt(n: int) -> Attempt:
        calls.append(n)
        return Attempt(verdicts[n - 1], f"try {n}")  # type: ignore[arg-type]

    return attempt, calls


def test_retry_until_success_sleeps_the_schedule() -> None:
    attempt, calls = scripted("retry", "retry", "ok")
    slept: list[float] = []
    result = retry(attempt, [0.1, 0.2, 0.4], sleep=slept.append)
    assert (result.status, result.attempts) == ("sent", 3) and calls == [1, 2, 3] and slept == [0.1, 0.2]


def test_retry_gives_up_after_the_last_delay_and_says_so() -> None:
    attempt, calls = scripted("retry", "retry", "retry")
    result = retry(attempt, [0.1, 0.2], sleep=lambda s: None)
    assert result.status == "failed" and result.attempts == 3 and "gave up after 3" in result.detail
    assert "try 3" in result.detail


def test_retry_does_not_retry_a_fatal_answer() -> None:
    attempt, calls = scripted("retry", "fatal", "ok")
    result = retry(attempt, [0.0, 0.0], sleep=lambda s: None)
    assert result.status == "failed" and calls == [1, 2] and "not retried" in result.detail


def test_retry_respects_the_wall_clock_deadline_and_a_stop() -> None:
    now = [0.0]
    attempt, calls = scripted("retry", "retry", "retry")
    result = retry(attempt, [5, 5], sleep=lambda s: now.__setitem__(0, now[0] + s), clock=lambda: now[0],
                   give_up_after_s=7)
    assert result.status == "failed" and calls == [1, 2]
    attempt, calls = scripted("retry", "ok")
    stopped = retry(attempt, [5], sleep=lambda s: True)
    assert stopped.status == "failed" and "stopped" in stopped.detail and calls == [1]


@pytest.mark.parametrize(("status", "verdict"), [
    (200, "ok"), (204, "ok"), (500, "retry"), (503, "retry"), (429, "retry"), (408, "retry"),
    (400, "fatal"), (404, "fatal"), (301, "fatal"),
])
def test_http_status_classification(status: int, verdict: str) -> None:
    assert classify_status(status) == verdict


def test_smtp_failure_classification() -> None:
    assert smtp_verdict(smtplib.SMTPResponseException(451, b"try later")).verdict == "retry"
    assert smtp_verdict(smtplib.SMTPResponseException(550, b"no such user")).verdict == "fatal"
    assert smtp_verdict(smtplib.SMTPRecipientsRefused({"a@b.example": (550, b"no")})).verdict == "fatal"
    assert smtp_verdict(smtplib.SMTPServerDisconnected("gone")).verdict == "retry"
    assert smtp_verdict(ConnectionRefusedError(111, "refused")).verdict == "retry"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_email_sender_skips_users_without_an_address_and_retries_a_dead_server() -> None:
    cfg = load(EmailConfig, {}, smtp_port=closed_port(), max_attempts=3, backoff_jitter=0.0, backoff_base_s=0.01)
    slept: list[float] = []
    none = EmailSender(cfg, directory=type("D", (), {"address": lambda self, u: None})(), sleep=slept.append)
    assert none(abandoned_cart("u")).detail == "no_address"
    result = EmailSender(cfg, directory=type("D", (), {"address": lambda self, u: "u@shop.example"})(),
                         sleep=slept.append)(abandoned_cart("u"))
    assert result.status == "failed" and result.attempts == 3 and slept == [0.01, 0.02]
    assert "ConnectionRefusedError" in result.detail


def test_webhook_sender_posts_json_with_idempotency_key_and_retries_connection_errors() -> None:
    cfg = load(WebhookConfig, {}, webhook_url=f"http://127.0.0.1:{closed_port()}/push", max_attempts=2,
               backoff_base_s=0.0, webhook_token="s3cret")
    sender = WebhookSender(cfg, sleep=lambda s: None)
    t = abandoned_cart("u")
    result = sender(t)
    assert result.status == "failed" and result.attempts == 2 and "gave up" in result.detail
    headers = sender.headers(t["trigger_id"], 2)
    assert headers["Idempotency-Key"] == t["trigger_id"] and headers["X-Shoppulse-Attempt"] == "2"
    assert headers["Authorization"] == "Bearer s3cret"
    assert b'"cart_value":120.0' in webhook_body(t)


def test_config_from_environment_and_refusals() -> None:
    cfg = load(WebhookConfig, {"SP_DELIVERY_MAX_ATTEMPTS": "7", "SP_DELIVERY_WEBHOOK_URL": "http://h/x"})
    assert cfg.max_attempts == 7 and cfg.webhook_url == "http://h/x" and cfg.group("push") == "shoppulse-delivery-push"
    assert load(EmailConfig, {"SP_DELIVERY_GROUP_ID": "g"}).group("email") == "g"
    with pytest.raises(ValueError, match="SP_DELIVERY_SMTP_PORT"):
        load(EmailConfig, {"SP_DELIVERY_SMTP_PORT": "x"})
    for bad in ({"backoff_jitter": 2.0}, {"max_attempts": 0}, {"auto_offset_reset": "middle"}):
        with pytest.raises(ValueError):
            load(EmailConfig, {}, **bad)


def test_cli_help_lists_the_settings(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["email", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "SP_DELIVERY_SMTP_HOST" in out and "SP_DELIVERY_ADDRESS_TEMPLATE" in out
    assert parser().parse_args(["webhook"]).service == "webhook"
    with pytest.raises(SystemExit):
        main(["webhook", "--help"])
    assert "SP_DELIVERY_WEBHOOK_URL" in capsys.readouterr().out
    with pytest.raises(SystemExit) as missing:
        main([])
    assert missing.value.code == 2, "a service must be named"
