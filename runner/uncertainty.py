"""The uncertainty pass of a challenge's boards, off the upload → board path: each entry's bootstrap
scores (once per submission, from its kept predictions), then intervals, ties with the leader and
rank intervals for both boards (scoring.uncertainty), written for the API to show.

Queued after scores and board changes, at most one per challenge per PASS_PERIOD_S: a burst of
uploads makes one pass, a few seconds after it, not one per upload.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, update
from sqlmodel import col, select

from challenges.bundle import FileRole
from challenges.spec import ChallengeSpec
from core.boards import read_board
from core.challenges import ChallengeFiles, current_phase
from core.db import SessionMaker
from core.models import BootstrapScores, Challenge, EntryUncertainty, Submission, utcnow
from runner.kept import KEPT_COLUMNS, Kept
from runner.truths import TruthCache
from scoring.ranking import Board, Ranking
from scoring.truth import GroundTruth
from scoring.uncertainty import RESAMPLES, PairedDraws, board_uncertainty, bootstrap_scores, resample_seed

log = logging.getLogger(__name__)

ENTRIES_PER_PASS = 8  # resampled scores computed per pass: about 1.2 s of one core (ROC AUC, 10k test rows)


@dataclass(frozen=True, slots=True)
class _Vectors:
    public: np.ndarray
    private: np.ndarray

    def of(self, board: Board) -> np.ndarray:
        return self.public if board is Board.PUBLIC else self.private


def _subsets(truth: GroundTruth) -> dict[str, np.ndarray]:
    return {"public": truth.public, "private": truth.private}


def _draws(spec: ChallengeSpec, truth: GroundTruth) -> dict[str, PairedDraws]:
    """Each subset's paired resamples, shared by the entries of a pass."""
    return {
        subset: PairedDraws(int(mask.sum()), resample_seed(spec.seed, subset))
        for subset, mask in _subsets(truth).items()
    }


def _bootstrap(
    spec: ChallengeSpec, truth: GroundTruth, values: np.ndarray, draws: dict[str, PairedDraws]
) -> _Vectors:
    """An entry's primary metric on every resample of both subsets (CPU-bound: run in a thread)."""
    vectors = {
        subset: bootstrap_scores(spec.primary_metric, truth.y[mask], values[mask], truth.codes, draws[subset])
        for subset, mask in _subsets(truth).items()
    }
    return _Vectors(**vectors)


@dataclass(frozen=True, slots=True)
class Pass:
    slug: str
    remaining: int  # entries whose resampled scores are left for the next pass


async def uncertainty_pass(sessions: SessionMaker, truths: TruthCache, slug: str) -> Pass | None:
    """Recompute the board uncertainty of a challenge's current phase (None: no such challenge, or not
    one the pass covers). A phase that has ended keeps the figures of its last pass.

    At most ENTRIES_PER_PASS entries get their resampled scores computed, the top of the boards first:
    after a deadline rush of a thousand new entries, passes take turns with the scoring instead of
    holding a core for minutes."""
    async with sessions() as session:
        challenge = (await session.exec(select(Challenge).where(Challenge.slug == slug))).first()
        if challenge is None or challenge.id is None:
            return None
        phase, spec = current_phase(challenge, utcnow())
        if not spec.has_uncertainty:
            return None
        challenge_id = challenge.id
        candidates, teams = await read_board(session, challenge_id, phase)
        files = await ChallengeFiles.load(session, challenge_id, phase)
        labels_sha256 = files[FileRole.TEST_LABELS].sha256
        higher = spec.primary_metric.higher_is_better
        rules = spec.board_rules
        order = {
            board: [
                e.submission_id
                for e in Ranking.of(board, candidates, higher_is_better=higher, rules=rules).entries(teams)
            ]
            for board in Board
        }
        wanted = {s for ids in order.values() for s in ids}
        vectors = {
            row.submission_id: _Vectors(np.frombuffer(row.public), np.frombuffer(row.private))
            for row in await session.exec(
                select(BootstrapScores).where(col(BootstrapScores.submission_id).in_(wanted))
            )
        }
        kept = [
            Kept(*row)
            for row in await session.exec(
                select(*KEPT_COLUMNS).where(col(Submission.id).in_(wanted - vectors.keys()))
            )
        ]
        await session.rollback()  # nothing held open while the resamples are computed
        place: dict[int, int] = {}
        for ids in order.values():
            for position, submission_id in enumerate(ids):
                place[submission_id] = min(position, place.get(submission_id, position))
        todo = sorted((k for k in kept if k.readable), key=lambda k: place[k.id])
        fresh: dict[int, _Vectors] = {}
        if todo:
            truth = truths.get(spec, labels_sha256)
            draws = _draws(spec, truth)
            for entry in todo[:ENTRIES_PER_PASS]:
                values = entry.predictions(truths.store, spec, truth)
                fresh[entry.id] = await asyncio.to_thread(_bootstrap, spec, truth, values, draws)
        vectors |= fresh
        found = {}
        for board, ids in order.items():
            ranked = [s for s in ids if s in vectors]  # entries scored before predictions were kept: none
            if ranked:
                matrix = np.stack([vectors[s].of(board) for s in ranked])
                found[board] = zip(
                    ranked, await asyncio.to_thread(board_uncertainty, matrix, higher), strict=True
                )
        # Two passes of one challenge may overlap (two workers, two periods): they write one at a time.
        await session.exec(
            update(Challenge).where(col(Challenge.id) == challenge_id).values(slug=Challenge.slug)
        )
        present = set(
            await session.exec(
                select(BootstrapScores.submission_id).where(col(BootstrapScores.submission_id).in_(fresh))
            )
        )
        for submission_id, computed in fresh.items():
            if submission_id not in present:
                public, private = computed.public.tobytes(), computed.private.tobytes()
                session.add(BootstrapScores(submission_id=submission_id, public=public, private=private))
        now = utcnow()
        await session.exec(
            delete(EntryUncertainty).where(
                col(EntryUncertainty.challenge_id) == challenge_id, col(EntryUncertainty.phase) == phase
            )
        )
        for board, pairs in found.items():
            for submission_id, entry in pairs:
                session.add(
                    EntryUncertainty(
                        challenge_id=challenge_id,
                        phase=phase,
                        board=board.value,
                        submission_id=submission_id,
                        low=entry.low,
                        high=entry.high,
                        tied_with_leader=entry.tied_with_leader,
                        rank_low=entry.rank_low,
                        rank_high=entry.rank_high,
                        computed_at=now,
                    )
                )
        await session.commit()
    remaining = max(0, len(todo) - ENTRIES_PER_PASS)
    log.info(
        "challenge %s: board uncertainty from %d resamples over %d entries (%d left for the next pass)",
        slug,
        RESAMPLES,
        len(vectors),
        remaining,
    )
    return Pass(slug, remaining)
