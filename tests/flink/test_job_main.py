"""``python -m pipelines.job``: an unbounded run resumes unless told ``--fresh``; bounded runs never."""
from __future__ import annotations

from typing import Any

import pytest

from pipelines import job
from pipelines.config import JobConfig


@pytest.mark.parametrize(("argv", "bounded", "resume"), [
    ([], False, True), (["--fresh"], False, False), (["--bounded"], True, True),
    (["--bounded", "--fresh"], True, False)])
def test_the_command_line_sets_bounded_and_resume(monkeypatch: pytest.MonkeyPatch, argv: list[str], bounded: bool,
                                                  resume: bool) -> None:
    monkeypatch.delenv("SP_JOB_RESUME", raising=False)  # the test session turns resuming off
    seen: list[JobConfig] = []

    def fake_run(cfg: JobConfig, *_: Any, **__: Any) -> None:
        seen.append(cfg)

    monkeypatch.setattr(job, "run", fake_run)
    assert job.main(argv) == 0
    assert (seen[0].bounded, seen[0].resume) == (bounded, resume)
