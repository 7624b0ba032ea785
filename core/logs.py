"""Logging, configured once at an entry point: plain text, or JSON lines (RIALITY_LOG_FORMAT=json)
that carry the submission and challenge being worked on, for a log collector to filter by."""

from __future__ import annotations

import logging
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Each arq job runs in its own asyncio task, so what one job binds is not seen by another.
_context: ContextVar[tuple[tuple[str, object], ...]] = ContextVar("riality_log_context", default=())


def bind(**fields: object) -> None:
    """Add fields to every log record of the current task from now on (e.g. submission=42)."""
    _context.set(tuple({**dict(_context.get()), **fields}.items()))


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get():
            setattr(record, name, value)
        return True


class _NoScoreDelay(logging.Filter):
    """arq logs " delayed=Ns" when a job starts long after its queue score; the fair order
    (core.scheduling) gives scores years in the past, so that figure is meaningless here. The
    line's first figure, the wait since the job was enqueued, stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args and isinstance(args[-1], str) and " delayed=" in args[-1]:
            record.args = (*args[:-1], args[-1].split(" delayed=", 1)[0])
        return True


def configure(log_format: str = "text", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter("{asctime}{levelname}{name}{message}", style="{", rename_fields={"asctime": "time"})
        )
    elif log_format == "text":
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    else:
        raise ValueError(f"RIALITY_LOG_FORMAT: expected 'text' or 'json', got {log_format!r}")
    handler.addFilter(_ContextFilter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("arq.worker").addFilter(_NoScoreDelay())
