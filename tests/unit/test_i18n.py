"""Message catalogs and the choice of language."""

from __future__ import annotations

import re

import pytest

from scoring.metrics import REGISTRY
from server.web.i18n import LANGUAGES, Translator, catalog, negotiate


def test_every_language_has_every_message_with_the_same_placeholders() -> None:
    english = catalog("en")
    for lang in LANGUAGES:
        messages = catalog(lang)
        assert set(messages) == set(english), lang
        for key, text in english.items():
            assert set(re.findall(r"{(\w+)}", messages[key])) == set(re.findall(r"{(\w+)}", text)), (
                lang,
                key,
            )


@pytest.mark.parametrize(
    ("query", "cookie", "header", "expected"),
    [
        (None, None, "fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        (None, None, "de-DE,en;q=0.5", "en"),
        (None, None, "en;q=0.4,fr;q=0.8", "fr"),
        (None, "fr", "en", "fr"),
        ("en", "fr", "fr", "en"),
        ("xx", None, None, "en"),
        (None, None, "fr;q=bogus", "en"),
    ],
)
def test_negotiate(query: str | None, cookie: str | None, header: str | None, expected: str) -> None:
    assert negotiate(query, cookie, header) == expected


def test_translator_fills_placeholders() -> None:
    assert Translator("fr")("time.closes_in", left="3 h") == "ferme dans 3 h"
    assert Translator("en")("no.such.key") == "no.such.key"


def test_every_metric_is_described_in_every_language() -> None:
    for lang in LANGUAGES:
        translator = Translator(lang)
        for name in REGISTRY:
            assert translator.has(f"metric.{name}"), (lang, name)
            assert translator(f"metric.{name}") != f"metric.{name}"
