"""The delivery decision and the claim-then-send step, with fake claims, journal and sender."""
from __future__ import annotations

from typing import Any

import pytest

from services.delivery.core import EMAIL_TYPES, PUSH_TYPES, Delivery, Outcome, SendResult, claim_key, decide
from tests.unit.delivery_samples import abandoned_cart, browse_offer, ui_hint
from udfs.avro_codec import registry


class FakeClaims:
    """An in-memory SET NX: the first claim of a key wins."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def claim(self, key: str) -> bool:
        if key in self.values:
            return False
        self.values[key] = "claimed"
        return True

    def settle(self, key: str, outcome: str) -> None:
        assert key in self.values, "settling a claim that was never taken"
        self.values[key] = outcome


class FakeJournal:
    def __init__(self) -> None:
        self.entries: list[Outcome] = []

    def record(self, outcome: Outcome, trigger: dict[str, Any]) -> None:
        self.entries.append(outcome)


class FakeSender:
    def __init__(self, result: SendResult | None = None) -> None:
        self.sent: list[str] = []
        self.result = result or SendResult("sent", "ok", 1)

    def __call__(self, trigger: dict[str, Any]) -> SendResult:
        self.sent.append(trigger["trigger_id"])
        return self.result


def make(channel: str = "email", types: tuple[str, ...] = EMAIL_TYPES,
         sender: Any = None) -> tuple[Delivery, FakeClaims, FakeJournal, Any]:
    claims, journal, send = FakeClaims(), FakeJournal(), sender or FakeSender()
    return Delivery(channel, types, claims, journal, send, clock=lambda: 42), claims, journal, send


def test_samples_are_valid_triggers() -> None:
    reg = registry()
    for t in (abandoned_cart("u1"), browse_offer("u2"), ui_hint("u3")):
        assert reg.decode(reg.encode("trigger", t), "trigger") == t


@pytest.mark.parametrize(("trigger", "channel", "types", "action"), [
    (abandoned_cart("u"), "email", EMAIL_TYPES, "send"),
    (browse_offer("u"), "email", EMAIL_TYPES, "send"),
    (abandoned_cart("u", channels=["onsite"]), "email", EMAIL_TYPES, "ignore"),
    (abandoned_cart("u", channels=["email"]), "push", PUSH_TYPES, "ignore"),
    (ui_hint("u", channels=["email", "onsite"]), "email", EMAIL_TYPES, "ignore"),
    (ui_hint("u", channels=["push"]), "push", PUSH_TYPES, "send"),
    (abandoned_cart("u", holdout=True, channels=[]), "email", EMAIL_TYPES, "skip"),
    (abandoned_cart("u", holdout=True, channels=["email"]), "email", EMAIL_TYPES, "skip"),
])
def test_decide_filters_by_channel_and_type_and_skips_holdout(trigger: dict, channel: str,
                                                               types: tuple[str, ...], action: str) -> None:
    assert decide(trigger, channel, types).action == action


def test_a_duplicate_trigger_id_is_delivered_once() -> None:
    delivery, claims, journal, sender = make()
    first = abandoned_cart("u1")
    outcomes = [delivery.handle(t) for t in (first, dict(first), abandoned_cart("u2"), first)]
    assert sender.sent == [first["trigger_id"], abandoned_cart("u2")["trigger_id"]]
    assert [o.outcome for o in outcomes if o] == ["sent", "duplicate", "sent", "duplicate"]
    assert claims.values[claim_key("sp", "email", first["trigger_id"])] == "sent"
    assert [e.outcome for e in journal.entries] == ["sent", "duplicate", "sent", "duplicate"]


def test_the_same_trigger_id_on_two_channels_is_one_delivery_each() -> None:
    claims, journal = FakeClaims(), FakeJournal()
    email, push = FakeSender(), FakeSender()
    t = abandoned_cart("u1")
    Delivery("email", EMAIL_TYPES, claims, journal, email).handle(t)
    Delivery("push", PUSH_TYPES, claims, journal, push).handle(t)
    assert email.sent == push.sent == [t["trigger_id"]]


def test_holdout_is_recorded_as_skipped_and_never_sent() -> None:
    delivery, claims, journal, sender = make()
    held = abandoned_cart("u-held", holdout=True, channels=[])
    outcome = delivery.handle(held)
    assert sender.sent == []
    assert outcome is not None and (outcome.outcome, outcome.detail, outcome.attempts) == ("skipped", "holdout", 0)
    assert outcome.at_ms == 42 and outcome.user_id == "u-held"
    assert delivery.handle(held) is not None and sender.sent == []


def test_triggers_for_other_channels_are_ignored_without_a_record() -> None:
    delivery, claims, journal, sender = make()
    assert delivery.handle(abandoned_cart("u", channels=["onsite", "push"])) is None
    assert delivery.handle(ui_hint("u")) is None
    assert sender.sent == [] and journal.entries == [] and claims.values == {}


def test_a_failed_send_is_recorded_and_stays_claimed() -> None:
    delivery, claims, journal, sender = make(sender=FakeSender(SendResult("failed", "gave up after 5", 5)))
    t = abandoned_cart("u")
    outcome = delivery.handle(t)
    assert outcome is not None and (outcome.outcome, outcome.attempts) == ("failed", 5)
    assert delivery.handle(t) is not None and len(sender.sent) == 1, "at most once: no resend after a failure"


def test_a_sender_that_raises_is_recorded_as_failed() -> None:
    def broken(trigger: dict[str, Any]) -> SendResult:
        raise KeyError("cart")

    delivery, _, journal, _ = make(sender=broken)
    outcome = delivery.handle(abandoned_cart("u"))
    assert outcome is not None and outcome.outcome == "failed" and "KeyError" in outcome.detail
    assert journal.entries == [outcome]


def test_outcome_as_record_is_flat_strings() -> None:
    delivery, _, journal, _ = make()
    outcome = delivery.handle(abandoned_cart("u"))
    assert outcome is not None
    rec = outcome.as_record()
    assert rec["outcome"] == "sent" and rec["channel"] == "email" and rec["at_ms"] == "42"
    assert all(isinstance(v, str) for v in rec.values())
