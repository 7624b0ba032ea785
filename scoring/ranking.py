"""Board rules: one entry per team, ranked by the metric's direction, ties to the earlier submission.

Public board: each team's best public score. Private board: the best private score among the
team's final selections, or, if it selected none, the private score of its best-public submission.
Failed, cancelled and NaN scores never reach this module's output.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from scoring.groups import worst_and_disparity


class Board(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


@dataclass(frozen=True, slots=True)
class Efficiency:
    """What a model or code submission's run used (None for a prediction file, which runs nothing)."""

    wall_s: float | None = None
    cpu_s: float | None = None
    peak_memory_mb: float | None = None


NO_RUN = Efficiency()


@dataclass(frozen=True, slots=True)
class BoardRules:
    """Efficiency a challenge's board allows: a model or code run over a limit is scored but not ranked.

    A prediction file ran nothing here, and a measure the sandbox could not take (None) is not held
    against the team: the rule ranks what it can see.
    """

    max_cpu_s: float | None = None
    max_mib: float | None = None
    # The public board shows each team's released submission (the Ladder), not its best public one.
    ladder: bool = False

    def broken(self, used: Efficiency) -> list[str]:
        """What `used` is over, in words (empty: within the rules)."""
        problems = []
        if self.max_cpu_s is not None and used.cpu_s is not None and used.cpu_s > self.max_cpu_s:
            problems.append(f"{used.cpu_s:.3g} CPU seconds, over the board's limit of {self.max_cpu_s:g}")
        if (
            self.max_mib is not None
            and used.peak_memory_mb is not None
            and used.peak_memory_mb > self.max_mib
        ):
            problems.append(
                f"{used.peak_memory_mb:.4g} MiB at peak, over the board's limit of {self.max_mib:g} MiB"
            )
        return problems

    def allow(self, used: Efficiency) -> bool:
        return not self.broken(used)


NO_RULES = BoardRules()


@dataclass(frozen=True, slots=True)
class ScoredSubmission:
    submission_id: int
    team_id: int
    created_at: datetime
    public_score: float | None
    private_score: float | None
    metrics: dict[str, Any]  # {"public": {...}, "private": {...}}
    final: bool = False
    efficiency: Efficiency = NO_RUN
    released: bool = False  # the Ladder released its public score (scoring.ladder)


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
    efficiency: Efficiency = NO_RUN  # of the submission behind the entry
    # With groups: the worst reported group's score and best − worst (None: no groups, or undefined).
    worst_group: float | None = None
    disparity: float | None = None


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _usable(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _key(score: float, sub: ScoredSubmission, higher_is_better: bool) -> tuple[float, datetime, int]:
    return (-score if higher_is_better else score, sub.created_at, sub.submission_id)


def _best(subs: list[ScoredSubmission], attr: str, higher_is_better: bool) -> ScoredSubmission | None:
    usable = [s for s in subs if _usable(getattr(s, attr))]
    if not usable:
        return None
    return min(usable, key=lambda s: _key(getattr(s, attr), s, higher_is_better))


def _pick(
    subs: list[ScoredSubmission], board: Board, higher_is_better: bool, rules: BoardRules = NO_RULES
) -> ScoredSubmission | None:
    if rules != NO_RULES:
        subs = [s for s in subs if rules.allow(s.efficiency)]
    if board is Board.PUBLIC:
        # Under the Ladder each release beat the one before it: the best released is the latest.
        shown = [s for s in subs if s.released] if rules.ladder else subs
        return _best(shown, "public_score", higher_is_better)
    finals = [s for s in subs if s.final]
    if finals:
        return _best(finals, "private_score", higher_is_better)
    best_public = _best(subs, "public_score", higher_is_better)
    if best_public is None or not _usable(best_public.private_score):
        return None
    return best_public


class Ranking:
    """One board kept in rank order as teams' candidates change.

    Setting one team's candidates costs a binary search and a list shift, not a rebuild of every
    team's entry: what lets a board of 10k teams follow each new score at once.
    """

    def __init__(self, board: Board, *, higher_is_better: bool, rules: BoardRules = NO_RULES) -> None:
        self.board = board
        self.higher_is_better = higher_is_better
        self.rules = rules
        self._attr = "public_score" if board is Board.PUBLIC else "private_score"
        self._order: list[tuple[tuple[float, datetime, int], int]] = []  # (key, team), best first
        self._chosen: dict[int, tuple[tuple[float, datetime, int], ScoredSubmission]] = {}

    def __len__(self) -> int:
        return len(self._order)

    @classmethod
    def of(
        cls,
        board: Board,
        candidates: dict[int, list[ScoredSubmission]],
        *,
        higher_is_better: bool,
        rules: BoardRules = NO_RULES,
    ) -> Ranking:
        """Every team ranked at once (one sort, rather than one insertion per team)."""
        ranking = cls(board, higher_is_better=higher_is_better, rules=rules)
        for team_id, subs in candidates.items():
            ranking._choose(team_id, subs)
        ranking._order = sorted((key, team_id) for team_id, (key, _) in ranking._chosen.items())
        return ranking

    def set_team(self, team_id: int, candidates: list[ScoredSubmission]) -> None:
        """The team's candidate submissions now are `candidates` (none: it leaves the board)."""
        old = self._chosen.pop(team_id, None)
        if old is not None:
            del self._order[bisect_left(self._order, (old[0], team_id))]
        key = self._choose(team_id, candidates)
        if key is not None:
            insort(self._order, (key, team_id))

    def _choose(self, team_id: int, candidates: list[ScoredSubmission]) -> tuple[float, datetime, int] | None:
        chosen = _pick(candidates, self.board, self.higher_is_better, self.rules)
        if chosen is None:
            return None
        key = _key(getattr(chosen, self._attr), chosen, self.higher_is_better)
        self._chosen[team_id] = (key, chosen)
        return key

    def entries(
        self, teams: dict[int, TeamActivity], start: int = 0, stop: int | None = None
    ) -> list[BoardEntry]:
        """The entries ranked start+1 .. stop (all by default)."""
        entries = []
        for rank, (_, team_id) in enumerate(self._order[start:stop], start=start + 1):
            sub = self._chosen[team_id][1]
            by_group = sub.metrics.get("groups", {}).get(self.board.value)
            worst, disparity = (
                worst_and_disparity(by_group, self.higher_is_better) if by_group else (None, None)
            )
            team = teams.get(team_id) or TeamActivity(
                name=f"team {team_id}", submissions=0, last_submission_at=None
            )
            entries.append(
                BoardEntry(
                    rank=rank,
                    team_id=team_id,
                    team=team.name,
                    submission_id=sub.submission_id,
                    score=float(getattr(sub, self._attr)),
                    metrics=dict(sub.metrics.get(self.board.value, {})),
                    submissions=team.submissions,
                    last_submission_at=team.last_submission_at,
                    efficiency=sub.efficiency,
                    worst_group=_finite(worst),
                    disparity=_finite(disparity),
                )
            )
        return entries


def by_team(submissions: Iterable[ScoredSubmission]) -> dict[int, list[ScoredSubmission]]:
    grouped: dict[int, list[ScoredSubmission]] = {}
    for sub in submissions:
        grouped.setdefault(sub.team_id, []).append(sub)
    return grouped


def build_board(
    board: Board,
    submissions: Iterable[ScoredSubmission],
    teams: dict[int, TeamActivity],
    *,
    higher_is_better: bool,
) -> list[BoardEntry]:
    return Ranking.of(board, by_team(submissions), higher_is_better=higher_is_better).entries(teams)


@dataclass(frozen=True, slots=True)
class Reference:
    """A baseline of the challenge on a board: its score, shown among the entries, never ranked."""

    name: str
    score: float
    metrics: dict[str, float]


def interleave(
    entries: list[BoardEntry], references: list[Reference], *, higher_is_better: bool, complete: bool
) -> list[BoardEntry | Reference]:
    """A page of entries with the references placed by score (a reference after the entries that
    score the same). A reference below the page's last entry is shown only when the page is the
    whole board (`complete`): otherwise it belongs to a later page."""
    rows: list[BoardEntry | Reference] = []
    pending = sorted(references, key=lambda r: -r.score if higher_is_better else r.score)
    for entry in entries:
        while pending and (
            pending[0].score > entry.score if higher_is_better else pending[0].score < entry.score
        ):
            rows.append(pending.pop(0))
        rows.append(entry)
    if complete or not entries:
        rows.extend(pending)
    return rows
