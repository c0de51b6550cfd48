"""The delivery decision, free of Kafka, SMTP and HTTP: which triggers a channel acts on, and
the claim-then-send step that delivers each (trigger_id, channel) at most once.

``decide`` looks at one trigger for one channel:

- a type the service does not handle, or a trigger without the channel: ``ignore`` (nothing
  recorded: another channel's business);
- a holdout (control group) trigger of a handled type: ``skip`` with reason ``holdout``, recorded
  so uplift can be measured, never contacted (whatever its channels say);
- otherwise ``send``.

A trigger of a shopper erased after it was emitted (``Delivery.erasures``, see ``erasure``) is
skipped with reason ``erased``, and its entries (also a duplicate's) carry no user id.

``Delivery.handle`` claims ``{prefix}:delivered:{channel}:{trigger_id}`` before skipping or
sending; a claim already taken means the trigger was handled before (a redelivery, a replay or
a restart) and yields a ``duplicate`` outcome without sending.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

log = logging.getLogger(__name__)

EMAIL_TYPES = ("abandoned_cart", "repeated_browse_offer")
PUSH_TYPES = ("abandoned_cart", "repeated_browse_offer", "ui_personalization")
Status = Literal["sent", "skipped", "failed", "duplicate"]
ERASED = "erased"  # the skip reason of a trigger whose user was erased after it was emitted


@dataclass(frozen=True)
class Plan:
    """What to do with a trigger on one channel: ``ignore``, ``skip`` (with a reason) or ``send``."""

    action: Literal["ignore", "skip", "send"]
    reason: str = ""


@dataclass(frozen=True)
class SendResult:
    """What a sender reports: sent, failed (after its retries) or skipped (e.g. no address)."""

    status: Literal["sent", "failed", "skipped"]
    detail: str = ""
    attempts: int = 1


@dataclass(frozen=True)
class Outcome:
    """One journal entry: what happened to a trigger on a channel, and when (UTC millis)."""

    trigger_id: str
    channel: str
    user_id: str
    trigger_type: str
    outcome: Status
    detail: str
    attempts: int
    at_ms: int

    def as_record(self) -> dict[str, str]:
        """Flat string fields, as a Redis stream entry holds them."""
        return {k: str(v) for k, v in asdict(self).items()}


class Claims(Protocol):
    """Atomic first-writer-wins markers, one per (channel, trigger_id)."""

    def claim(self, key: str) -> bool: ...
    def settle(self, key: str, outcome: str) -> None: ...


class Suppression(Protocol):
    """Erasures as delivery sees them: which triggers must not reach their user any more (the
    user was erased since), and the erasure records that say so (``erasure.Erasures``)."""

    def suppressed(self, trigger: dict[str, Any]) -> bool: ...
    def on_request(self, request: dict[str, Any], now_ms: int) -> Any: ...
    def on_confirmation(self, done: dict[str, Any]) -> Any: ...


class Journal(Protocol):
    """Where outcomes are recorded; failures keep the trigger for a later look."""

    def record(self, outcome: Outcome, trigger: dict[str, Any]) -> None: ...


Sender = Callable[[dict[str, Any]], SendResult]


def decide(trigger: dict[str, Any], channel: str, types: tuple[str, ...]) -> Plan:
    """The plan for ``trigger`` on ``channel`` when the service handles ``types``."""
    if trigger.get("trigger_type") not in types:
        return Plan("ignore", "type")
    if trigger.get("holdout"):
        return Plan("skip", "holdout")
    if channel not in (trigger.get("channels") or ()):
        return Plan("ignore", "channel")
    return Plan("send")


def claim_key(prefix: str, channel: str, trigger_id: str) -> str:
    """The Redis key that marks a (channel, trigger_id) as handled."""
    return f"{prefix}:delivered:{channel}:{trigger_id}"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Delivery:
    """One channel's pipeline: decide, claim, skip or send, settle the claim, record the outcome."""

    channel: str
    types: tuple[str, ...]
    claims: Claims
    journal: Journal
    send: Sender
    prefix: str = "sp"
    clock: Callable[[], int] = now_ms
    erasures: Suppression | None = None

    def handle(self, trigger: dict[str, Any]) -> Outcome | None:
        """Handle one decoded trigger; None when it is not this channel's business."""
        plan = decide(trigger, self.channel, self.types)
        if plan.action == "ignore":
            return None
        erased = self.erasures is not None and self.erasures.suppressed(trigger)
        plan = Plan("skip", ERASED) if erased else plan
        key = claim_key(self.prefix, self.channel, trigger["trigger_id"])
        if not self.claims.claim(key):
            return self._finish(trigger, "duplicate", "already handled", 0, erased)
        result = SendResult("skipped", plan.reason, 0) if plan.action == "skip" else self._send(trigger)
        self.claims.settle(key, result.status)
        return self._finish(trigger, result.status, result.detail, result.attempts, erased)

    def _send(self, trigger: dict[str, Any]) -> SendResult:
        try:
            return self.send(trigger)
        except Exception as exc:  # a sender bug must be recorded, not lose the trigger silently
            log.exception("%s sender raised on trigger %s", self.channel, trigger.get("trigger_id"))
            return SendResult("failed", f"{type(exc).__name__}: {exc}")

    def _finish(self, trigger: dict[str, Any], status: Status, detail: str, attempts: int,
                erased: bool = False) -> Outcome:
        """Record the outcome; an erased user's is recorded (and logged) without the user id."""
        user = "" if erased else trigger["user_id"]
        outcome = Outcome(trigger_id=trigger["trigger_id"], channel=self.channel, user_id=user,
                          trigger_type=trigger["trigger_type"], outcome=status, detail=detail,
                          attempts=attempts, at_ms=self.clock())
        self.journal.record(outcome, trigger)
        level = logging.WARNING if status == "failed" else logging.INFO
        log.log(level, "%s %s %s trigger %s for user %s%s", self.channel, status, outcome.trigger_type,
                outcome.trigger_id, outcome.user_id, f" ({detail})" if detail else "")
        return outcome
