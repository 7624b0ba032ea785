"""Boards: the public and private leaderboards of a challenge, built by scoring.ranking."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.spec import ONE_PHASE
from core.boards import read_board
from core.chain import GENESIS
from core.challenges import spec_of
from core.models import (
    Baseline,
    Challenge,
    EntryUncertainty,
    Status,
    Submission,
    Team,
    utcnow,
)
from scoring.ranking import (
    NO_RULES,
    Board,
    BoardEntry,
    BoardRules,
    Ranking,
    Reference,
    ScoredSubmission,
    TeamActivity,
    interleave,
)
from server.errors import NotFound
from server.services.chain import chain_head
from server.services.staff import Access
from server.services.submissions import private_visible


@dataclass(frozen=True, slots=True)
class Leaderboard:
    """A ranked board. Entries are made for the page asked for only: a board may hold 10k teams."""

    board: Board
    metric: str
    higher_is_better: bool
    ranking: Ranking
    teams: dict[int, TeamActivity]
    record: tuple[int, str] = (0, GENESIS)  # the submission record's length and head (core.chain)
    # The last uncertainty pass's figures by submission (runner.uncertainty); an entry newer than it has none.
    uncertainty: dict[int, EntryUncertainty] = field(default_factory=dict)
    references: list[Reference] = field(default_factory=list)  # the challenge's baselines on this board
    precision: int = 4  # digits shown of a score
    phase: str = ONE_PHASE

    def rows(self, offset: int = 0, limit: int | None = None) -> list[BoardEntry | Reference]:
        """A page with the baselines placed among its entries (scoring.ranking.interleave)."""
        entries = self.page(offset, limit)
        complete = offset == 0 and (limit is None or limit >= len(self))
        return interleave(entries, self.references, higher_is_better=self.higher_is_better, complete=complete)

    @property
    def uncertainty_at(self) -> datetime | None:
        return max((u.computed_at for u in self.uncertainty.values()), default=None)

    def __len__(self) -> int:
        return len(self.ranking)

    def page(self, offset: int = 0, limit: int | None = None) -> list[BoardEntry]:
        return self.ranking.entries(self.teams, offset, None if limit is None else offset + limit)


def ensure_visible(challenge: Challenge, board: Board, access: Access) -> None:
    """The private board is its staff's until they reveal it; to anyone else it does not exist yet."""
    if board is Board.PRIVATE and not private_visible(access, challenge, utcnow()):
        reveal = spec_of(challenge).schedule.reveal
        when = f"at {reveal.isoformat()}" if reveal else "when its organisers reveal it"
        raise NotFound(
            f"no private board of {challenge.slug!r} that you can see: it is for the challenge's "
            f"organisers and judges until it is revealed ({when})"
        )


@dataclass(slots=True)
class BoardData:
    """What a challenge's boards are built from: per team, its candidate submissions and its activity.

    Each team's best public submission (kept in TeamBest) and its final selections are all the rules
    need; scoring.ranking applies them. Kept per API process and refreshed one team at a time.
    """

    candidates: dict[int, list[ScoredSubmission]]
    teams: dict[int, TeamActivity]
    rankings: dict[tuple[Board, bool, BoardRules], Ranking] = field(default_factory=dict)
    record: tuple[int, str] = (0, GENESIS)  # the submission record's length and head when last read
    uncertainty: dict[tuple[str, int], EntryUncertainty] = field(default_factory=dict)  # (board, submission)
    baselines: list[Baseline] = field(default_factory=list)

    def ranking(self, board: Board, *, higher_is_better: bool, rules: BoardRules = NO_RULES) -> Ranking:
        key = (board, higher_is_better, rules)
        if key not in self.rankings:
            self.rankings[key] = Ranking.of(
                board, self.candidates, higher_is_better=higher_is_better, rules=rules
            )
        return self.rankings[key]


def board_phase(challenge: Challenge, requested: str | None) -> str:
    """The phase whose boards are asked for: the current one unless named."""
    spec = spec_of(challenge)
    if requested is None:
        return spec.phase_at(utcnow())
    if requested not in spec.phase_keys:
        raise NotFound(
            f"no phase {requested[:60]!r} of {challenge.slug!r}; its phases: {', '.join(spec.phase_keys)}"
        )
    return requested


async def board_data(
    session: AsyncSession, challenge_id: int, phase: str, team_ids: Collection[int] | None = None
) -> BoardData:
    """The board data of a phase of a challenge: of every team, or only of `team_ids`."""
    candidates, teams = await read_board(session, challenge_id, phase, team_ids)
    uncertainty, baselines = {}, []
    if team_ids is None:  # a pass rewrites every entry's and then says so for the whole board
        rows = await session.exec(
            select(EntryUncertainty).where(
                EntryUncertainty.challenge_id == challenge_id, EntryUncertainty.phase == phase
            )
        )
        uncertainty = {(row.board, row.submission_id): row for row in rows}
        baselines = list(
            await session.exec(
                select(Baseline).where(Baseline.challenge_id == challenge_id, Baseline.phase == phase)
            )
        )
    record = await chain_head(session, challenge_id)
    return BoardData(candidates, teams, record=record, uncertainty=uncertainty, baselines=baselines)


async def refresh_teams(
    session: AsyncSession, challenge_id: int, phase: str, data: BoardData, team_ids: Collection[int]
) -> BoardData:
    """Reload the given teams' part of `data` (in place): what a score or a final selection changed."""
    fresh = await board_data(session, challenge_id, phase, team_ids)
    for team_id in team_ids:
        data.candidates.pop(team_id, None)
        data.teams.pop(team_id, None)
    data.candidates.update(fresh.candidates)
    data.teams.update(fresh.teams)
    data.record = fresh.record
    for ranking in data.rankings.values():
        for team_id in team_ids:
            ranking.set_team(team_id, data.candidates.get(team_id, []))
    return data


def rank(challenge: Challenge, phase: str, board: Board, data: BoardData) -> Leaderboard:
    spec = spec_of(challenge).phase_spec(phase)
    metric = spec.primary_metric
    ranking = data.ranking(board, higher_is_better=metric.higher_is_better, rules=spec.board_rules)
    uncertainty = {s: row for (b, s), row in data.uncertainty.items() if b == board.value}
    references = [
        Reference(b.name, score, b.metrics.get(board.value, {}))
        for b in data.baselines
        if (score := b.public_score if board is Board.PUBLIC else b.private_score) is not None
    ]
    return Leaderboard(
        board,
        metric.name,
        metric.higher_is_better,
        ranking,
        data.teams,
        data.record,
        uncertainty,
        references,
        spec.precision,
        phase,
    )


async def score_history(
    session: AsyncSession,
    challenge: Challenge,
    phase: str,
    team_ids: Collection[int],
    *,
    released_only: bool = False,
) -> list[tuple[str, datetime, float | None]]:
    """(team, submitted at, public score) of the given teams' scored submissions, for the progression chart;
    under the Ladder (`released_only`), of their released ones: the others' public scores are not shown.

    Only the teams drawn (the top of the board): a challenge may hold a million submissions.
    """
    query = (
        select(Team.name, Submission.created_at, Submission.public_score)
        .join(Team, col(Team.id) == Submission.team_id)
        .where(
            Submission.challenge_id == challenge.id,
            Submission.phase == phase,
            col(Submission.team_id).in_(team_ids),
            Submission.status == Status.SCORED,
        )
    )
    rows = await session.exec(query.where(col(Submission.released)) if released_only else query)
    return [(name, created_at, score) for name, created_at, score in rows]
