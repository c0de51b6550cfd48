"""The dataset replayer: rows to behavior events in event order, pacing on an injected clock, bad rows."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from models.data.sessions import DataFormatError, Session, make_step
from services.simulator import replay as replay_cli
from services.simulator.dataset import dataset_events, ordered_steps
from services.simulator.pacing import Pacer, rebased
from services.simulator.replay import load_events, replay
from services.simulator.sender import Sender
from udfs.avro_codec import registry

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
REES46 = ("event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n"
          "2019-10-01 00:00:05 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,s1\n"
          "2019-10-01 00:00:00 UTC,view,3900821,2053013552326770905,appliances.environment.water_heater,aqua,"
          "33.20,554748717,s2\n"
          "2019-10-01 00:00:09 UTC,cart,3900821,2053013552326770905,appliances.environment.water_heater,aqua,"
          ",554748717,s2\n"
          "2019-10-01 00:01:00 UTC,purchase,3900821,2053013552326770905,,aqua,33.20,554748717,s2\n")


class FakeClock:
    """A clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


class FakeProducer:
    """Records produced (topic, value, key); refuses the first ``full`` calls with BufferError."""

    def __init__(self, full: int = 0) -> None:
        self.records: list[tuple[str, bytes, bytes | None]] = []
        self.full, self.polls = full, 0

    def produce(self, topic: str, value: bytes, key: bytes | None = None, timestamp: int = 0) -> None:
        if self.full > 0:
            self.full -= 1
            raise BufferError("queue full")
        self.records.append((topic, value, key))

    def poll(self, timeout: float = 0) -> int:
        self.polls += 1
        return 0

    def flush(self, timeout: float = 0) -> int:
        return 0

    def __len__(self) -> int:
        return 0


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_rees46_rows_become_events_in_event_order_with_enum_types_and_null_prices(tmp_path: Path) -> None:
    events = load_events(write(tmp_path, "r.csv", REES46), "rees46", "USD", "granted")
    assert [e["event_type"] for e in events] == ["product_view", "product_view", "add_to_cart", "purchase"]
    assert [e["event_time"] for e in events] == sorted(e["event_time"] for e in events)
    assert events[0]["anonymous_id"] == "rees46-s2" and events[0]["product"]["category"] == \
        "appliances/environment/water_heater"
    cart = events[2]
    assert cart["product"]["price"] is None and cart["product"]["currency"] is None and cart["quantity"] == 1
    assert events[1]["product"] == {"product_id": "44600062", "category": None, "price": 35.79,
                                    "currency": "USD", "brand": None}
    assert events[3]["order_id"] and events[3]["consent"]["personalization"] is True
    for e in events:
        assert registry().decode(registry().encode("behavior_event", e), "behavior_event")["event_id"] == e["event_id"]


def test_ties_are_broken_by_session_then_position() -> None:
    a = Session("b", [make_step("1", "product_view", 10), make_step("2", "product_view", 10)])
    b = Session("a", [make_step("3", "product_view", 10)])
    assert [(s.session_id, i) for s, i, _ in ordered_steps([a, b])] == [("a", 0), ("b", 0), ("b", 1)]
    assert [e["consent"] for e in dataset_events([b], "x", consent="none")] == [None]


@pytest.mark.parametrize(("fmt", "name"), [("diginetica", "diginetica-sample-item-views.csv"),
                                           ("otto", "otto-sample.jsonl"), ("rees46", "rees46-2019-oct-head.csv")])
def test_the_shared_samples_replay_in_order_and_encode(fmt: str, name: str) -> None:
    events = load_events(str(DATA / name), fmt, "EUR", "granted", limit=400)
    assert len(events) == 400
    assert all(a["event_time"] <= b["event_time"] for a, b in zip(events, events[1:], strict=False))
    assert len({e["event_id"] for e in events}) == 400
    for e in events[:50]:
        registry().encode("behavior_event", e)


@pytest.mark.parametrize(("fmt", "text", "line"), [
    ("rees46", REES46.replace("35.79", "cheap"), 2),
    ("rees46", REES46.replace(",cart,", ",wishlist,"), 4),
    ("otto", '{"session": 1, "events": [{"aid": 5, "ts": 1000, "type": "clicks"}]}\n{"session": 2}\n', 2),
    ("diginetica", "session_id;user_id;item_id;timeframe;eventdate\n1;NA;9;12;2016-05-09\n1;NA;9;x;2016-05-09\n",
     3),
    ("sessionrec", "SessionId\tItemId\tTime\n1\t5\t1.5\n1\t6\n", 3),
])
def test_a_bad_row_is_an_error_naming_the_line(tmp_path: Path, fmt: str, text: str, line: int) -> None:
    path = write(tmp_path, "bad.txt", text)
    with pytest.raises(DataFormatError) as err:
        load_events(path, fmt, "EUR", "granted")
    assert f"{path}:{line}:" in str(err.value)


def test_the_cli_reports_a_bad_row_and_sends_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "bad.csv", REES46.replace("35.79", "cheap"))
    assert replay_cli.main([path, "--format", "rees46", "--brokers", "127.0.0.1:1"]) == 2
    assert f"error: {path}:2: bad price 'cheap'" in capsys.readouterr().err


def test_pacing_waits_by_event_time_divided_by_the_speedup() -> None:
    clock = FakeClock()
    pacer = Pacer(60, clock, clock.sleep, slice_s=1.0)
    pacer.anchor(1_000_000)
    assert pacer.wait(1_000_000) == 0
    assert pacer.wait(1_000_000 + 120_000) == pytest.approx(2.0)  # two minutes at 60x: two seconds
    assert clock.slept == [1.0, 1.0]
    clock.now += 5
    assert pacer.wait(1_000_000 + 180_000) == 0 and pacer.lag(1_000_000 + 180_000) == pytest.approx(4.0)


def test_speedup_zero_never_waits_and_ticks_run_while_waiting() -> None:
    clock = FakeClock()
    fast = Pacer(0, clock, clock.sleep)
    fast.anchor(0)
    assert fast.wait(10**9) == 0 and not clock.slept
    ticks: list[float] = []
    slow = Pacer(1, clock, clock.sleep, slice_s=0.25)
    slow.anchor(0)
    slow.wait(1000, lambda: ticks.append(clock.now))
    assert len(ticks) == 4
    assert rebased(61_000, 1_000, 5_000, 60) == 6_000 and rebased(61_000, 1_000, 5_000, 0) == 5_000


def _events(n: int, step_ms: int) -> list[dict[str, Any]]:
    return [{"event_id": f"e{i}", "event_type": "page_view", "anonymous_id": f"a{i % 3}", "channel": "web",
             "event_time": 1_000_000 + i * step_ms, "received_time": 1_000_000 + i * step_ms} for i in range(n)]


def test_replay_sends_in_order_keyed_by_anonymous_id_at_the_speedup() -> None:
    clock, producer = FakeClock(), FakeProducer(full=2)
    sender = Sender({}, "events", producer=producer)
    start = clock.now
    assert replay(_events(5, 30_000), sender, Pacer(30, clock, clock.sleep)) == 5
    assert clock.now - start == pytest.approx(4.0)  # 2 minutes of event time at 30x
    decoded = [registry().decode(v, "behavior_event") for _, v, _ in producer.records]
    assert [e["event_id"] for e in decoded] == [f"e{i}" for i in range(5)]
    assert [k for _, _, k in producer.records] == [b"a0", b"a1", b"a2", b"a0", b"a1"]
    assert sender.counts().sent == 5 and sender.counts().delivered == 5


def test_now_mode_moves_event_time_onto_the_wall_clock() -> None:
    clock, producer = FakeClock(), FakeProducer()
    replay(_events(3, 60_000), Sender({}, "events", producer=producer), Pacer(60, clock, clock.sleep),
           now_mode=True, now0_ms=2_000_000_000_000)
    times = [registry().decode(v, "behavior_event")["event_time"] for _, v, _ in producer.records]
    assert times == [2_000_000_000_000, 2_000_000_001_000, 2_000_000_002_000]
