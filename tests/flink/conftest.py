"""Flink tests: the job's ``build`` on Flink's embedded mini-cluster at parallelism 2."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from pipelines.config import JobConfig, load_job_config


@pytest.fixture(scope="session")
def job_config() -> JobConfig:
    return load_job_config(parallelism=2, checkpoint_interval_ms=0, redis_url="", mode="replay")


def raw_rows(values: Iterable[bytes]) -> list[Any]:
    """Source rows as the Kafka source produces them: Row(value, partition, offset)."""
    from pyflink.common import Row

    return [Row(value=v, partition=0, offset=i) for i, v in enumerate(values)]
