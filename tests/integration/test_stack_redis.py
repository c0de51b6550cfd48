"""The stack's Redis (Debian's redis-server): a port another server holds is an error, never a
server the project then uses as its own (with that server's keys in it)."""
from __future__ import annotations

from pathlib import Path

import pytest
import redis

from services.stack import config, redis_server
from services.stack.proc import StackError
from tests.servers import free_port

pytestmark = pytest.mark.integration


def test_a_port_held_by_another_redis_fails_the_start_and_our_own_is_reused(tmp_path: Path) -> None:
    port = free_port()
    ours = config.load(state_dir=str(tmp_path / "ours"), redis_port=port)
    other = config.load(state_dir=str(tmp_path / "other"), redis_port=port)
    assert "(pid " in redis_server.start(ours)
    try:
        redis.Redis.from_url(ours.redis_url).set("sp:test:owner", "ours", ex=60)
        assert redis_server.start(ours) == f"Redis already running on {ours.redis_url}"
        with pytest.raises(StackError, match=f"port {port} is taken by another process; set SP_STACK_REDIS_PORT"):
            redis_server.start(other)
        assert redis.Redis.from_url(ours.redis_url).get("sp:test:owner") == b"ours"
    finally:
        assert redis_server.shutdown(ours)
