"""Create the project's topics (idempotent): compacted for profiles and consent, the others kept
by size, never by age.

Every record's Kafka timestamp is its own time (``udfs.event_time``), and Kafka's time retention
reads those timestamps: replayed history older than ``retention.ms`` would be deleted at the
broker's next retention check, before the job reads it. So the topics turn time retention off
(``retention.ms=-1``) and leave the size cap (``retention.bytes``) to the cluster.
"""
from __future__ import annotations

from collections.abc import Iterable

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

COMPACTED = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}
BY_SIZE = {"cleanup.policy": "delete", "retention.ms": "-1"}


def topic_specs(topics: dict[str, str], partitions: int) -> list[NewTopic]:
    """``topics`` maps a role (events, profiles, ...) to a topic name."""
    specs = []
    for role, name in topics.items():
        configs = COMPACTED if role in ("profiles", "consent") else BY_SIZE
        specs.append(NewTopic(name=name, num_partitions=partitions, replication_factor=1, topic_configs=configs))
    return specs


def ensure_topics(bootstrap: str, specs: Iterable[NewTopic]) -> list[str]:
    """Create each topic that does not exist yet; returns the names created."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    try:
        existing = set(admin.list_topics())
        todo = [s for s in specs if s.name not in existing]
        created = []
        for spec in todo:
            try:
                admin.create_topics([spec], timeout_ms=15000)
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        admin.close()
