"""The kernel's errors reach clients as HTTP statuses through the API's one mapping."""

from __future__ import annotations

from unittest.mock import MagicMock

import msgspec

from core.errors import Missing
from server.api.errors import kernel_error_handler


def test_a_missing_record_is_a_404_with_its_words() -> None:
    response = kernel_error_handler(MagicMock(), Missing("challenge 7 has no test_labels file"))
    assert response.status_code == 404
    assert msgspec.json.decode(response.render(response.content, "application/json")) == {
        "detail": "challenge 7 has no test_labels file"
    }
