"""Headers every response carries: the pages', the API viewer's and the JSON API's alike.

Defence in depth behind autoescaping: team names, notes and logs are shown on the pages, and every
script and style is a file served here, so nothing inline ever needs to run.
"""

from __future__ import annotations

from litestar.datastructures import ResponseHeader

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def security_response_headers() -> list[ResponseHeader]:
    return [ResponseHeader(name=name, value=value) for name, value in SECURITY_HEADERS.items()]
