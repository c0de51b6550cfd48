"""Format registry and auto-detection: one entry point, ``read_sessions(path, fmt=None)``.

Formats (the names ``--format`` accepts):

=============  ==============================================================================
``sessions``   this project's dataset file (``store.save_dataset``, gzip JSONL with header)
``sessionrec`` session-rec TSV, header ``SessionId<TAB>ItemId<TAB>Time`` (Time in seconds)
``diginetica`` DIGINETICA item views, ``;``-separated with ``timeframe`` and ``eventdate``
``rees46``     REES46 ``event_time,event_type,product_id,...,user_session`` CSV
``otto``       OTTO JSONL, ``{"session": ..., "events": [...]}`` a line
``avro``       Avro object container file of behavior_event records
=============  ==============================================================================

Detection looks at the first bytes (Avro ``Obj\\x01`` magic, gzip magic) and the first line;
text formats may be gzip-compressed. An unknown format raises ``DataFormatError``.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from models.data.importers_events import read_avro, read_otto
from models.data.importers_text import read_diginetica, read_rees46, read_sessionrec
from models.data.sessions import DataFormatError, Session
from models.data.store import FORMAT_NAME, load_dataset
from models.data.textio import is_gzip, open_text

Reader = Callable[[str | Path], list[Session]]

FORMATS: dict[str, Reader] = {
    "sessions": load_dataset,
    "sessionrec": read_sessionrec,
    "diginetica": read_diginetica,
    "rees46": read_rees46,
    "otto": read_otto,
    "avro": read_avro,
}

AVRO_MAGIC = b"Obj\x01"


def _first_line(path: str | Path) -> str:
    try:
        with open_text(path) as f:
            return f.readline(64 * 1024).rstrip("\r\n")
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise DataFormatError(path, 1, f"cannot read as text to detect the format: {exc}") from None


def _text_format(line: str) -> str | None:
    """The text format whose first line looks like ``line``, else None."""
    if line.startswith("{"):
        if f'"{FORMAT_NAME}"' in line:
            return "sessions"
        if '"session"' in line and '"events"' in line:
            return "otto"
    fields = {f.strip() for f in line.replace(";", "\t").replace(",", "\t").split("\t")}
    if "\t" in line and {"SessionId", "ItemId", "Time"} <= fields:
        return "sessionrec"
    if ";" in line and {"timeframe", "eventdate"} <= fields:
        return "diginetica"
    if "," in line and {"event_time", "event_type", "product_id", "user_session"} <= fields:
        return "rees46"
    return None


def detect_format(path: str | Path) -> str:
    """The format name of ``path``; raises DataFormatError when no known format matches."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == AVRO_MAGIC:
        return "avro"
    line = _first_line(path)
    fmt = _text_format(line)
    if fmt is None:
        kind = "gzip text" if is_gzip(path) else "text"
        raise DataFormatError(path, 1, f"unknown format ({kind} starting {line[:100]!r}); "
                                       f"known: {', '.join(FORMATS)}; pass --format to choose")
    return fmt


def read_sessions(path: str | Path, fmt: str | None = None) -> list[Session]:
    """Sessions from ``path`` in format ``fmt`` (detected when None), sorted by start time."""
    if not Path(path).is_file():
        raise DataFormatError(path, None, "no such file")
    name = fmt or detect_format(path)
    reader = FORMATS.get(name)
    if reader is None:
        raise DataFormatError(path, None, f"unknown format {name!r}; known: {', '.join(FORMATS)}")
    return reader(path)
