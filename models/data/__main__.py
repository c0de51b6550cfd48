"""Command line for the data side: convert to dataset files, export session-rec TSV, describe.

    python -m models.data convert IN [--format F] --out OUT.sessions.jsonl.gz [--split]
    python -m models.data export-sessionrec IN [--format F] [--test TEST] --prefix P
    python -m models.data info IN [--format F]

``convert --split`` writes ``OUT`` three times with ``.train``/``.valid``/``.test`` before the
suffix (temporal 70/15/15). ``export-sessionrec`` splits a single input temporally (train =
first 85%, test = last 15%) unless ``--test`` gives the test file. Errors print ``path:line:
message`` and exit with status 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from models.data.exporters import export_sessionrec_pair
from models.data.formats import FORMATS, read_sessions
from models.data.sessions import DataFormatError, Session
from models.data.split import temporal_split
from models.data.store import save_dataset


def _with_part(out: Path, part: str) -> Path:
    name = out.name
    stem = name.split(".")[0]
    return out.with_name(f"{stem}.{part}{name[len(stem):]}")


def _convert(args: argparse.Namespace) -> None:
    sessions = read_sessions(args.input, args.format)
    meta = {"source": Path(args.input).name, "format": args.format or "auto"}
    if not args.split:
        digest = save_dataset(args.out, sessions, meta)
        print(f"{args.out}: {len(sessions)} sessions, fingerprint {digest}")
        return
    for part, chunk in zip(("train", "valid", "test"), temporal_split(sessions), strict=True):
        path = _with_part(Path(args.out), part)
        digest = save_dataset(path, chunk, {**meta, "split": f"temporal-70/15/15:{part}"})
        print(f"{path}: {len(chunk)} sessions, fingerprint {digest}")


def _export(args: argparse.Namespace) -> None:
    sessions = read_sessions(args.input, args.format)
    if args.test:
        train, test = sessions, read_sessions(args.test, args.format)
    else:
        head, valid, test = temporal_split(sessions)
        train = head + valid
    for path in export_sessionrec_pair(args.prefix, train, test):
        print(path)


def _info(args: argparse.Namespace) -> None:
    sessions: list[Session] = read_sessions(args.input, args.format)
    steps = sum(len(s) for s in sessions)
    items = {i for s in sessions for i in s.item_ids}
    types: dict[str, int] = {}
    for s in sessions:
        for st in s.steps:
            types[st["event_type"]] = types.get(st["event_type"], 0) + 1
    print(f"{args.input}: {len(sessions)} sessions, {steps} steps, {len(items)} items")
    print("event types: " + ", ".join(f"{k}={v}" for k, v in sorted(types.items())))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m models.data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in (("convert", _convert), ("export-sessionrec", _export), ("info", _info)):
        cmd = sub.add_parser(name)
        cmd.add_argument("input")
        cmd.add_argument("--format", choices=sorted(FORMATS))
        cmd.set_defaults(func=func)
        if name == "convert":
            cmd.add_argument("--out", required=True)
            cmd.add_argument("--split", action="store_true", help="write temporal train/valid/test files")
        if name == "export-sessionrec":
            cmd.add_argument("--test", help="test file (else the last 15%% of INPUT by time)")
            cmd.add_argument("--prefix", required=True, help="output path prefix")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except DataFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
