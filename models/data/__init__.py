"""Training data for the session model: one format, importers, splits and dataset files.

The API the training and evaluation code builds on::

    from models.data import read_sessions, temporal_split, save_dataset, load_dataset

    sessions = read_sessions("events.csv")            # format detected; or fmt="rees46", ...
    train, valid, test = temporal_split(sessions)     # 70/15/15 by session start time
    digest = save_dataset("train.sessions.jsonl.gz", train, meta={"source": "events.csv"})
    train = load_dataset("train.sessions.jsonl.gz")   # verifies the fingerprint

A ``Session`` has ``session_id`` and ``steps``; a step is a dict with ``item_id``, ``event_type``,
``event_time`` (ms), ``price`` and ``category``: the step format of ``udfs/scoring.py``, so the
model reads offline exactly what the stream feeds it. ``python -m models.data --help`` converts
files and exports session-rec TSV pairs from the command line.
"""
from models.data.exporters import export_sessionrec_pair, write_sessionrec
from models.data.formats import FORMATS, detect_format, read_sessions
from models.data.sessions import EVENT_TYPES, DataFormatError, Session, Step, make_step
from models.data.split import FilterReport, filter_sessionrec, min_items, temporal_split
from models.data.store import fingerprint, load_dataset, read_header, save_dataset

__all__ = [
    "EVENT_TYPES", "FORMATS", "DataFormatError", "FilterReport", "Session", "Step",
    "detect_format", "export_sessionrec_pair", "filter_sessionrec", "fingerprint", "load_dataset",
    "make_step", "min_items", "read_header", "read_sessions", "save_dataset", "temporal_split",
    "write_sessionrec",
]
