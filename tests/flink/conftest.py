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
    """Event rows as the Kafka sources produce them: Row(kind, value, partition, offset)."""
    from pyflink.common import Row

    return [Row(kind="event", value=v, partition=0, offset=i) for i, v in enumerate(values)]


def control_rows(kind: str, records: Iterable[dict]) -> list[Any]:
    """Control rows (profile / consent / erase) as the Kafka sources produce them."""
    from pyflink.common import Row

    from udfs.avro_codec import registry
    from udfs.controls import SCHEMAS

    return [Row(kind=kind, value=registry().encode(SCHEMAS[kind], r), partition=0, offset=i)
            for i, r in enumerate(records)]
