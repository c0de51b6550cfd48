"""The JSONL copy of the delivery journal is capped like its streams, with an in-memory Redis stand-in."""
from __future__ import annotations

import json
from pathlib import Path

from services.delivery.claims import RedisJournal
from services.delivery.core import Outcome

MAXLEN = 10


class FakePipeline:
    """Collects XADDs and applies them to the fake client on ``execute``."""

    def __init__(self, client: FakeRedis) -> None:
        self._client = client
        self._queued: list[tuple[str, dict[str, str]]] = []

    def xadd(self, key: str, fields: dict[str, str], maxlen: int, approximate: bool) -> None:
        self._queued.append((key, fields))

    def execute(self) -> None:
        for key, fields in self._queued:
            self._client.add(key, fields)


class FakeRedis:
    """Just enough of a Redis client for ``RedisJournal``: pipelined XADD, XRANGE and XDEL."""

    def __init__(self) -> None:
        self.streams: dict[str, list[tuple[bytes, dict[bytes, bytes]]]] = {}
        self._seq = 0

    def add(self, key: str, fields: dict[str, str]) -> None:
        self._seq += 1
        entry = {k.encode(): v.encode() for k, v in fields.items()}
        self.streams.setdefault(key, []).append((f"{self._seq}-0".encode(), entry))

    def pipeline(self, transaction: bool = True) -> FakePipeline:
        assert transaction is False
        return FakePipeline(self)

    def xrange(self, key: str, min: str = "-", count: int | None = None) -> list[tuple[bytes, dict[bytes, bytes]]]:
        assert min == "-", "these tests fit in one page"
        return list(self.streams.get(key, []))[:count]

    def xdel(self, key: str, *ids: bytes) -> int:
        before = self.streams.get(key, [])
        self.streams[key] = [e for e in before if e[0] not in ids]
        return len(before) - len(self.streams[key])


def outcome(n: int, user: str = "u-1") -> Outcome:
    """The ``n``-th outcome, trigger id ``t-<n>``."""
    return Outcome(trigger_id=f"t-{n}", channel="email", user_id=user, trigger_type="abandoned_cart",
                   outcome="sent", detail="", attempts=1, at_ms=1_767_261_600_000 + n)


def record(journal: RedisJournal, numbers: range, user: str = "u-1") -> None:
    """Record the outcomes ``numbers`` for ``user``."""
    for n in numbers:
        journal.record(outcome(n, user), {"trigger_id": f"t-{n}"})


def trigger_ids(path: Path) -> list[str]:
    """The trigger ids of the file's lines, in file order."""
    return [json.loads(line)["trigger_id"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_appends_are_trimmed_to_the_newest_lines(tmp_path: Path) -> None:
    path = tmp_path / "deliveries.jsonl"
    client = FakeRedis()
    journal = RedisJournal(client, "sp", MAXLEN, str(path))
    for n in range(40):
        record(journal, range(n, n + 1))
        assert len(trigger_ids(path)) <= MAXLEN * 3 // 2
    ids = trigger_ids(path)
    assert MAXLEN <= len(ids) <= MAXLEN * 3 // 2
    assert ids == [f"t-{n}" for n in range(40 - len(ids), 40)]
    assert len(client.streams["sp:deliveries"]) == 40  # the fake never trims: the file is capped on its own
    assert not (tmp_path / "deliveries.jsonl.tmp").exists()


def test_the_trim_is_amortised(tmp_path: Path) -> None:
    path = tmp_path / "deliveries.jsonl"
    journal = RedisJournal(FakeRedis(), "sp", MAXLEN, str(path))
    record(journal, range(15))
    assert trigger_ids(path) == [f"t-{n}" for n in range(15)]  # at 1.5 x maxlen: not yet
    record(journal, range(15, 16))
    assert trigger_ids(path) == [f"t-{n}" for n in range(6, 16)]  # past it: back to maxlen
    record(journal, range(16, 21))
    assert len(trigger_ids(path)) == 15  # no rewrite until it passes the cap again


def test_an_earlier_runs_file_is_counted_and_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "deliveries.jsonl"
    record(RedisJournal(FakeRedis(), "sp", 100, str(path)), range(30))
    assert len(trigger_ids(path)) == 30
    record(RedisJournal(FakeRedis(), "sp", MAXLEN, str(path)), range(30, 31))
    assert trigger_ids(path) == [f"t-{n}" for n in range(21, 31)]


def test_a_purge_keeps_the_count_right(tmp_path: Path) -> None:
    path = tmp_path / "deliveries.jsonl"
    journal = RedisJournal(FakeRedis(), "sp", MAXLEN, str(path))
    record(journal, range(0, 5), user="u-gone")
    record(journal, range(5, 15))
    assert journal.forget({"u-gone"}) == 5 + 5  # both from the stream and from the file
    assert trigger_ids(path) == [f"t-{n}" for n in range(5, 15)]
    record(journal, range(15, 20))
    assert len(trigger_ids(path)) == 15  # the count fell by 5 with the purge: no early trim
    record(journal, range(20, 21))
    assert trigger_ids(path) == [f"t-{n}" for n in range(11, 21)]  # nor a late one


def test_a_purge_first_counts_the_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "deliveries.jsonl"
    earlier = RedisJournal(FakeRedis(), "sp", 100, str(path))
    record(earlier, range(0, 4), user="u-gone")
    record(earlier, range(4, 12))
    journal = RedisJournal(FakeRedis(), "sp", MAXLEN, str(path))
    assert journal.forget({"u-gone"}) == 4
    record(journal, range(12, 19))
    assert len(trigger_ids(path)) == 15
    record(journal, range(19, 20))
    assert trigger_ids(path) == [f"t-{n}" for n in range(10, 20)]


def test_a_purge_without_a_file_then_appends(tmp_path: Path) -> None:
    path = tmp_path / "deliveries.jsonl"
    journal = RedisJournal(FakeRedis(), "sp", MAXLEN, str(path))
    assert journal.forget({"u-gone"}) == 0
    record(journal, range(16))
    assert trigger_ids(path) == [f"t-{n}" for n in range(6, 16)]
