"""What the published OpenAPI document says about responses, kept true in one place.

Litestar documents only the success response and a 400 of its own shape; every route here names
the errors it can answer with, all of the one shape `server.api.errors` writes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Litestar
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import SecurityScheme
from litestar.params import QueryParameter

from core.models import MAX_ROW_ID
from server.api import schemas as api_schemas

# Integer query parameters, each bounded (an id column's range): out of range is a 400 that says so,
# never a database's overflow error.
Offset = Annotated[int, QueryParameter(ge=0, le=MAX_ROW_ID, description="skip this many")]
OlderThan = Annotated[
    int | None, QueryParameter(ge=1, le=MAX_ROW_ID, description="entries older than this id")
]


class ProblemOut(msgspec.Struct):
    path: str  # where: a field path such as limits.per_day, a bundle file, or "bundle"
    message: str


class ErrorOut(msgspec.Struct, omit_defaults=True):
    detail: str  # what was wrong, where, and what was expected
    resets_at: datetime | None = None  # 429 over quota: when the quota resets
    errors: list[dict[str, Any]] | None = None  # 400 of a malformed body: each problem
    problems: list[ProblemOut] | None = None  # 422: every problem of a bundle or an edit, at once


_WHY = {
    400: "The request is malformed or names something unsupported",
    401: "No valid bearer token (missing, malformed, unknown, expired or revoked), or wrong credentials",
    403: "Signed in, but not allowed now (e.g. outside the challenge's schedule)",
    404: "No such thing that you can see",
    409: "The request clashes with the current state",
    410: "It existed, but is no longer kept (a file that could not be used)",
    411: "The upload does not say its size (Content-Length)",
    413: "The upload is larger than the challenge allows",
    422: "Well-formed but invalid content (a bundle, an edit): `problems` lists every problem found",
    429: "Too many attempts or over quota; Retry-After says when to try again",
    503: "A part the request needs is missing or busy; Retry-After may say when to try again",
}


def errors(*codes: int) -> dict[int, ResponseSpec]:
    """Error responses for a route's `responses=`."""
    return {
        code: ResponseSpec(data_container=ErrorOut, description=_WHY[code], generate_examples=False)
        for code in codes
    }


def _strict_bodies() -> list[type[msgspec.Struct]]:
    """The API's request bodies that refuse unknown fields, found in its schemas module."""
    return [
        value
        for value in vars(api_schemas).values()
        if isinstance(value, type)
        and issubclass(value, msgspec.Struct)
        and value.__struct_config__.forbid_unknown_fields
    ]


def finish_schema(app: Litestar) -> None:
    """What Litestar's generator leaves out: bodies that refuse unknown fields say so, and the bearer
    token is declared (every route accepts one; those that need it answer 401 without)."""
    openapi = app.openapi_schema
    schemas = openapi.components.schemas or {}
    for struct in _strict_bodies():
        if struct.__name__ in schemas:
            schemas[struct.__name__].additional_properties = False
    openapi.components.security_schemes = {
        "bearer": SecurityScheme(
            type="http", scheme="bearer", description="a token from POST /api/auth/token"
        )
    }
    openapi.security = [{"bearer": []}, {}]
