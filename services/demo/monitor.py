"""What the demo shows: counts read from Kafka and the SMTP sink's folder while it runs.

``Monitor`` tails the events and triggers topics from their ends at start (so it counts this
demo only): events and their sessions, triggers by type and the holdout share. With
``auto_consent`` it records e-mail, push and personalization consent for each signed-in shopper
it sees (demo data only), so outbound channels have someone to reach. E-mails are the ``.eml``
files the sink stored since the start.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from udfs.avro_codec import DecodeError, registry

log = logging.getLogger("shoppulse.demo.monitor")


@dataclass(frozen=True)
class Snapshot:
    """Counts at one moment."""

    events: int = 0
    active_sessions: int = 0
    triggers: dict[str, int] = field(default_factory=dict)
    holdout: int = 0
    consents: int = 0
    emails: int = 0


def count_mail(folder: Path, since_ns: int) -> int:
    """Messages the SMTP sink stored in ``folder`` since ``since_ns`` (names start with ns)."""
    found = 0
    for path in folder.glob("*.eml"):
        stamp = path.name.split("-", 1)[0]
        found += stamp.isdigit() and int(stamp) >= since_ns
    return found


def consent_record(user: str, now_ms: int) -> dict[str, Any]:
    """Demo opt-in of a signed-in shopper: e-mail, push, personalization and analytics."""
    return {"user_id": user, "email": True, "push": True, "personalization": True, "analytics": True,
            "source": "demo", "updated_at": now_ms}


class Monitor:
    """A thread reading the demo's topics; ``snapshot()`` is safe from any thread."""

    def __init__(self, bootstrap: str, topics: dict[str, str], mail_dir: Path, active_window_s: float,
                 auto_consent: bool) -> None:
        self.bootstrap, self.topics, self.mail_dir = bootstrap, topics, mail_dir
        self.active_window_s, self.auto_consent = active_window_s, auto_consent
        self.since_ns = time.time_ns()
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._events, self._holdout, self._triggers = 0, 0, Counter[str]()
        self._sessions: dict[str, float] = {}
        self._users: set[str] = set()
        self._consumer = self._tail(topics["events"], topics["triggers"])
        self._producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5) if auto_consent else None
        self._thread = threading.Thread(target=self._run, name="demo-monitor", daemon=True)

    def _tail(self, *topics: str) -> KafkaConsumer:
        """A consumer positioned at the current end of ``topics`` (they must exist)."""
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                 isolation_level="read_committed")
        parts = []
        for topic in topics:
            found = consumer.partitions_for_topic(topic)
            if not found:
                consumer.close()
                raise RuntimeError(f"topic {topic!r} does not exist: run python -m services.stack up")
            parts += [TopicPartition(topic, p) for p in sorted(found)]
        consumer.assign(parts)
        consumer.seek_to_end(*parts)
        for part in parts:
            consumer.position(part)  # resolve the end now, before anything is produced
        return consumer

    def start(self) -> Monitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop reading; closes the Kafka clients."""
        self._stop.set()
        self._thread.join(10)
        if self._producer is not None:
            self._producer.flush(10)
            self._producer.close(5)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for part, batch in self._consumer.poll(timeout_ms=500).items():
                    for record in batch:
                        self._take(part.topic, record.value)
        except Exception:  # the summary must not take the demo down; say why it stopped counting
            log.exception("monitor stopped")
        finally:
            self._consumer.close()

    def _take(self, topic: str, value: bytes) -> None:
        kind = "behavior_event" if topic == self.topics["events"] else "trigger"
        try:
            record = registry().decode(value, kind)
        except DecodeError:
            return
        if kind == "trigger":
            with self._lock:
                self._triggers[str(record["trigger_type"])] += 1
                self._holdout += bool(record["holdout"])
            return
        with self._lock:
            self._events += 1
            self._sessions[str(record.get("session_id") or record["anonymous_id"])] = time.monotonic()
        user = record.get("user_id")
        if user and self.auto_consent and user not in self._users:
            self._consent(str(user))

    def _consent(self, user: str) -> None:
        assert self._producer is not None
        now = int(time.time() * 1000)
        value = registry().encode("consent_record", consent_record(user, now))
        self._producer.send(self.topics["consent"], key=user.encode(), value=value, timestamp_ms=now)
        self._users.add(user)

    def snapshot(self) -> Snapshot:
        """The counts now; sessions idle longer than ``active_window_s`` are forgotten."""
        cutoff = time.monotonic() - self.active_window_s
        with self._lock:
            self._sessions = {s: t for s, t in self._sessions.items() if t >= cutoff}
            return Snapshot(self._events, len(self._sessions), dict(self._triggers), self._holdout,
                            len(self._users), count_mail(self.mail_dir, self.since_ns))
