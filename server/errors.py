"""The application's error tree; `server.api.errors` maps it to HTTP in one place.

AppError
 ├── BadRequest          400  the request is malformed or names an unsupported thing
 ├── Unauthenticated     401  no valid bearer token
 ├── Forbidden           403  authenticated, but not allowed
 │    └── OutsideSchedule     the challenge is not open (says when it opens / closed)
 ├── NotFound            404
 ├── Conflict            409  the request clashes with the current state (name taken, already in a team)
 ├── LengthRequired      411  an upload that does not say its size
 ├── PayloadTooLarge     413
 ├── Unprocessable       422  well-formed, but its content is invalid; carries every problem found
 ├── QuotaExceeded       429  carries the time the quota resets
 ├── RateLimited         429  too many attempts (sign-ins, registrations); carries when to retry
 └── ServiceUnavailable  503  a part we need is missing or busy; may carry when to retry
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class AppError(Exception):
    status_code = 500

    def __init__(self, detail: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after_s = retry_after_s  # sent as Retry-After when set


class BadRequest(AppError):
    status_code = 400


class Unauthenticated(AppError):
    status_code = 401


class Forbidden(AppError):
    status_code = 403


class OutsideSchedule(Forbidden):
    pass


class NotFound(AppError):
    status_code = 404


class Conflict(AppError):
    status_code = 409


class Gone(AppError):
    status_code = 410


class LengthRequired(AppError):
    status_code = 411


class PayloadTooLarge(AppError):
    status_code = 413


@dataclass(frozen=True, slots=True)
class ProblemAt:
    path: str  # where: a field path (`limits.per_day`), a file of a bundle, or `bundle`
    message: str


class Unprocessable(AppError):
    status_code = 422

    def __init__(self, detail: str, problems: list[ProblemAt]) -> None:
        super().__init__(detail)
        self.problems = problems


class QuotaExceeded(AppError):
    status_code = 429

    def __init__(self, detail: str, resets_at: datetime | None) -> None:
        super().__init__(detail)
        self.resets_at = resets_at
        if resets_at is not None:
            self.retry_after_s = max(1, int((resets_at - datetime.now(resets_at.tzinfo)).total_seconds()))


class RateLimited(AppError):
    status_code = 429


class ServiceUnavailable(AppError):
    status_code = 503
