"""Log configuration: JSON lines with the bound fields of the current task, and arq's start lines
without the meaningless delay that fair scores would give them."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from core.logs import bind, configure


@pytest.fixture(autouse=True)
def restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    arq = logging.getLogger("arq.worker")
    filters = arq.filters[:]
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    arq.filters[:] = filters


def test_json_lines_carry_what_each_task_bound(capsys: pytest.CaptureFixture[str]) -> None:
    configure("json")

    async def job(n: int) -> None:
        bind(submission=n, challenge="gaze-lab")
        await asyncio.sleep(0)
        logging.getLogger("runner.jobs").info("scored %s", n)

    async def both() -> None:
        await asyncio.gather(job(1), job(2))
        logging.getLogger("runner.jobs").info("outside")

    asyncio.run(both())
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["message"], line.get("submission")) for line in lines] == [
        ("scored 1", 1),
        ("scored 2", 2),
        ("outside", None),
    ]
    assert lines[0]["challenge"] == "gaze-lab" and lines[0]["levelname"] == "INFO" and "time" in lines[0]


def test_arq_start_lines_drop_the_score_delay(capsys: pytest.CaptureFixture[str]) -> None:
    configure("text")
    logging.getLogger("arq.worker").info(
        "%6.2fs → %s(%s)%s", 0.5, "evaluate:1:0:evaluate", "1", " try=2 delayed=777.00s"
    )
    err = capsys.readouterr().err
    assert "0.50s → evaluate:1:0:evaluate(1) try=2" in err and "delayed" not in err


def test_an_unknown_log_format_is_named() -> None:
    with pytest.raises(ValueError, match="RIALITY_LOG_FORMAT: expected 'text' or 'json', got 'xml'"):
        configure("xml")
