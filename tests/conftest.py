"""Fixtures shared by every tier: the real Kafka and Redis servers (``tests/servers.py``), started
lazily, once per test session, only when a test asks for them (unit tests never do), so the
integration and browser tiers share one broker and one Redis.

Tests are hermetic about models: the model registry the job looks in is an empty folder of the
session, so a model promoted on this machine (``make demo`` trains one) never changes what a
test's job does; tests that score bring their own registry or scorer.
"""
import os
import tempfile

from tests.servers import kafka, redis_client, redis_url, stack_config  # noqa: F401  (fixtures)

os.environ["SP_SCORER_REGISTRY"] = tempfile.mkdtemp(prefix="sp-test-no-model-")
