"""Fixtures shared by every tier: the real Kafka and Redis servers (``tests/servers.py``), started
lazily, once per test session, only when a test asks for them (unit tests never do), so the
integration and browser tiers share one broker and one Redis."""
from tests.servers import kafka, redis_client, redis_url, stack_config  # noqa: F401  (fixtures)
