"""Message catalogs (English, French) and the choice of language: ?lang=, then the cookie, then Accept-Language."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LOCALES = Path(__file__).parent / "locales"
LANGUAGES = ("en", "fr")
DEFAULT = "en"


@cache
def catalog(lang: str) -> dict[str, str]:
    return json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))


class Translator:
    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT
        self.messages = catalog(self.lang)

    def group(self, prefix: str) -> dict[str, str]:
        """Every message under a prefix, for a page's script (which fills the {placeholders} itself)."""
        return {key: self(key) for key in catalog(DEFAULT) if key.startswith(prefix)}

    def has(self, key: str) -> bool:
        return key in catalog(DEFAULT)

    def __call__(self, key: str, **values: object) -> str:
        template = self.messages.get(key) or catalog(DEFAULT).get(key) or key
        return template.format(**values) if values else template


def negotiate(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    for choice in (query, cookie):
        if choice in LANGUAGES:
            return choice  # type: ignore[return-value]
    ranked = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((quality, tag.split("-")[0].lower()))
    for quality, lang in sorted(ranked, key=lambda item: -item[0]):
        if quality > 0 and lang in LANGUAGES:  # q=0 means "not this one"
            return lang
    return DEFAULT
