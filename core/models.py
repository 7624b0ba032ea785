"""Database tables. Never returned from a handler: the API has its own schemas (server/api/schemas.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Index, LargeBinary, String, Text, TypeDecorator, UniqueConstraint, text
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from challenges.spec import ONE_PHASE

MAX_ROW_ID = (
    2**31 - 1
)  # ids are INTEGER columns: PostgreSQL's range, and SQLite's driver overflows past int64


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite keeps no zone, so we put it back on the way out)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Role(StrEnum):
    """Platform roles. What a user may do on one challenge comes from its staff list (StaffRole)."""

    ADMIN = "admin"  # staff of every challenge
    ORGANISER = "organiser"  # may create challenges
    PARTICIPANT = "participant"


class StaffRole(StrEnum):
    ORGANISER = "organiser"  # runs the challenge: lifecycle, edits, staff, operations on submissions
    JUDGE = "judge"  # reviews it: private board, every team and submission, notes


class ChallengeState(StrEnum):
    DRAFT = "draft"  # staff only
    PUBLISHED = "published"  # open by its schedule
    CLOSED = "closed"  # no more submissions; the private board still staff-only
    REVEALED = "revealed"  # the private board is public


class EnvironmentState(StrEnum):
    QUEUED = "queued"  # declared; a worker will resolve and build it
    RESOLVING = "resolving"  # pip is pinning the packages
    BUILDING = "building"  # the image is being built
    READY = "ready"  # model and code submissions run in its image
    FAILED = "failed"  # the log says why; staff may rebuild it


class Status(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SCORED = "scored"
    FAILED = "failed"
    CANCELLED = "cancelled"


class FailureKind(StrEnum):
    INVALID_PREDICTIONS = "invalid_predictions"  # the participant's file; does not count against the quota
    REJECTED_ARCHIVE = "rejected_archive"  # unsafe or unusable zip; does not count against the quota
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out_of_memory"
    CRASHED = "crashed"
    INVALID_OUTPUT = "invalid_output"
    VERSION_MISMATCH = "version_mismatch"  # a model saved with other library versions: said, not run; free
    SCORER_FAILED = "scorer_failed"  # the challenge's own scorer.py failed: the organisers' to fix
    INTERNAL = "internal"  # our side gave up after retries

    @property
    def refuses_upload(self) -> bool:
        """The team's file could not be used at all: free of the scored quota but bounded by
        `limits.invalid_per_day`, and its bytes are not kept (its error says what was wrong)."""
        return self in (
            FailureKind.INVALID_PREDICTIONS,
            FailureKind.REJECTED_ARCHIVE,
            FailureKind.VERSION_MISMATCH,
        )

    @property
    def uses_quota(self) -> bool:
        """Only the participant's code that ran and failed uses quota; an unusable file or our failure does not."""
        return self in (
            FailureKind.TIMEOUT,
            FailureKind.OUT_OF_MEMORY,
            FailureKind.CRASHED,
            FailureKind.INVALID_OUTPUT,
        )


REFUSED_UPLOADS = tuple(kind.value for kind in FailureKind if kind.refuses_upload)


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_type=String(40))  # as typed, shown on boards
    username_key: str = Field(sa_type=String(40), unique=True, index=True)  # casefolded: 'Ada' is 'ada'
    email: str | None = Field(default=None, sa_type=String(254))
    password_hash: str = Field(sa_type=String(200))
    role: str = Field(default=Role.PARTICIPANT, sa_type=String(20))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TokenScope(StrEnum):
    """What a bearer token may do. A sign-in gives `full`; personal API tokens are `read` (safe
    requests only) or `submit` (read, plus uploads, teams, cancelling and final selections)."""

    FULL = "full"
    SUBMIT = "submit"
    READ = "read"


class Token(SQLModel, table=True):
    # SQLite: a revoked token's id is never given to the next one (migration 0016).
    __table_args__ = {"sqlite_autoincrement": True}
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(sa_type=String(64), unique=True, index=True)  # sha256 of the bearer token
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # None: until revoked
    name: str | None = Field(default=None, sa_type=String(80))  # a personal API token's; None: a sign-in
    scope: str = Field(default=TokenScope.FULL, sa_type=String(10))
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Challenge(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_type=String(64), unique=True, index=True)
    title: str = Field(sa_type=String(200))
    spec: dict[str, Any] = Field(sa_type=JSON)  # the validated ChallengeSpec, as JSON
    columns: list[str] = Field(default_factory=list, sa_type=JSON)  # a prediction file's header
    # With groups (spec.groups): rows of each group in the public and private subsets, for everyone to see.
    group_sizes: dict[str, dict[str, int]] = Field(default_factory=dict, sa_type=JSON)
    # Imported from another platform: what its bundle asked that riality does not honour (for staff).
    import_report: list[str] = Field(default_factory=list, sa_type=JSON)
    # As set by staff; the schedule may move it further (core.lifecycle.state_of is the one reading).
    state: str = Field(default=ChallengeState.DRAFT, sa_type=String(20))
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # closed early by staff
    revealed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChallengeEnvironment(SQLModel, table=True):
    """A challenge's own environment (no row: the default runtime). Built by a worker in the background;
    model and code uploads wait for `ready`."""

    __tablename__ = "challenge_environment"
    challenge_id: int = Field(primary_key=True, foreign_key="challenge.id", ondelete="CASCADE")
    requested: str = Field(sa_type=Text)  # the bundle's packages, one per line, as declared
    state: str = Field(default=EnvironmentState.QUEUED, sa_type=String(20))
    lock: str | None = Field(default=None, sa_type=Text)  # the resolved pins (core.environments)
    image: str | None = Field(default=None, sa_type=String(200))  # tag of the built image
    log: str = Field(default="", sa_type=Text)  # resolution and build, for staff (bounded)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChallengeChain(SQLModel, table=True):
    """The head of a challenge's submission record; its row is the lock every append takes."""

    __tablename__ = "challenge_chain"
    challenge_id: int = Field(primary_key=True, foreign_key="challenge.id", ondelete="CASCADE")
    length: int = 0
    head: str = Field(default="0" * 64, sa_type=String(64))


class ChallengeStaff(SQLModel, table=True):
    __tablename__ = "challenge_staff"
    __table_args__ = (UniqueConstraint("challenge_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    challenge_id: int = Field(foreign_key="challenge.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    role: str = Field(sa_type=String(20))
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    """One staff action. Appended only: the app never updates or deletes a row (no foreign keys, so
    deleting a draft challenge or a user leaves its trail)."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_challenge_at", "challenge_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    challenge_id: int
    challenge_slug: str = Field(sa_type=String(64))
    actor_id: int | None = None
    actor: str = Field(sa_type=String(40))
    action: str = Field(sa_type=String(40))
    target: str = Field(default="", sa_type=String(200))
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChallengeFile(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("challenge_id", "phase", "role"),)
    id: int | None = Field(default=None, primary_key=True)
    challenge_id: int = Field(foreign_key="challenge.id", index=True, ondelete="CASCADE")
    phase: str = Field(default=ONE_PHASE, sa_type=String(40))  # each phase has its own files
    role: str = Field(sa_type=String(40))
    name: str = Field(sa_type=String(100))
    sha256: str = Field(sa_type=String(64))
    size: int
    public: bool


class Team(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("challenge_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    challenge_id: int = Field(foreign_key="challenge.id", index=True, ondelete="CASCADE")
    name: str = Field(sa_type=String(80))
    invite_code: str = Field(sa_type=String(40), unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Bumped by server.services.teams.lock_team: the row lock it takes serialises what must see one
    # consistent team (joining, the quota check, final selections) on PostgreSQL and SQLite alike.
    submission_seq: int = 0
    submissions: int = 0  # accepted uploads, shown on the board
    last_submission_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TeamBest(SQLModel, table=True):
    """Each team's best public submission, kept by the worker as it scores: the board reads 1 row a team."""

    team_id: int = Field(primary_key=True, foreign_key="team.id", ondelete="CASCADE")
    phase: str = Field(default=ONE_PHASE, primary_key=True, sa_type=String(40))
    challenge_id: int = Field(foreign_key="challenge.id", index=True, ondelete="CASCADE")
    submission_id: int = Field(foreign_key="submission.id", ondelete="CASCADE")
    public_score: float
    created_at: datetime = Field(sa_type=UTCDateTime)


class Member(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("challenge_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    challenge_id: int = Field(foreign_key="challenge.id", ondelete="CASCADE")
    joined_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Submission(SQLModel, table=True):
    __table_args__ = (
        Index("ix_submission_challenge_status", "challenge_id", "status"),
        Index("ix_submission_team_created", "team_id", "created_at"),
        # A client retrying an upload with the same key gets the first one back (NULLs never clash).
        Index("ux_submission_idempotency", "user_id", "idempotency_key", unique=True),
        Index("ux_submission_chain", "challenge_id", "chain_seq", unique=True),
        # Final selections are few among many submissions: the board finds them without a scan.
        Index(
            "ix_submission_final",
            "challenge_id",
            "status",
            sqlite_where=text("final = 1"),  # how SQLAlchemy writes a true Boolean there
            postgresql_where=text("final"),
        ),
        Index(
            "ix_submission_released",
            "challenge_id",
            "team_id",
            sqlite_where=text("released = 1"),
            postgresql_where=text("released"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    challenge_id: int = Field(foreign_key="challenge.id", ondelete="CASCADE")
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id")
    phase: str = Field(default=ONE_PHASE, sa_type=String(40))  # the phase it was sent in (or migrated to)
    kind: str = Field(sa_type=String(20))
    file_format: str = Field(sa_type=String(20))
    filename: str = Field(sa_type=String(255))  # shown to people only; never used as a path
    sha256: str = Field(sa_type=String(64))
    size: int
    note: str | None = Field(default=None, sa_type=String(500))
    idempotency_key: str | None = Field(default=None, sa_type=String(200))
    status: str = Field(default=Status.QUEUED, sa_type=String(20))
    counts_toward_quota: bool = True
    final: bool = False
    # The Ladder released its public score: it beat the team's previous release (scoring.ladder).
    released: bool = False
    attempts: int = 0
    # The worker (host:pid) that claimed it last: once its heartbeat is gone, another may take it over.
    worker: str | None = Field(default=None, sa_type=String(120))
    public_score: float | None = None
    private_score: float | None = None
    metrics: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # {"public": {...}, "private": {...}}
    error: str | None = Field(default=None, sa_type=String(4000))
    logs: str | None = Field(default=None, sa_type=Text)  # the sandbox's capped output (model and code kinds)
    wall_s: float | None = None  # measured by the runner from outside the container
    cpu_s: float | None = None
    peak_memory_mb: float | None = None
    failure: str | None = Field(default=None, sa_type=String(40))
    staff_test: bool = False  # sent by the challenge's staff to try the pipeline: never on a board
    rescore_id: int | None = None  # the last rescore that reached it (each counts a submission once)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Its link in the challenge's submission record (core.chain), written with the row.
    chain_seq: int | None = None
    chain_prev: str | None = Field(default=None, sa_type=String(64))
    chain_hash: str | None = Field(default=None, sa_type=String(64))
    # Its validated predictions (a .npy in the store), for the board's bootstrap (None: not kept).
    predictions_sha256: str | None = Field(default=None, sa_type=String(64))
    # A scoring program's detailed results page (HTML in the store), shown to its team in a sandboxed frame.
    details_sha256: str | None = Field(default=None, sa_type=String(64))
    # What a failed scorer or scoring program printed: for the challenge's staff only (it may show labels).
    scorer_logs: str | None = Field(default=None, sa_type=Text)


class BootstrapScores(SQLModel, table=True):
    """A board entry's score on each bootstrap resample of the public and the private rows
    (scoring.uncertainty; float64 arrays as bytes), computed once per submission."""

    __tablename__ = "bootstrap_scores"
    submission_id: int = Field(primary_key=True, foreign_key="submission.id", ondelete="CASCADE")
    public: bytes = Field(sa_type=LargeBinary)
    private: bytes = Field(sa_type=LargeBinary)


class BaselineState(StrEnum):
    QUEUED = "queued"  # a model or code baseline waiting for a worker's sandbox
    RUNNING = "running"
    SCORED = "scored"
    FAILED = "failed"


class Baseline(SQLModel, table=True):
    """A reference submission of the challenge's bundle: a prediction file scored when the bundle is
    loaded, a model or code run by a worker after it; shown on both boards apart from the teams, never
    ranked."""

    challenge_id: int = Field(primary_key=True, foreign_key="challenge.id", ondelete="CASCADE")
    phase: str = Field(default=ONE_PHASE, primary_key=True, sa_type=String(40))  # scored on its data
    name: str = Field(primary_key=True, sa_type=String(40))
    filename: str = Field(sa_type=String(60))  # under baselines/ in the bundle
    sha256: str = Field(sa_type=String(64))  # the file, kept so the bundle downloads whole
    kind: str = Field(default="predictions", sa_type=String(20))
    file_format: str = Field(default="csv", sa_type=String(20))
    state: str = Field(default=BaselineState.SCORED, sa_type=String(20))
    error: str | None = Field(default=None, sa_type=String(4000))  # why its run failed: for staff
    updated_at: datetime | None = Field(default_factory=utcnow, sa_type=UTCDateTime)  # its job's version
    public_score: float | None = None
    private_score: float | None = None
    metrics: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class EntryUncertainty(SQLModel, table=True):
    """What the last uncertainty pass found for each entry of a board (scoring.uncertainty)."""

    __tablename__ = "entry_uncertainty"
    challenge_id: int = Field(primary_key=True, foreign_key="challenge.id", ondelete="CASCADE")
    board: str = Field(primary_key=True, sa_type=String(10))
    submission_id: int = Field(primary_key=True, foreign_key="submission.id", ondelete="CASCADE")
    phase: str = Field(default=ONE_PHASE, sa_type=String(40))
    low: float | None = None
    high: float | None = None
    tied_with_leader: bool = False
    rank_low: int
    rank_high: int
    computed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Disqualification(SQLModel, table=True):
    """A team (off both boards) or one submission (no longer its team's best), with the reason shown to it."""

    id: int | None = Field(default=None, primary_key=True)
    challenge_id: int = Field(foreign_key="challenge.id", index=True, ondelete="CASCADE")
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True, ondelete="CASCADE")
    submission_id: int | None = Field(
        default=None, foreign_key="submission.id", index=True, ondelete="CASCADE"
    )
    reason: str = Field(sa_type=String(1000))
    created_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StaffNote(SQLModel, table=True):
    """A note by the challenge's staff on a team or a submission; participants never see it."""

    __tablename__ = "staff_note"
    id: int | None = Field(default=None, primary_key=True)
    challenge_id: int = Field(foreign_key="challenge.id", index=True, ondelete="CASCADE")
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True, ondelete="CASCADE")
    submission_id: int | None = Field(
        default=None, foreign_key="submission.id", index=True, ondelete="CASCADE"
    )
    author_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    author: str = Field(sa_type=String(40))
    text: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Rescore(SQLModel, table=True):
    """Scoring a challenge's scored submissions again (new labels, split or scorer, or on request).

    Each submission's new scores replace the old in one write; the boards are told once, at the end.
    """

    id: int | None = Field(default=None, primary_key=True)
    challenge_id: int = Field(foreign_key="challenge.id", index=True, ondelete="CASCADE")
    reason: str = Field(sa_type=String(200))
    requested_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    total: int
    done: int = 0
    failed: int = 0  # no longer valid under the new data (its status says why)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PhaseStart(SQLModel, table=True):
    """A phase's opening, handled once: its migration of the phase before's submissions (one row per
    phase that migrates, written by the first reconciler to see the phase open)."""

    __tablename__ = "phase_start"
    challenge_id: int = Field(primary_key=True, foreign_key="challenge.id", ondelete="CASCADE")
    phase: str = Field(primary_key=True, sa_type=String(40))
    migrated: int = 0  # submissions sent again into the phase
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
