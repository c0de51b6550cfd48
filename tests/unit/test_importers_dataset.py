"""Dataset files, fingerprints, the session-rec export round trip, splits and filters."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from models.data import (
    DataFormatError,
    Session,
    export_sessionrec_pair,
    filter_sessionrec,
    fingerprint,
    load_dataset,
    make_step,
    read_header,
    read_sessions,
    save_dataset,
    temporal_split,
)
from models.data.__main__ import main as data_main


def session(sid: str, items: list[str], start: int = 0, kinds: list[str] | None = None) -> Session:
    kinds = kinds or ["product_view"] * len(items)
    steps = [make_step(item, kind, start + 1000 * n, 9.5 if n else None, "home/lamps" if n else None)
             for n, (item, kind) in enumerate(zip(items, kinds, strict=True))]
    return Session(sid, steps)


SESSIONS = [session("a", ["1", "2", "1"], 0, ["product_view", "add_to_cart", "purchase"]),
            session("b", ["2", "3"], 5000), session("c", ["sku-9"], 9000)]


def test_save_load_round_trip_and_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "d.sessions.jsonl.gz"
    digest = save_dataset(path, SESSIONS, {"source": "unit"})
    assert load_dataset(path) == SESSIONS
    assert digest == fingerprint(SESSIONS) == read_header(path)["fingerprint"]
    assert read_header(path)["n_steps"] == 6 and read_header(path)["meta"] == {"source": "unit"}
    again = tmp_path / "e.sessions.jsonl.gz"
    save_dataset(again, SESSIONS, {"source": "unit"})
    assert again.read_bytes() == path.read_bytes()  # gzip mtime 0: same data, same bytes
    assert read_sessions(path) == SESSIONS  # detected as the "sessions" format


def test_fingerprint_changes_with_content_and_order() -> None:
    changed = [session("a", ["1", "2", "4"], 0, ["product_view", "add_to_cart", "purchase"]), *SESSIONS[1:]]
    assert len({fingerprint(SESSIONS), fingerprint(changed), fingerprint(SESSIONS[::-1])}) == 3


def test_load_detects_tampering_and_names_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "d.sessions.jsonl.gz"
    save_dataset(path, SESSIONS)
    lines = gzip.decompress(path.read_bytes()).decode().splitlines(keepends=True)
    path.write_bytes(gzip.compress("".join([lines[0], lines[1].replace('"2"', '"7"'), *lines[2:]]).encode()))
    with pytest.raises(DataFormatError, match="does not match the header fingerprint"):
        load_dataset(path)
    path.write_bytes(gzip.compress("".join([lines[0], lines[1], '{"id": "x", "items": [1]}\n']).encode()))
    with pytest.raises(DataFormatError, match=r"d.sessions.jsonl.gz:3: bad session"):
        load_dataset(path)


def test_sessionrec_export_round_trip_keeps_types_prices_categories(tmp_path: Path) -> None:
    numeric = [session("10", ["1", "2", "1"], 1_500_000_000_123, ["product_view", "add_to_cart", "purchase"]),
               session("11", ["2", "3"], 1_500_000_100_000)]
    paths = export_sessionrec_pair(tmp_path / "shop", numeric[:1], numeric[1:])
    assert [p.name for p in paths] == ["shop_train_full.txt", "shop_test.txt"]
    assert read_sessions(paths[0]) == numeric[:1] and read_sessions(paths[1], "sessionrec") == numeric[1:]
    assert paths[0].read_text().splitlines()[1] == "10\t1\t1500000000.123\tproduct_view\t\t"


def test_export_numbers_non_integer_ids_and_writes_the_map(tmp_path: Path) -> None:
    paths = export_sessionrec_pair(tmp_path / "shop", SESSIONS[:2], SESSIONS[2:])
    assert paths[2].name == "shop_ids.tsv"
    rows = [line.split("\t") for line in paths[2].read_text().splitlines()[1:]]
    assert ["item", "sku-9", "4"] in rows and ["session", "c", "3"] in rows and ["item", "1", "1"] in rows
    assert read_sessions(paths[1])[0].item_ids == ["4"]


def test_temporal_split_orders_by_start_and_cuts_70_15_15() -> None:
    sessions = [session(f"s{n:02d}", ["1", "2"], start=(19 - n) * 10_000) for n in range(20)]
    train, valid, test = temporal_split(sessions)
    assert (len(train), len(valid), len(test)) == (14, 3, 3)
    assert max(s.start_time for s in train) < min(s.start_time for s in valid)
    assert max(s.start_time for s in valid) < min(s.start_time for s in test)
    assert [s.session_id for s in test] == ["s02", "s01", "s00"]
    with pytest.raises(ValueError, match="summing to 1"):
        temporal_split(sessions, (0.5, 0.2, 0.2))


def test_filter_sessionrec_drops_short_and_unseen_and_counts() -> None:
    train = [session("t1", ["1", "2", "3"]), session("t2", ["9"])]  # "9" only in a dropped session
    test = [session("x", ["1", "4", "2"]), session("y", ["9", "1"]), session("z", ["5"])]
    kept_train, kept_test, report = filter_sessionrec(train, test)
    assert [s.session_id for s in kept_train] == ["t1"]
    assert [(s.session_id, s.item_ids) for s in kept_test] == [("x", ["1", "2"])]
    assert (report.train_sessions_short, report.test_sessions_short) == (1, 1)
    assert (report.test_steps_unseen, report.test_sessions_emptied) == (2, 1)
    assert "2 test events whose item is not in training" in report.describe()


def test_cli_convert_split_writes_three_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "s.txt"
    rows = [f"{n}\t{n % 3}\t{1000 + n * 60}" for n in range(20) for _ in range(2)]
    source.write_text("SessionId\tItemId\tTime\n" + "\n".join(rows) + "\n")
    out = tmp_path / "shop.sessions.jsonl.gz"
    assert data_main(["convert", str(source), "--out", str(out), "--split"]) == 0
    parts = [load_dataset(tmp_path / f"shop.{p}.sessions.jsonl.gz") for p in ("train", "valid", "test")]
    assert [len(p) for p in parts] == [14, 3, 3]
    assert "fingerprint" in capsys.readouterr().out
