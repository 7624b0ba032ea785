"""Score progression: each team's best public score over time, for the chart of the top teams."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Point:
    at: datetime
    best: float


@dataclass(frozen=True, slots=True)
class Series:
    team: str
    points: tuple[Point, ...]  # one point each time the team's best improved

    @property
    def best(self) -> float:
        return self.points[-1].best


def progression(
    scored: Iterable[tuple[str, datetime, float | None]], *, higher_is_better: bool, top: int = 5
) -> list[Series]:
    """(team, submitted at, public score) → the best-so-far steps of the `top` teams, best team first."""
    by_team: dict[str, list[Point]] = {}
    for team, at, score in sorted(scored, key=lambda item: item[1]):
        if score is None or not math.isfinite(score):
            continue
        points = by_team.setdefault(team, [])
        if not points or (score > points[-1].best if higher_is_better else score < points[-1].best):
            points.append(Point(at, score))
    series = [Series(team, tuple(points)) for team, points in by_team.items()]
    series.sort(key=lambda s: (-s.best if higher_is_better else s.best, s.points[-1].at))
    return series[:top]
