"""The one place that maps application errors to HTTP responses of the form {"detail": "..."}."""

from __future__ import annotations

import logging

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException

from server.errors import AppError, QuotaExceeded, Unauthenticated
from server.models import utcnow

log = logging.getLogger(__name__)


def app_error_handler(_request: Request, exc: AppError) -> Response[dict[str, str]]:
    headers: dict[str, str] = {}
    if isinstance(exc, QuotaExceeded) and exc.resets_at is not None:
        headers["Retry-After"] = str(max(1, int((exc.resets_at - utcnow()).total_seconds())))
        headers["X-Quota-Resets-At"] = exc.resets_at.isoformat()
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    body = {"detail": exc.detail}
    if isinstance(exc, QuotaExceeded) and exc.resets_at is not None:
        body["resets_at"] = exc.resets_at.isoformat()
    return Response(body, status_code=exc.status_code, headers=headers, media_type=MediaType.JSON)


def http_error_handler(_request: Request, exc: HTTPException) -> Response[dict[str, object]]:
    body: dict[str, object] = {"detail": exc.detail}
    if exc.extra:
        body["errors"] = exc.extra
    return Response(body, status_code=exc.status_code, headers=exc.headers, media_type=MediaType.JSON)


def internal_error_handler(_request: Request, exc: Exception) -> Response[dict[str, str]]:
    log.exception("unhandled error", exc_info=exc)
    return Response({"detail": "internal server error"}, status_code=500, media_type=MediaType.JSON)
