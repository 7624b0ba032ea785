"""The API viewer at /schema: Swagger UI from the swagger-ui-py package, served by the platform.

Litestar's own viewers load their scripts and fonts from CDNs and start with an inline script;
this one uses local files only, so it works on a closed network under the pages' CSP.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin

ASSETS_URL = "/static/swagger-ui"


def swagger_ui_assets() -> Path:
    """The folder of Swagger UI's files inside the installed package (not imported: only its files)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is missing; run scripts/setup.sh")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


class LocalSwaggerUI(OpenAPIRenderPlugin):
    def __init__(self) -> None:
        super().__init__(path=["/", "/swagger"], favicon="", style="")

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        title = str(openapi_schema.get("info", {}).get("title", "API"))
        spec_url = self.get_openapi_json_route(request)
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">
</head>
<body>
<main id="swagger-ui" data-spec-url="{spec_url}"></main>
<script src="{ASSETS_URL}/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
""".encode()
