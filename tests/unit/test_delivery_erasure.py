"""Erasure in the delivery services, with an in-memory Redis stand-in: cut-offs only rise, the
confirmation reaches the request's device ids, the service's stores are purged, and a trigger
emitted before the erasure is skipped and recorded without the user id."""
from __future__ import annotations

from typing import Any

from services.delivery.core import EMAIL_TYPES, Delivery
from services.delivery.erasure import Erasures, erased_key, request_key
from tests.unit.delivery_samples import T0, abandoned_cart
from tests.unit.test_delivery_core import FakeClaims, FakeJournal, FakeSender


class FakeRedis:
    """The commands ``Erasures`` uses: strings, one-member sorted sets with GT, TTLs, pipelines."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.ttl: dict[str, int] = {}

    def get(self, key: str) -> Any:
        value = self.data.get(key)
        return value.encode() if isinstance(value, str) else value

    def set(self, key: str, value: str, ex: int | None = None) -> bool:
        self.data[key] = value
        if ex:
            self.ttl[key] = ex
        return True

    def delete(self, *keys: str) -> int:
        return sum(1 for k in keys if self.data.pop(k, None) is not None)

    def zadd(self, key: str, mapping: dict[str, int], gt: bool = False) -> int:
        zset = self.data.setdefault(key, {})
        for member, score in mapping.items():
            if not gt or member not in zset or score > zset[member]:
                zset[member] = float(score)
        return 1

    def zscore(self, key: str, member: str) -> float | None:
        return self.data.get(key, {}).get(member)

    def expire(self, key: str, seconds: int) -> bool:
        self.ttl[key] = seconds
        return True

    def pipeline(self, transaction: bool = True) -> FakeRedis:
        return self

    def execute(self) -> list[Any]:
        return []


class ForgettingJournal(FakeJournal):
    def __init__(self) -> None:
        super().__init__()
        self.forgotten: list[set[str]] = []

    def forget(self, ids: set[str]) -> int:
        self.forgotten.append(set(ids))
        before = len(self.entries)
        self.entries = [e for e in self.entries if e.user_id not in ids]
        return before - len(self.entries)


def make() -> tuple[Erasures, FakeRedis, ForgettingJournal]:
    client, journal = FakeRedis(), ForgettingJournal()
    erasures = Erasures(client, "sp", 3600, journal, lambda some_id: [f"sp:contact:{some_id}"])
    return erasures, client, journal


def request(user: str = "u-gone", devices: tuple[str, ...] = ("a-gone",), rid: str = "r1") -> dict[str, Any]:
    return {"request_id": rid, "user_id": user, "anonymous_ids": list(devices), "requested_at": T0, "reason": None}


def test_a_request_cuts_off_every_id_and_purges_the_journal_and_the_directory() -> None:
    erasures, client, journal = make()
    client.set("sp:contact:u-gone", "gone@mail.example")
    client.set("sp:contact:u-stay", "stay@mail.example")
    purged = erasures.on_request(request(), now_ms=T0 + 100)
    assert purged.ids == ("a-gone", "u-gone") and purged.directory_keys == 1
    assert journal.forgotten == [{"u-gone", "a-gone"}]
    assert client.get("sp:contact:u-gone") is None and client.get("sp:contact:u-stay") is not None
    assert erasures.cutoff("u-gone") == erasures.cutoff("a-gone") == T0 + 100
    assert erasures.cutoff("u-stay") is None
    assert client.ttl[erased_key("sp", "u-gone")] == 3600


def test_the_confirmation_raises_the_cutoff_of_the_requests_device_ids_too() -> None:
    erasures, client, _ = make()
    erasures.on_request(request(), now_ms=T0 + 100)
    erasures.on_confirmation({"request_id": "r1", "user_id": "u-gone", "stores": [], "completed_at": T0 + 900})
    assert erasures.cutoff("u-gone") == erasures.cutoff("a-gone") == T0 + 900
    assert client.get(request_key("sp", "r1")) is None, "the pending request is done with"


def test_a_confirmation_naming_devices_cuts_them_off_without_the_request() -> None:
    erasures, _, journal = make()  # the service never read the request (it was written before a reset)
    purged = erasures.on_confirmation({"request_id": "r9", "user_id": "u-gone", "anonymous_ids": ["a-late"],
                                       "stores": [], "completed_at": T0 + 900})
    assert purged.ids == ("a-late", "u-gone") and journal.forgotten == [{"a-late", "u-gone"}]
    assert erasures.cutoff("a-late") == T0 + 900


def test_a_replayed_request_never_lowers_a_cutoff() -> None:
    erasures, _, _ = make()
    erasures.on_confirmation({"request_id": "r1", "user_id": "u-gone", "stores": [], "completed_at": T0 + 900})
    erasures.on_request(request(), now_ms=T0 + 100)
    assert erasures.cutoff("u-gone") == T0 + 900


def test_a_trigger_emitted_before_the_erasure_is_skipped_and_journalled_without_the_user() -> None:
    erasures, _, _ = make()
    claims, journal, sender = FakeClaims(), ForgettingJournal(), FakeSender()
    delivery = Delivery("email", EMAIL_TYPES, claims, journal, sender, clock=lambda: 42, erasures=erasures)
    early = abandoned_cart("u-gone", emitted_at=T0 + 50)
    erasures.on_request(request(), now_ms=T0 + 100)
    later = abandoned_cart("u-gone", seed="after-consent", emitted_at=T0 + 101)
    outcomes = [delivery.handle(t) for t in (early, early, later, abandoned_cart("u-stay"))]
    assert sender.sent == [later["trigger_id"], abandoned_cart("u-stay")["trigger_id"]]
    assert [(o.outcome, o.user_id, o.detail) for o in outcomes if o][:2] == [
        ("skipped", "", "erased"), ("duplicate", "", "already handled")]
    assert claims.values[f"sp:delivered:email:{early['trigger_id']}"] == "skipped"


def test_an_erasure_of_nothing_known_still_records_its_cutoff() -> None:
    erasures, _, journal = make()
    purged = erasures.on_confirmation({"request_id": "r-unknown", "user_id": "u-x", "stores": [],
                                       "completed_at": T0})
    assert purged.ids == ("u-x",) and purged.journal_entries == 0 and erasures.cutoff("u-x") == T0
