"""``python -m services.simulator.replay FILE --format FMT --speedup 60``: dataset sessions to Kafka.

Reads a public dataset with the project's importers (``--format`` sessionrec, rees46, otto,
diginetica, avro or sessions; detected when omitted), turns every step into a behavior_event
record (``services.simulator.dataset``) and produces them in event order, keyed by the anonymous
id, ``--speedup`` times faster than they happened (``--speedup 0``: as fast as possible).
``--event-time original`` keeps the dataset's times (for the job's replay mode);
``--event-time now`` moves them onto the wall clock as they are sent (for live mode). A bad row
stops the replay before anything is sent, with the file and line. Broker, topic and producer
settings come from ``SP_SIM_*`` like the simulator's.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from models.data.formats import FORMATS, read_sessions
from models.data.sessions import DataFormatError
from services.simulator.config import add_config_arguments, config_from_args, producer_conf
from services.simulator.dataset import CONSENT, dataset_events
from services.simulator.pacing import Pacer, rebased
from services.simulator.sender import ProgressLine, Sender, report_counts, stamp_of
from udfs.fast_avro import encoder

FIELDS = ("brokers", "topic", "linger_ms", "batch_bytes", "compression", "flush_timeout_s")


def load_events(path: str, fmt: str | None, currency: str, consent: str, limit: int = 0) -> list[dict[str, Any]]:
    """The file's events in event order (the first ``limit`` when positive); DataFormatError on a bad row."""
    sessions = read_sessions(path, fmt)
    source = fmt or Path(path).stem.split(".")[0]
    events = dataset_events(sessions, source, currency, consent)
    return list(itertools.islice(events, limit) if limit > 0 else events)


def replay(events: Iterable[dict[str, Any]], sender: Sender, pacer: Pacer, now_mode: bool = False,
           now0_ms: int = 0, progress: ProgressLine | None = None) -> int:
    """Send ``events`` (event order) paced by ``pacer``; ``now_mode`` rebases times onto ``now0_ms``."""
    encode, t0, n = encoder("behavior_event"), None, 0

    def tick() -> None:
        sender.serve()
        if progress is not None:
            progress.update(sender.counts())

    for n, event in enumerate(events, start=1):
        if t0 is None:
            t0 = event["event_time"]
            pacer.anchor(t0)
        pacer.wait(event["event_time"], tick)
        if now_mode:
            at = rebased(event["event_time"], t0, now0_ms, pacer.speedup)
            event = dict(event, event_time=at, received_time=at)
        sender.send(event["anonymous_id"].encode(), encode(event), stamp_of(event))
        if not n & 255:
            tick()
    return n


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m services.simulator.replay", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="dataset file (plain or gzip)")
    p.add_argument("--format", choices=sorted(FORMATS), default=None, help="input format (default: detected)")
    p.add_argument("--speedup", type=float, default=60.0, help="replay this many times faster; 0 = at once [60]")
    p.add_argument("--event-time", choices=("original", "now"), default="original",
                   help="keep the dataset's event times, or put them on the wall clock as sent [original]")
    p.add_argument("--currency", default="EUR", help="ISO 4217 code of the dataset's prices [EUR]")
    p.add_argument("--consent", choices=sorted(CONSENT), default="granted",
                   help="consent flags the events carry: granted (analytics, personalization) or none [granted]")
    p.add_argument("--limit", type=int, default=0, help="replay only the first N events (0: all)")
    p.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    add_config_arguments(p, FIELDS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        cfg = config_from_args(args, FIELDS)
        if args.speedup < 0:
            raise ValueError(f"--speedup {args.speedup}: must not be negative")
        events = load_events(args.file, args.format, args.currency, args.consent, args.limit)
    except (DataFormatError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sender, progress = Sender(producer_conf(cfg), cfg.topic), None if args.quiet else ProgressLine("replay")
    sys.stderr.write(f"replaying {len(events):,} events to {cfg.topic!r} at speed-up {args.speedup:g}\n")
    try:
        replay(events, sender, Pacer(args.speedup), args.event_time == "now", int(time.time() * 1000), progress)
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted: flushing what was sent\n")
    counts = sender.close(cfg.flush_timeout_s)
    if progress is not None:
        progress.update(counts, final=True)
    return report_counts(counts, sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
