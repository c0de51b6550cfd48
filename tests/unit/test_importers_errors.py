"""Importers reject bad input with an error naming the file and the line (or Avro record)."""
from __future__ import annotations

import io
import json
from pathlib import Path

import fastavro
import pytest

from models.data import DataFormatError, read_sessions
from models.data.__main__ import main as data_main

DIGI_HEADER = "session_id;user_id;item_id;timeframe;eventdate\n"
REES_HEADER = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n"
REES_ROW = "2019-10-01 00:00:00 UTC,view,1,2,a.b,x,1.5,9,s1\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "line", "needle"), [
    (DIGI_HEADER + "1;NA;5;10;2016-05-09\n1;NA;6;abc;2016-05-09\n", 3, "bad timeframe 'abc'"),
    (DIGI_HEADER + "1;NA;5;10\n", 2, "expected 5 fields, got 4"),
    (DIGI_HEADER + "1;NA;5;10;09/05/2016\n", 2, "bad eventdate '09/05/2016'"),
])
def test_diginetica_errors(tmp_path: Path, text: str, line: int, needle: str) -> None:
    path = write(tmp_path, "views.csv", text)
    with pytest.raises(DataFormatError, match=f"views.csv:{line}: .*{needle}") as info:
        read_sessions(path, "diginetica")
    assert info.value.line == line and info.value.path == str(path)


@pytest.mark.parametrize(("row", "needle"), [
    ("2019-10-01 00:00:01 UTC,wishlist,1,2,,x,1.5,9,s1\n", "unknown REES46 event_type 'wishlist'"),
    ("2019-10-01 00:00:01 UTC,view,1,2,,x,cheap,9,s1\n", "bad price 'cheap'"),
    ("2019-10-01 00:00:01 UTC,view,1,2,,x,-3,9,s1\n", "price must be a non-negative"),
    ("yesterday,view,1,2,,x,1.5,9,s1\n", "bad event_time 'yesterday'"),
    (",view,1,2,,x,1.5,,\n", "bad event_time"),
    ("2019-10-01 00:00:01 UTC,view,1,2,,x,1.5,,\n", "neither user_session nor user_id"),
])
def test_rees46_errors(tmp_path: Path, row: str, needle: str) -> None:
    path = write(tmp_path, "oct.csv", REES_HEADER + REES_ROW + row)
    with pytest.raises(DataFormatError, match=f"oct.csv:3: .*{needle}"):
        read_sessions(path)


@pytest.mark.parametrize(("line", "needle"), [
    ('{"session": 2, "events": [{"aid": 1, "ts": 5, "type": "clicks"}', "bad OTTO session"),
    ('{"session": 2, "events": [{"aid": 1, "ts": 5, "type": "likes"}]}', "unknown OTTO event type 'likes'"),
    ('{"session": 2, "events": [{"ts": 5, "type": "clicks"}]}', "event needs aid, ts and type"),
    ('{"session": 2, "events": [{"aid": 1, "ts": "noon", "type": "clicks"}]}', "event_time must be"),
    ('{"session": 2}', "expected"),
])
def test_otto_errors(tmp_path: Path, line: str, needle: str) -> None:
    good = '{"session": 1, "events": [{"aid": 1, "ts": 5, "type": "clicks"}]}\n'
    path = write(tmp_path, "otto.jsonl", good + "\n" + line + "\n")
    with pytest.raises(DataFormatError, match=f"otto.jsonl:3: .*{needle}"):
        read_sessions(path, "otto")


def test_sessionrec_errors(tmp_path: Path) -> None:
    bad_time = write(tmp_path, "t.txt", "SessionId\tItemId\tTime\n1\t2\t3.5\n1\t3\tlater\n")
    with pytest.raises(DataFormatError, match="t.txt:3: bad Time 'later'"):
        read_sessions(bad_time)
    bad_type = write(tmp_path, "u.txt", "SessionId\tItemId\tTime\tEventType\n1\t2\t3\tteleport\n")
    with pytest.raises(DataFormatError, match="u.txt:2: unknown event type 'teleport'"):
        read_sessions(bad_type)
    no_item = write(tmp_path, "v.txt", "SessionId\tTime\tItem\n1\t2\t3\n")
    with pytest.raises(DataFormatError, match="v.txt:1: session-rec TSV header lacks column"):
        read_sessions(no_item, "sessionrec")


def test_unknown_format_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=r"notes.txt:1: unknown format .*'dear diary'.*known: sessions"):
        read_sessions(write(tmp_path, "notes.txt", "dear diary\n"))
    with pytest.raises(DataFormatError, match="empty.csv:1: unknown format"):
        read_sessions(write(tmp_path, "empty.csv", ""))
    with pytest.raises(DataFormatError, match="unknown format 'parquet'"):
        read_sessions(write(tmp_path, "x.csv", DIGI_HEADER), "parquet")
    with pytest.raises(DataFormatError, match="missing.csv: no such file"):
        read_sessions(tmp_path / "missing.csv")


def test_avro_errors_name_file_and_record(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="fake.avro: not a behavior_event Avro container"):
        read_sessions(write(tmp_path, "fake.avro", "hello"), "avro")
    schema = fastavro.parse_schema(json.loads(
        (Path(__file__).resolve().parents[2] / "avro_schemas/behavior_event.avsc").read_text()))
    good = {"event_type": "product_view", "anonymous_id": "a", "channel": "web", "event_time": 1,
            "received_time": 1, "product": {"product_id": "p", "price": 2.0}}
    bad = {**good, "product": {"product_id": "p", "price": -2.0}}
    buf = io.BytesIO()
    fastavro.writer(buf, schema, [good, good, bad])
    path = tmp_path / "events.avro"
    path.write_bytes(buf.getvalue())
    with pytest.raises(DataFormatError, match="events.avro: record 3: price must be a non-negative"):
        read_sessions(path)
    path.write_bytes(buf.getvalue()[:-12])  # cut inside the data block
    with pytest.raises(DataFormatError, match="events.avro: record"):
        read_sessions(path)


def test_cli_reports_error_with_location(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "views.csv", DIGI_HEADER + "1;NA;5;x;2016-05-09\n")
    assert data_main(["info", str(path)]) == 2
    assert f"error: {path}:2: bad timeframe 'x'" in capsys.readouterr().err
