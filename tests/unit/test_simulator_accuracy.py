"""Trigger precision/recall against ground truth, on hand-made inputs with known answers; delivery counting."""
from __future__ import annotations

import io
from typing import Any

import pytest

from services.simulator.accuracy import accuracy, format_table
from services.simulator.sender import Counts, ProgressLine, Sender, report_counts
from services.simulator.truth import Truth, parse_truth

CART, OFFER, UI = "abandoned_cart", "repeated_browse_offer", "ui_personalization"


def truth(user: str, persona: str, expected: set[str], forbidden: set[str]) -> Truth:
    return Truth(user, persona, frozenset(expected), frozenset(forbidden))


def trig(user: str, ttype: str, holdout: bool = False) -> dict[str, Any]:
    return {"user_id": user, "trigger_type": ttype, "holdout": holdout}


TRUTH = [
    truth("a1", "abandoner", {CART, UI}, {OFFER}),
    truth("a2", "abandoner", {CART, UI}, {OFFER}),
    truth("a3", "abandoner", {CART, UI}, {OFFER}),
    truth("a4", "abandoner", {CART, UI}, {OFFER}),
    truth("b1", "buyer", {UI}, {CART, OFFER}),
    truth("b2", "buyer", {UI}, {CART, OFFER}),
    truth("x1", "bot", set(), {CART, OFFER}),
]


def test_known_answers_per_persona_and_per_type() -> None:
    triggers = [trig("a1", CART), trig("a1", CART), trig("a2", CART, holdout=True), trig("a3", CART),
                trig("a1", UI), trig("a2", UI), trig("a3", UI), trig("a4", UI),
                trig("b1", CART), trig("b1", UI), trig("b2", UI),
                trig("x1", UI), trig("zz", CART)]
    acc = accuracy(TRUTH, triggers)
    cart = acc.by_type[CART]
    assert (cart.tp, cart.fp, cart.fn, cart.tn) == (3, 1, 1, 2)  # b1 earned one; a4 missed; b2, x1 did not
    assert cart.precision == pytest.approx(0.75) and cart.recall == pytest.approx(0.75)
    ab = acc.by_persona["abandoner"]
    assert (ab.tp, ab.fp, ab.fn, ab.tn) == (7, 0, 1, 4)
    assert ab.precision == 1.0 and ab.recall == pytest.approx(7 / 8)
    buyer = acc.cells[("buyer", CART)]
    assert buyer.precision == 0.0 and buyer.recall is None and buyer.fp == 1
    assert acc.by_persona["bot"].precision is None and acc.by_persona["bot"].tn == 2, "x1's UI hint is not scored"
    assert acc.unknown_users == 1 and acc.triggers == 13 and acc.shoppers["abandoner"] == 4


def test_nothing_fired_gives_zero_recall_and_undefined_precision() -> None:
    acc = accuracy(TRUTH, [])
    assert acc.by_type[CART].recall == 0.0 and acc.by_type[CART].precision is None
    assert acc.by_persona["buyer"].tn == 4 and acc.by_persona["buyer"].fn == 2


def test_everything_right_gives_ones() -> None:
    triggers = [trig(t.user, ttype) for t in TRUTH for ttype in t.expected]
    acc = accuracy(TRUTH, triggers)
    assert all(s.precision in (1.0, None) and s.recall in (1.0, None) for s in acc.cells.values())
    assert acc.by_type[UI].recall == 1.0 and acc.by_type[CART].precision == 1.0


def test_the_table_lists_every_persona_and_type() -> None:
    text = format_table(accuracy(TRUTH, [trig("a1", CART)]))
    assert "abandoner (4)" in text and "abandoner/abandoned_cart" in text and "bot/repeated_browse_offer" in text
    assert "1 triggers, 7 shoppers" in text


def test_bad_truth_lines_name_the_line() -> None:
    good = '{"user": "u1", "persona": "buyer", "expected": ["ui_personalization"], "forbidden": []}'
    assert parse_truth([good, ""])[0].expected == {UI}
    for bad in ("{not json", '{"user": 1, "persona": "x"}', '{"user": "u", "persona": "x", "expected": "a"}'):
        with pytest.raises(ValueError, match="t.jsonl:2:"):
            parse_truth([good, bad], "t.jsonl")


class ErrorProducer:
    """Delivers nothing: every record's delivery report is an error (as librdkafka would call back)."""

    def __init__(self) -> None:
        self.callback: Any = None
        self.queued: list[bytes] = []

    def produce(self, topic: str, value: bytes, key: bytes | None = None, timestamp: int = 0) -> None:
        self.queued.append(value)

    def poll(self, timeout: float = 0) -> int:
        for _ in self.queued:
            self.callback("Broker: Unknown topic or partition", None)
        n, self.queued = len(self.queued), []
        return n

    def flush(self, timeout: float = 0) -> int:
        self.poll()
        return 0

    def __len__(self) -> int:
        return len(self.queued)


def test_failed_deliveries_are_counted_and_reported_never_silent() -> None:
    producer = ErrorProducer()
    sender = Sender({}, "events", producer=producer)
    producer.callback = sender._delivered
    for i in range(3):
        sender.send(b"k", bytes([i]))
    sender.send_many([(b"k", b"x"), (None, b"y")])
    counts = sender.close(1.0)
    assert (counts.sent, counts.delivered, counts.failed) == (5, 0, 5) and not counts.ok()
    out = io.StringIO()
    assert report_counts(counts, out) == 1
    assert "5 failed" in out.getvalue() and "5 x Broker: Unknown topic or partition" in out.getvalue()


def test_the_progress_line_names_sent_rate_active_and_errors() -> None:
    out = io.StringIO()
    ProgressLine("simulator", stream=out).update(Counts(1200, 1100, 3, 97, {"client: down": 2}), 42, final=True)
    line = out.getvalue()
    assert "1,200 events sent" in line and "42 shoppers active" in line and "5 delivery errors" in line
    assert "events/s" in line and line.endswith("\n")
