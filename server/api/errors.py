"""The one place that maps application errors to HTTP responses of the form {"detail": "..."}."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import TimeoutError as PoolTimeout

from core.errors import KernelError, Missing
from server.errors import (
    AppError,
    NotFound,
    QuotaExceeded,
    ServiceUnavailable,
    Unauthenticated,
    Unprocessable,
)

log = logging.getLogger(__name__)


def app_error_handler(_request: Request, exc: AppError) -> Response[dict[str, object]]:
    headers: dict[str, str] = {}
    if exc.retry_after_s is not None:
        headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, QuotaExceeded) and exc.resets_at is not None:
        headers["X-Quota-Resets-At"] = exc.resets_at.isoformat()
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    body: dict[str, object] = {"detail": exc.detail}
    if isinstance(exc, QuotaExceeded) and exc.resets_at is not None:
        body["resets_at"] = exc.resets_at.isoformat()
    if isinstance(exc, Unprocessable):
        body["problems"] = [{"path": p.path, "message": p.message} for p in exc.problems]
    return Response(body, status_code=exc.status_code, headers=headers, media_type=MediaType.JSON)


_MSGSPEC = [
    (re.compile(r"^Expected `str` of length >= (\d+)$"), "expected at least {0} characters"),
    (re.compile(r"^Expected `str` of length <= (\d+)$"), "expected at most {0} characters"),
    (re.compile(r"^Object missing required field `(\w+)`$"), "required"),
]


def _plain(problem: dict[str, Any]) -> str:
    """One problem of a request body in the words our own checks use ("password: expected at least 8 characters")."""
    message = str(problem.get("message", ""))
    key = problem.get("key")
    for pattern, words in _MSGSPEC:
        if match := pattern.match(message):
            message = words.format(*match.groups())
            if words == "required":
                key = match.group(1)
            break
    return f"{key}: {message}" if key else message


def kernel_error_handler(request: Request, exc: KernelError) -> Response[dict[str, object]]:
    """The kernel speaks in domain words; here they become statuses."""
    if isinstance(exc, Missing):
        return app_error_handler(request, NotFound(str(exc)))
    return internal_error_handler(request, exc)


def http_error_handler(_request: Request, exc: HTTPException) -> Response[dict[str, object]]:
    body: dict[str, object] = {"detail": exc.detail}
    problems = exc.extra if isinstance(exc.extra, list) else []
    if isinstance(exc, ValidationException) and problems and all(isinstance(p, dict) for p in problems):
        body["detail"] = "; ".join(_plain(p) for p in problems)
    if exc.extra:
        body["errors"] = exc.extra
    return Response(body, status_code=exc.status_code, headers=exc.headers, media_type=MediaType.JSON)


DATABASE_BUSY_RETRY_S = 5


def database_busy_handler(request: Request, exc: PoolTimeout) -> Response[dict[str, object]]:
    """Every database connection of this process stayed busy for the pool's timeout: the client is told
    to come back (503, Retry-After), not that the server broke (500). Nothing was written."""
    log.warning("%s %s: no database connection came free (%s)", request.method, request.url.path, exc)
    busy = ServiceUnavailable(
        f"the server is busy: no database connection came free in time; try again in {DATABASE_BUSY_RETRY_S} s",
        retry_after_s=DATABASE_BUSY_RETRY_S,
    )
    return app_error_handler(request, busy)


def internal_error_handler(_request: Request, exc: Exception) -> Response[dict[str, str]]:
    log.exception("unhandled error", exc_info=exc)
    return Response({"detail": "internal server error"}, status_code=500, media_type=MediaType.JSON)
