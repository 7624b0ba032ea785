"""The API's edit of a challenge's limits documents exactly what the manifest's check accepts: the
same fields and the same bounds (the document once let through any key, which the check refused)."""

from __future__ import annotations

from typing import Any

from challenges.spec import Limits
from core.settings import Settings
from server.app import create_app

BOUNDS = ("type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _bounds(schema: dict[str, Any]) -> list[dict[str, Any]]:
    variants = schema.get("anyOf") or schema.get("oneOf") or [schema]
    return sorted(({k: v for k, v in variant.items() if k in BOUNDS} for variant in variants), key=repr)


def test_the_limits_an_edit_takes_are_documented_as_the_manifests() -> None:
    manifest = Limits.model_json_schema()["properties"]
    document = create_app(Settings()).openapi_schema.to_schema()["components"]["schemas"]["LimitsIn"]
    assert document["additionalProperties"] is False
    edit = document["properties"]
    assert set(edit) == set(manifest)
    assert {name: _bounds(edit[name]) for name in edit} == {
        name: _bounds(manifest[name]) for name in manifest
    }
