"""Export sessions as a session-rec TSV pair, so the numbers can be reproduced with other tools.

``export_sessionrec_pair(prefix, train, test)`` writes ``<prefix>_train_full.txt`` and
``<prefix>_test.txt``, the file names session-rec's loaders expect. Columns, tab-separated:
``SessionId  ItemId  Time  EventType  Price  Category`` (Time in seconds with millisecond
decimals; empty Price/Category when unknown). Tools that read only the first three columns
ignore the rest; ``read_sessionrec`` reads them all back. Steps without an item are skipped.

session-rec parses ItemId (and often SessionId) as integers. Ids that are all canonical
integers are written as they are; otherwise every id of that kind is numbered 1, 2, ... in
order of first appearance and ``<prefix>_ids.tsv`` (``kind  original  number``) maps them back.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from models.data.sessions import Session

COLUMNS = ("SessionId", "ItemId", "Time", "EventType", "Price", "Category")


def _is_int(text: str) -> bool:
    return text.isdigit() and str(int(text)) == text


def id_map(ids: Iterable[str]) -> dict[str, str] | None:
    """None when every id is a canonical integer; else a map id -> "1", "2", ... by first use."""
    mapping: dict[str, str] = {}
    for i in ids:
        mapping.setdefault(i, str(len(mapping) + 1))
    return None if all(_is_int(i) for i in mapping) else mapping


def _clean(text: str | None) -> str:
    return "" if text is None else text.replace("\t", " ").replace("\n", " ").replace("\r", " ")


def write_sessionrec(path: str | Path, sessions: list[Session], session_ids: dict[str, str] | None = None,
                     item_ids: dict[str, str] | None = None) -> int:
    """Write ``sessions`` as session-rec TSV with optional id maps; returns the number of rows."""
    rows = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("\t".join(COLUMNS) + "\n")
        for s in sessions:
            sid = session_ids[s.session_id] if session_ids else _clean(s.session_id)
            for st in s.steps:
                item = st["item_id"]
                if item is None:
                    continue
                price = "" if st["price"] is None else repr(st["price"])
                iid = item_ids[item] if item_ids else _clean(item)
                out.write(f"{sid}\t{iid}\t{st['event_time'] / 1000:.3f}\t{st['event_type']}"
                          f"\t{price}\t{_clean(st['category'])}\n")
                rows += 1
    return rows


def _write_id_maps(path: Path, maps: dict[str, dict[str, str] | None]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("kind\toriginal\tnumber\n")
        for kind, mapping in maps.items():
            for original, number in (mapping or {}).items():
                out.write(f"{kind}\t{_clean(original)}\t{number}\n")


def export_sessionrec_pair(prefix: str | Path, train: list[Session], test: list[Session]) -> list[Path]:
    """Write ``<prefix>_train_full.txt``, ``<prefix>_test.txt`` (and ``_ids.tsv`` if needed)."""
    both = train + test
    sessions = id_map(s.session_id for s in both)
    items = id_map(item for s in both for item in s.item_ids)
    paths = [Path(f"{prefix}_train_full.txt"), Path(f"{prefix}_test.txt")]
    write_sessionrec(paths[0], train, sessions, items)
    write_sessionrec(paths[1], test, sessions, items)
    if sessions is not None or items is not None:
        paths.append(Path(f"{prefix}_ids.tsv"))
        _write_id_maps(paths[-1], {"session": sessions, "item": items})
    return paths
