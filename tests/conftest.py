"""Fixtures shared by every tier: the real Kafka and Redis servers (``tests/servers.py``), started
lazily, once per test session, only when a test asks for them (unit tests never do), so the
integration and browser tiers share one broker and one Redis.

Tests are hermetic about models: the model registry the job looks in is an empty folder of the
session, so a model promoted on this machine (``make demo`` trains one) never changes what a
test's job does; tests that score bring their own registry or scorer. Likewise for checkpoints. Both folders are
removed when the session ends.
"""
import os
import shutil
import tempfile

from tests.servers import kafka, redis_client, redis_url, stack_config  # noqa: F401  (fixtures)

os.environ["SP_SCORER_REGISTRY"] = tempfile.mkdtemp(prefix="sp-test-no-model-")
# checkpoints go to a folder of the session, and a test's job resumes one only when it asks
# (tests/integration/test_resume_kafka.py): a local job's checkpoints never restore into a test
os.environ["SP_JOB_RESUME"] = "false"
os.environ["SP_JOB_CHECKPOINT_DIR"] = tempfile.mkdtemp(prefix="sp-test-checkpoints-")
SESSION_DIRS = (os.environ["SP_SCORER_REGISTRY"], os.environ["SP_JOB_CHECKPOINT_DIR"])


def pytest_sessionfinish(session: object, exitstatus: int) -> None:
    """The session's registry and checkpoint folders go with it."""
    for path in SESSION_DIRS:
        shutil.rmtree(path, ignore_errors=True)
