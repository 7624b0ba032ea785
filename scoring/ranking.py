"""Board rules: one entry per team, ranked by the metric's direction, ties to the earlier submission.

Public board: each team's best public score. Private board: the best private score among the
team's final selections, or, if it selected none, the private score of its best-public submission.
Failed, cancelled and NaN scores never reach this module's output.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class Board(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


@dataclass(frozen=True, slots=True)
class ScoredSubmission:
    submission_id: int
    team_id: int
    created_at: datetime
    public_score: float | None
    private_score: float | None
    metrics: dict[str, Any]  # {"public": {...}, "private": {...}}
    final: bool = False


@dataclass(frozen=True, slots=True)
class TeamActivity:
    name: str
    submissions: int
    last_submission_at: datetime | None


@dataclass(frozen=True, slots=True)
class BoardEntry:
    rank: int
    team_id: int
    team: str
    submission_id: int
    score: float
    metrics: dict[str, float]
    submissions: int
    last_submission_at: datetime | None


def _usable(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _key(score: float, sub: ScoredSubmission, higher_is_better: bool) -> tuple[float, datetime, int]:
    return (-score if higher_is_better else score, sub.created_at, sub.submission_id)


def _best(subs: list[ScoredSubmission], attr: str, higher_is_better: bool) -> ScoredSubmission | None:
    usable = [s for s in subs if _usable(getattr(s, attr))]
    if not usable:
        return None
    return min(usable, key=lambda s: _key(getattr(s, attr), s, higher_is_better))


def _pick(subs: list[ScoredSubmission], board: Board, higher_is_better: bool) -> ScoredSubmission | None:
    if board is Board.PUBLIC:
        return _best(subs, "public_score", higher_is_better)
    finals = [s for s in subs if s.final]
    if finals:
        return _best(finals, "private_score", higher_is_better)
    best_public = _best(subs, "public_score", higher_is_better)
    if best_public is None or not _usable(best_public.private_score):
        return None
    return best_public


def build_board(
    board: Board,
    submissions: Iterable[ScoredSubmission],
    teams: dict[int, TeamActivity],
    *,
    higher_is_better: bool,
) -> list[BoardEntry]:
    by_team: dict[int, list[ScoredSubmission]] = {}
    for sub in submissions:
        by_team.setdefault(sub.team_id, []).append(sub)
    attr = "public_score" if board is Board.PUBLIC else "private_score"
    picked = []
    for team_id, subs in by_team.items():
        chosen = _pick(subs, board, higher_is_better)
        if chosen is not None:
            picked.append((_key(getattr(chosen, attr), chosen, higher_is_better), team_id, chosen))
    picked.sort(key=lambda item: item[0])
    entries = []
    for rank, (_, team_id, sub) in enumerate(picked, start=1):
        team = teams.get(
            team_id, TeamActivity(name=f"team {team_id}", submissions=0, last_submission_at=None)
        )
        entries.append(
            BoardEntry(
                rank=rank,
                team_id=team_id,
                team=team.name,
                submission_id=sub.submission_id,
                score=float(getattr(sub, attr)),
                metrics=dict(sub.metrics.get(board.value, {})),
                submissions=team.submissions,
                last_submission_at=team.last_submission_at,
            )
        )
    return entries
