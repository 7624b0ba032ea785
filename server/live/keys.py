"""Every key of the live caches, built here: what makes two reads share a cached value.

A challenge's `updated_at` is part of each key of its pages: reloading the challenge (new title,
metric or schedule) must not serve a page made for the old one.
"""

from __future__ import annotations

from core.models import Challenge
from scoring.ranking import Board


def challenge_row(slug: str) -> str:
    return f"challenge:{slug}"


def board_page(
    challenge: Challenge, board: Board, *, reviewer: bool, offset: int, limit: int | None, phase: str
) -> str:
    """One page of a phase's board for one audience (organisers and judges see the submission behind
    each entry)."""
    audience = "reviewer" if reviewer else "public"
    return f"{phase}:{board.value}:{audience}:{challenge.updated_at.isoformat()}:{offset}:{limit}"


def chart(challenge: Challenge, lang: str, phase: str) -> str:
    return f"chart:{phase}:{lang}:{challenge.updated_at.isoformat()}"
