"""Staff exports as CSV that opens cleanly in a spreadsheet: UTF-8 (with the BOM spreadsheets look
for), a header row, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Challenge, EntryUncertainty, Submission, Team, User
from server.services import disqualifications
from server.services.boards import Leaderboard
from server.services.teams import members_by_team

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """Numbers stay numbers; text that a spreadsheet would evaluate gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_cell(h) for h in header])
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _uncertainty(found: EntryUncertainty | None) -> tuple[object, ...]:
    if found is None:
        return (None,) * 5
    return found.low, found.high, found.tied_with_leader, found.rank_low, found.rank_high


def leaderboard_csv(board: Leaderboard, members: dict[int, list[str]]) -> bytes:
    """Every entry of the board, in its order, with the same figures the board shows."""
    entries = board.page()
    metric_names = sorted({name for e in entries for name in e.metrics})
    # The ranked score has the metric's name; the metric again only where it differs (ranked by the
    # worst group, the score is that group's), as "<metric> (overall)".
    differs = any(e.metrics.get(board.metric, e.score) != e.score for e in entries)
    if board.metric in metric_names and not differs:
        metric_names.remove(board.metric)
    header = [
        "rank",
        "team",
        "members",
        "submission_id",
        board.metric,
        *(f"{name} (overall)" if name == board.metric else name for name in metric_names),
        "submissions",
        "last_submission_at",
        "wall_s",
        "cpu_s",
        "peak_memory_mb",
        "worst_group",
        "disparity",
        # The last uncertainty pass's figures (blank for an entry newer than it, or a board without them).
        "ci_low",
        "ci_high",
        "tied_with_leader",
        "rank_low",
        "rank_high",
    ]
    rows = (
        [
            e.rank,
            e.team,
            "; ".join(members.get(e.team_id, [])),
            e.submission_id,
            e.score,
            *(e.metrics.get(name) for name in metric_names),
            e.submissions,
            e.last_submission_at,
            e.efficiency.wall_s,
            e.efficiency.cpu_s,
            e.efficiency.peak_memory_mb,
            e.worst_group,
            e.disparity,
            *_uncertainty(board.uncertainty.get(e.submission_id)),
        ]
        for e in entries
    )
    return to_csv(header, rows)


SUBMISSION_COLUMNS = (
    "id", "team", "members", "user", "phase", "kind", "status", "staff_test", "public_score", "private_score", "metrics",
    "created_at", "started_at", "finished_at", "sha256", "size", "wall_s", "cpu_s", "peak_memory_mb",
    "failure", "disqualified",
)  # fmt: skip


async def submissions_csv(session: AsyncSession, challenge: Challenge) -> bytes:
    assert challenge.id is not None
    members = await members_by_team(session, challenge.id)
    teams = dict(
        (await session.exec(select(Team.id, Team.name).where(Team.challenge_id == challenge.id))).all()
    )
    reasons = await disqualifications.reasons(session, challenge.id)
    rows = await session.exec(
        select(Submission, User.username)
        .join(User, col(User.id) == Submission.user_id)
        .where(Submission.challenge_id == challenge.id)
        .order_by(col(Submission.id))
    )
    return to_csv(
        SUBMISSION_COLUMNS,
        (
            [
                s.id,
                teams.get(s.team_id, ""),
                "; ".join(members.get(s.team_id, [])),
                user,
                s.phase,
                s.kind,
                s.status,
                s.staff_test,
                s.public_score,
                s.private_score,
                json.dumps(s.metrics, sort_keys=True) if s.metrics else "",
                s.created_at,
                s.started_at,
                s.finished_at,
                s.sha256,
                s.size,
                s.wall_s,
                s.cpu_s,
                s.peak_memory_mb,
                s.failure,
                reasons.of_submission(s.id or 0, s.team_id) or "",
            ]
            for s, user in rows
        ),
    )
