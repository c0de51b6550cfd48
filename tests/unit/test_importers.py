"""Importers: each format read from a few real rows (taken from the public samples) into steps."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import fastavro
import pytest

from models.data import Session, detect_format, read_sessions

DIGINETICA = """session_id;user_id;item_id;timeframe;eventdate
1;NA;81766;526309;2016-05-09
1;NA;31331;1031018;2016-05-09
1;NA;9654;75848;2016-05-09
2;NA;3147;883039;2016-05-09
2;NA;81766;5;2016-05-10
"""

REES46 = """event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session
2019-10-01 00:01:46 UTC,view,1004856,20530135556,electronics.smartphone,samsung,130.76,543272936,8187d148
2019-10-01 00:02:14 UTC,purchase,1004856,20530135556,electronics.smartphone,samsung,130.76,543272936,8187d148
2019-10-01 00:00:00 UTC,view,44600062,21038074595,,shiseido,35.79,541312140,72d76fde
2019-10-01 00:00:30 UTC,cart,44600062,21038074595,,shiseido,35.79,541312140,72d76fde
2019-10-01 00:00:40 UTC,remove_from_cart,44600062,21038074595,,shiseido,,541312140,72d76fde
"""

OTTO = (
    '{"session":0,"events":[{"aid":1517085,"ts":1659304800025,"type":"clicks"},'
    '{"aid":1563459,"ts":1659304904511,"type":"carts"}]}\n'
    '{"session":1,"events":[{"aid":424964,"ts":1659304800000,"type":"carts"},'
    '{"aid":424964,"ts":1659385939248,"type":"orders"}]}\n'
)

SESSIONREC = "SessionId\tItemId\tTime\n7\t214\t1396321200.5\n7\t215\t1396321260.25\n8\t214\t1396320000\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def events(session: Session) -> list[tuple[str | None, str, int]]:
    return [(s["item_id"], s["event_type"], s["event_time"]) for s in session.steps]


def test_diginetica_event_time_is_date_plus_timeframe_and_steps_sorted(tmp_path: Path) -> None:
    sessions = read_sessions(write(tmp_path, "views.csv", DIGINETICA))
    by_id = {s.session_id: s for s in sessions}
    day = 1462752000000  # 2016-05-09T00:00:00Z
    assert events(by_id["1"]) == [("9654", "product_view", day + 75848),
                                  ("81766", "product_view", day + 526309),
                                  ("31331", "product_view", day + 1031018)]
    assert events(by_id["2"])[1] == ("81766", "product_view", day + 86_400_000 + 5)
    assert [s.session_id for s in sessions] == ["1", "2"]  # by start time


def test_rees46_maps_event_types_prices_and_categories(tmp_path: Path) -> None:
    sessions = read_sessions(write(tmp_path, "oct.csv", REES46))
    assert [s.session_id for s in sessions] == ["72d76fde", "8187d148"]
    shiseido, samsung = sessions
    assert events(samsung) == [("1004856", "product_view", 1569888106000),
                               ("1004856", "purchase", 1569888134000)]
    assert samsung.steps[0]["category"] == "electronics/smartphone" and samsung.steps[0]["price"] == 130.76
    assert [s["event_type"] for s in shiseido.steps] == ["product_view", "add_to_cart", "remove_from_cart"]
    assert shiseido.steps[0]["category"] is None and shiseido.steps[2]["price"] is None


def test_rees46_rows_without_session_are_cut_per_user_at_30_minutes(tmp_path: Path) -> None:
    header = REES46.splitlines()[0]
    rows = ["2019-10-01 00:00:00 UTC,view,1,2,,b,1.0,99,", "2019-10-01 00:29:00 UTC,view,2,2,,b,1.0,99,",
            "2019-10-01 01:00:01 UTC,view,3,2,,b,1.0,99,"]
    sessions = read_sessions(write(tmp_path, "o.csv", "\n".join([header, *rows]) + "\n"))
    assert [(s.session_id, s.item_ids) for s in sessions] == [("user-99#1", ["1", "2"]), ("user-99#2", ["3"])]


def test_otto_maps_clicks_carts_orders(tmp_path: Path) -> None:
    sessions = read_sessions(write(tmp_path, "otto.jsonl", OTTO))
    assert [s.session_id for s in sessions] == ["1", "0"]  # session 1 starts first
    sessions = sessions[::-1]
    assert events(sessions[0]) == [("1517085", "product_view", 1659304800025),
                                   ("1563459", "add_to_cart", 1659304904511)]
    assert [s["event_type"] for s in sessions[1].steps] == ["add_to_cart", "purchase"]
    assert sessions[1].has_purchase and not sessions[0].has_purchase


def test_sessionrec_time_in_seconds_becomes_millis(tmp_path: Path) -> None:
    sessions = read_sessions(write(tmp_path, "train.txt", SESSIONREC))
    assert [s.session_id for s in sessions] == ["8", "7"]
    assert events(sessions[1]) == [("214", "product_view", 1396321200500),
                                   ("215", "product_view", 1396321260250)]


def _avro_file(tmp_path: Path, records: list[dict]) -> Path:
    raw = json.loads((Path(__file__).resolve().parents[2] / "avro_schemas/behavior_event.avsc").read_text())
    path = tmp_path / "events.avro"
    with open(path, "wb") as f:
        fastavro.writer(f, fastavro.parse_schema(raw), records)
    return path


def avro_event(anon: str, t: int, kind: str = "product_view", item: str | None = "p1",
               session_id: str | None = None) -> dict:
    product = None if item is None else {"product_id": item, "category": "shoes/running", "price": 59.9}
    return {"event_type": kind, "anonymous_id": anon, "session_id": session_id, "channel": "web",
            "event_time": t, "received_time": t + 5, "product": product}


def test_avro_groups_by_session_id_else_anonymous_id_and_gap(tmp_path: Path) -> None:
    gap = 30 * 60 * 1000
    records = [avro_event("a", 1000, session_id="s1"), avro_event("b", 5000, "page_view", None),
               avro_event("a", 2000, "add_to_cart", session_id="s1"), avro_event("b", 5000 + gap),
               avro_event("b", 6001 + 2 * gap, "purchase", "p2")]
    sessions = read_sessions(_avro_file(tmp_path, records))
    assert [s.session_id for s in sessions] == ["s1", "b#1", "b#2"]
    assert events(sessions[0]) == [("p1", "product_view", 1000), ("p1", "add_to_cart", 2000)]
    assert events(sessions[1]) == [(None, "page_view", 5000), ("p1", "product_view", 5000 + gap)]
    assert sessions[0].steps[0]["price"] == 59.9 and sessions[0].steps[0]["category"] == "shoes/running"


@pytest.mark.parametrize(("name", "text", "fmt"), [
    ("a.csv", DIGINETICA, "diginetica"), ("b.csv", REES46, "rees46"), ("c.jsonl", OTTO, "otto"),
    ("d.txt", SESSIONREC, "sessionrec")])
def test_detection_also_through_gzip(tmp_path: Path, name: str, text: str, fmt: str) -> None:
    plain = write(tmp_path, name, text)
    packed = tmp_path / (name + ".gz")
    packed.write_bytes(gzip.compress(text.encode()))
    assert detect_format(plain) == fmt and detect_format(packed) == fmt
    assert read_sessions(packed) == read_sessions(plain, fmt)


def test_detects_avro_by_magic(tmp_path: Path) -> None:
    path = _avro_file(tmp_path, [avro_event("a", 1)])
    assert detect_format(path) == "avro"
    assert read_sessions(path, "avro")[0].session_id == "a#1"
