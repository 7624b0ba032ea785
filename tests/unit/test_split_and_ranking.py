"""The seeded public/private split, and the board rules."""

from __future__ import annotations

import math
import random
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from scoring.metrics import Task
from scoring.ranking import (
    NO_RULES,
    NO_RUN,
    Board,
    BoardRules,
    Efficiency,
    Ranking,
    ScoredSubmission,
    TeamActivity,
    build_board,
    by_team,
)
from scoring.split import public_mask
from scoring.truth import LabelsFileError, load_truth

IDS = [f"id-{i}" for i in range(1000)]


def test_split_is_exact_and_stable_across_orders() -> None:
    mask = public_mask(IDS, 0.3, "seed")
    assert mask.sum() == 300
    shuffled = IDS[:]
    random.Random(4).shuffle(shuffled)
    public = {i for i, m in zip(IDS, mask, strict=True) if m}
    assert public == {i for i, m in zip(shuffled, public_mask(shuffled, 0.3, "seed"), strict=True) if m}


def test_split_depends_on_the_seed() -> None:
    assert not np.array_equal(public_mask(IDS, 0.3, "a"), public_mask(IDS, 0.3, "b"))


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_split_rejects_fractions_outside_0_1(fraction: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        public_mask(IDS, fraction, "s")


T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)
TEAMS = {1: TeamActivity("ada", 3, T0), 2: TeamActivity("bob", 2, T0), 3: TeamActivity("cy", 1, T0)}


def sub(
    i: int, team: int, public: float | None, private: float | None, minutes: int, final: bool = False
) -> ScoredSubmission:
    return ScoredSubmission(
        i, team, T0 + timedelta(minutes=minutes), public, private, {"public": {}, "private": {}}, final
    )


def test_a_split_column_names_each_rows_subset() -> None:
    labels = b"id,y,split\na,1,public\nb,0,PRIVATE\nc,1, private\nd,0,public\n"
    truth = load_truth(
        labels, id_column="id", target_column="y", task=Task.CLASSIFICATION, fraction=0.3, seed="s",
        split_column="split",
    )  # fmt: skip
    assert truth.public.tolist() == [True, False, False, True]


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (b"id,y,split\na,1,public\nb,0,test\n", "line 3: 'split' is 'test'; expected public or private"),
        (b"id,y,split\na,1,public\nb,0,public\n", "must name both public and private rows"),
        (b"id,y\na,1\nb,0\n", "no column 'split'"),
    ],
)
def test_a_bad_split_column_is_named(labels: bytes, message: str) -> None:
    with pytest.raises(LabelsFileError, match=re.escape(message)):
        load_truth(
            labels, id_column="id", target_column="y", task=Task.CLASSIFICATION, fraction=0.3, seed="s",
            split_column="split",
        )  # fmt: skip


def test_public_board_keeps_each_teams_best_and_orders_by_direction() -> None:
    subs = [sub(1, 1, 0.7, 0.6, 0), sub(2, 1, 0.9, 0.5, 1), sub(3, 2, 0.8, 0.9, 2)]
    board = build_board(Board.PUBLIC, subs, TEAMS, higher_is_better=True)
    assert [(e.rank, e.team, e.score, e.submission_id) for e in board] == [
        (1, "ada", 0.9, 2),
        (2, "bob", 0.8, 3),
    ]
    lower = build_board(Board.PUBLIC, subs, TEAMS, higher_is_better=False)
    assert [(e.team, e.score) for e in lower] == [("ada", 0.7), ("bob", 0.8)]


def test_ties_go_to_the_earlier_submission() -> None:
    subs = [sub(1, 2, 0.8, 0.1, 5), sub(2, 1, 0.8, 0.1, 3), sub(3, 1, 0.8, 0.1, 9)]
    board = build_board(Board.PUBLIC, subs, TEAMS, higher_is_better=True)
    assert [(e.team, e.submission_id) for e in board] == [("ada", 2), ("bob", 1)]


def test_nan_and_missing_scores_are_never_ranked() -> None:
    subs = [sub(1, 1, math.nan, 0.5, 0), sub(2, 2, None, None, 0), sub(3, 3, 0.4, math.nan, 0)]
    board = build_board(Board.PUBLIC, subs, TEAMS, higher_is_better=True)
    assert [e.team for e in board] == ["cy"]
    assert build_board(Board.PRIVATE, subs, TEAMS, higher_is_better=True) == []


def test_private_board_uses_the_best_public_submission_without_finals() -> None:
    subs = [sub(1, 1, 0.9, 0.6, 0), sub(2, 1, 0.8, 0.95, 1)]
    (entry,) = build_board(Board.PRIVATE, subs, TEAMS, higher_is_better=True)
    assert (entry.submission_id, entry.score) == (1, 0.6)


def test_private_board_uses_the_best_final_selection() -> None:
    subs = [sub(1, 1, 0.9, 0.6, 0), sub(2, 1, 0.8, 0.7, 1, final=True), sub(3, 1, 0.7, 0.75, 2, final=True)]
    (entry,) = build_board(Board.PRIVATE, subs, TEAMS, higher_is_better=True)
    assert (entry.submission_id, entry.score) == (3, 0.75)


def test_each_entry_carries_the_run_of_the_submission_chosen_for_its_board() -> None:
    """Efficiency follows the submission behind the entry: the best public one on the public board,
    the final selection on the private board."""
    runs = {1: Efficiency(12.0, 30.5, 410.0), 2: Efficiency(3.0, 2.5, 120.0)}
    subs = [
        ScoredSubmission(1, 1, T0, 0.9, 0.5, {"public": {}, "private": {}}, efficiency=runs[1]),
        ScoredSubmission(2, 1, T0 + timedelta(minutes=1), 0.8, 0.7, {}, final=True, efficiency=runs[2]),
        sub(3, 2, 0.7, 0.6, 2),  # a prediction file: no run
    ]
    public = {e.team: e.efficiency for e in build_board(Board.PUBLIC, subs, TEAMS, higher_is_better=True)}
    assert public == {"ada": runs[1], "bob": NO_RUN}
    private = {e.team: e.efficiency for e in build_board(Board.PRIVATE, subs, TEAMS, higher_is_better=True)}
    assert private == {"ada": runs[2], "bob": NO_RUN}


def test_the_boards_rules_leave_out_runs_over_them_and_say_why() -> None:
    """A run over `max_cpu_s` or `max_mib` is never chosen (the team's next best is); a prediction
    file and a measure the sandbox did not take pass; the reasons name the figure and the limit."""
    rules = BoardRules(max_cpu_s=60, max_mib=512)
    heavy, light = Efficiency(10.0, 61.0, 100.0), Efficiency(10.0, 59.0, 511.0)
    assert rules.broken(heavy) == ["61 CPU seconds, over the board's limit of 60"]
    assert rules.broken(Efficiency(1.0, 1.0, 600.0)) == ["600 MiB at peak, over the board's limit of 512 MiB"]
    assert rules.allow(light) and rules.allow(NO_RUN) and rules.allow(Efficiency(1.0, None, None))
    assert NO_RULES.allow(Efficiency(1e9, 1e9, 1e9))
    subs = [
        ScoredSubmission(1, 1, T0, 0.9, 0.9, {}, final=True, efficiency=heavy),
        ScoredSubmission(2, 1, T0 + timedelta(minutes=1), 0.8, 0.7, {}, efficiency=light),
        ScoredSubmission(3, 2, T0, 0.95, 0.95, {}, efficiency=Efficiency(1.0, 1.0, 513.0)),
    ]
    for board in Board:
        ranked = Ranking.of(board, by_team(subs), higher_is_better=True, rules=rules).entries(TEAMS)
        assert [(e.team, e.submission_id) for e in ranked] == [("ada", 2)]
    assert [e.submission_id for e in build_board(Board.PUBLIC, subs, TEAMS, higher_is_better=True)] == [3, 1]


def test_entries_carry_counts_and_last_time() -> None:
    (entry,) = build_board(Board.PUBLIC, [sub(1, 1, 0.5, 0.5, 0)], TEAMS, higher_is_better=True)
    assert (entry.submissions, entry.last_submission_at) == (3, T0)


@pytest.mark.parametrize("board", list(Board))
@pytest.mark.parametrize("higher_is_better", [True, False])
def test_a_ranking_kept_up_to_date_team_by_team_equals_one_built_from_scratch(
    board: Board, higher_is_better: bool
) -> None:
    rng = random.Random(f"{board}{higher_is_better}")
    teams = {t: TeamActivity(f"team {t}", rng.randint(1, 9), T0) for t in range(40)}
    candidates: dict[int, list[ScoredSubmission]] = {}
    ranking = Ranking(board, higher_is_better=higher_is_better)
    next_id = 1
    for step in range(600):
        team = rng.randrange(40)
        subs = []
        for _ in range(rng.choice([0, 1, 1, 2, 3])):  # none: the team has nothing scored any more
            score = rng.choice([None, math.nan, 0.5, rng.random()])  # ties, NaN and missing on purpose
            subs.append(
                sub(
                    next_id,
                    team,
                    score,
                    rng.choice([score, rng.random(), None]),
                    rng.randrange(50),
                    rng.random() < 0.3,
                )
            )
            next_id += 1
        candidates[team] = subs
        ranking.set_team(team, subs)
        if step % 50 == 49:
            everything = [s for team_subs in candidates.values() for s in team_subs]
            expected = build_board(board, everything, teams, higher_is_better=higher_is_better)
            assert ranking.entries(teams) == expected
            assert ranking.entries(teams, 5, 12) == expected[5:12]
            assert len(ranking) == len(expected)
            assert Ranking.of(board, candidates, higher_is_better=higher_is_better).entries(teams) == expected
