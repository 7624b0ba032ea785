"""Request and response schemas of the JSON API (never the table models themselves)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar.datastructures import UploadFile

from challenges.spec import Limits
from scoring.uncertainty import ALPHA, RESAMPLES
from server.services.accounts import MAX_PASSWORD, MIN_PASSWORD, USERNAME
from server.services.teams import INVITE_CODE
from server.services.teams import MAX_NAME as MAX_TEAM_NAME

# A team name: no control characters, and at least one character JSON Schema's \s does not match.
TEAM_NAME_PATTERN = (
    "^[^\\x00-\\x1f\\x7f]*"
    "[^\\x00-\\x20\\x7f\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]"
    "[^\\x00-\\x1f\\x7f]*$"
)
NonEmpty = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD)]
NewPassword = Annotated[str, msgspec.Meta(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)]


class RegisterIn(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[
        str,
        msgspec.Meta(
            min_length=3,
            max_length=40,
            description="letters, digits, '_', '.' or '-', starting with a letter or digit; unique regardless of case",
            # Documented, and checked by the service with a message of its own (not msgspec's regex text).
            extra_json_schema={"extra": {"pattern": USERNAME.pattern}},
        ),
    ]
    password: NewPassword
    email: (
        Annotated[str, msgspec.Meta(max_length=254, pattern=r"^[^@\x00-\x20\x7f]+@[^@\x00-\x20\x7f]+$")]
        | None
    ) = None


class TokenIn(msgspec.Struct, forbid_unknown_fields=True):
    username: NonEmpty
    password: NonEmpty


class PasswordChangeIn(msgspec.Struct, forbid_unknown_fields=True):
    current_password: NonEmpty
    new_password: NewPassword


class TokenOut(msgspec.Struct):
    access_token: str
    token_type: str = "bearer"


class RoleIn(msgspec.Struct, forbid_unknown_fields=True):
    role: Literal["admin", "organiser", "participant"]


class UserOut(msgspec.Struct):
    id: int
    username: str
    role: str


class WorkerOut(msgspec.Struct):
    worker: str  # host:pid
    host: str
    docker: bool  # can run model and code submissions
    reason: str  # why not
    slots: int
    free_slots: int
    seen: datetime
    gpus: int  # offered to challenges whose runs need GPUs
    lanes: list[str]  # the queues it takes jobs from


class HealthOut(msgspec.Struct):
    status: str
    database: str
    redis: str
    live_streams: int  # board streams open in this API process
    workers: list[WorkerOut]  # live workers, from their heartbeats


class FileOut(msgspec.Struct):
    name: str
    size: int
    url: str


class LimitsOut(msgspec.Struct):
    per_day: int
    invalid_per_day: int  # files that could not be used: apart from per_day, bounded on their own
    total: int
    team_size: int
    final_selections: int
    upload_mb: float
    # A model or code run: its sandbox's limits, and the board's rules (over them: scored, not ranked).
    time_s: int
    memory_mb: int
    max_cpu_s: float | None
    max_mib: float | None


class GroupOut(msgspec.Struct):
    """A group of the test rows (challenges scored per group): its rows in each subset; a group under
    the challenge's minimum size in a subset is not reported on its own there."""

    name: str
    public_rows: int
    private_rows: int


class GroupsOut(msgspec.Struct):
    column: str  # of the hidden labels file
    min_size: int
    rank_by: str  # overall | worst_group
    groups: list[GroupOut]


class ChallengeSummary(msgspec.Struct):
    slug: str
    title: str
    status: str  # upcoming | open | closed: what a participant can do now
    state: str  # draft | published | closed | revealed: where the challenge is in its life
    opens: datetime | None
    closes: datetime | None
    metric: str
    higher_is_better: bool
    kinds: list[str]


class StaffChallengeOut(ChallengeSummary):
    staff_role: str  # organiser | judge


class BaselineStateOut(msgspec.Struct):
    name: str
    kind: str
    state: Annotated[str, msgspec.Meta(extra_json_schema={"enum": ["queued", "running", "scored", "failed"]})]
    error: str | None  # why its run failed: to the challenge's staff only


class PhaseOut(msgspec.Struct):
    key: str
    title: str
    description: str
    opens: datetime | None
    closes: datetime | None
    status: str  # upcoming | open | closed
    current: bool  # the phase that takes submissions now (the last one opened)
    migrate: (
        bool  # at its start, each team's final selections (else best) of the phase before were sent again
    )
    kinds: list[str]
    metric: str


class ChallengeDetail(ChallengeSummary):
    description: str
    extra_metrics: list[str]
    id_column: str
    target_column: str
    prediction_columns: list[str]
    public_fraction: float
    limits: LimitsOut
    files: list[FileOut]
    reveal: datetime | None  # when the private board becomes public (else when its staff reveal it)
    staff_role: str | None  # the viewer's: organiser | judge, or null
    groups: GroupsOut | None  # null: not scored per group
    # "plain": each team's best public score; "ladder": its released score (see the challenge page).
    public_board: str = "plain"
    # The bundle's baselines and where each stands (a model or code one runs in a worker after loading).
    baselines: list[BaselineStateOut] = []
    import_report: list[str] | None = None  # to the challenge's staff (see ChallengeCreated)
    # Its phases, in order (one, `main`, if the bundle declares none). Limits, files, metric, kinds and
    # baselines above are the current phase's; `GET …?phase=` gives another's.
    phase: str = "main"
    phases: list[PhaseOut] = []


class ChallengeCreated(msgspec.Struct):
    slug: str
    state: str
    title: str
    url: str
    # A bundle from another platform: what riality does not honour of it, and what it assumed. Read it
    # before publishing.
    import_report: list[str] = []


class BundleForm(msgspec.Struct):
    bundle: Annotated[
        UploadFile, msgspec.Meta(description="a zip of the bundle folder (challenge.yaml at its top)")
    ]


class ScheduleIn(msgspec.Struct, forbid_unknown_fields=True):
    """ISO 8601 times with a zone; null clears one (left out: unchanged)."""

    opens: str | msgspec.UnsetType | None = msgspec.UNSET
    closes: str | msgspec.UnsetType | None = msgspec.UNSET
    reveal: str | msgspec.UnsetType | None = msgspec.UNSET


def _as_the_manifest_says(name: str, model: type[Any]) -> type[msgspec.Struct]:
    """A body of the manifest section `model`'s fields, each optional, documented with the
    manifest's own types and bounds (so the document refuses what its check refuses) but read as
    given: the check (challenges.spec) then reports every problem at once, with its field path."""
    fields = []
    for key, schema in model.model_json_schema()["properties"].items():
        documented = {k: v for k, v in schema.items() if k not in ("title", "default")}
        kind = Annotated[Any, msgspec.Meta(extra_json_schema={"extra": documented})]
        fields.append((key, kind, msgspec.UNSET))  # Any, left out: UNSET
    return msgspec.defstruct(name, fields, forbid_unknown_fields=True, module=__name__)


# challenge.yaml's limits (left out: unchanged); the board rules max_cpu_s and max_mib take null.
LimitsIn = _as_the_manifest_says("LimitsIn", Limits)


def given(struct: msgspec.Struct | None) -> dict[str, Any] | None:
    """The fields a request gave (the others were left out: unchanged)."""
    if struct is None:
        return None
    return {
        name: value
        for name in struct.__struct_fields__
        if (value := getattr(struct, name)) is not msgspec.UNSET
    }


class ChallengeEditIn(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields given change; schedule and limits are merged into the current ones."""

    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern="^[^\x00]*$")] | None = None
    description: Annotated[str, msgspec.Meta(max_length=100_000, pattern="^[^\x00]*$")] | None = None
    schedule: ScheduleIn | None = None
    limits: LimitsIn | None = None


class StaffIn(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    role: Literal["organiser", "judge"]


class StaffOut(msgspec.Struct):
    username: str
    role: str
    added_at: datetime


class AuditOut(msgspec.Struct):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class TeamIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=MAX_TEAM_NAME,
            description="runs of spaces become one; at least one character that is not a space",
            extra_json_schema={"extra": {"pattern": TEAM_NAME_PATTERN}},
        ),
    ]


class JoinIn(msgspec.Struct, forbid_unknown_fields=True):
    invite_code: Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=100, extra_json_schema={"extra": {"pattern": INVITE_CODE.pattern}}
        ),
    ]


class TeamOut(msgspec.Struct):
    id: int
    name: str
    invite_code: str  # only ever sent to the team's own members
    members: list[str]
    disqualified: str | None = None  # the reason, if the challenge's organisers disqualified the team


class SubmissionOut(msgspec.Struct):
    id: int
    challenge: str
    phase: str  # the phase it was sent in, or migrated to (a challenge without phases: main)
    team_id: int
    team: str
    kind: str
    status: str
    filename: str
    size: int
    note: str | None
    final: bool  # a final selection for the private board
    public_score: float | None
    private_score: float | None  # null until the viewer may see it
    metrics: dict[str, Any]
    error: str | None
    # Why it failed, as a kind: invalid_predictions, rejected_archive, version_mismatch (the file could
    # not be used: free, under limits.invalid_per_day, its bytes not kept), timeout, out_of_memory,
    # crashed, invalid_output (its code ran: it used quota), scorer_failed, internal; null otherwise.
    failure: str | None
    logs: str | None  # the sandbox's capped output, for model and code submissions
    # What the challenge's failed scorer or scoring program printed: for its staff only (null otherwise).
    scorer_logs: str | None
    details: bool  # the scoring program wrote a detailed results page: GET /api/submissions/{id}/details
    wall_s: float | None
    cpu_s: float | None
    peak_memory_mb: float | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    staff_test: bool  # sent by the challenge's staff to try the pipeline; never on a board
    disqualified: str | None  # the reason, if it (or its team) was disqualified
    # Why a scored submission is not ranked: its run broke the board's efficiency rules (empty: it is not).
    not_ranked: list[str]
    # Under the Ladder (public_board: ladder): whether its public score was released (None: no Ladder).
    # A team sees the public score of its released submissions only.
    released: bool | None


class FinalIn(msgspec.Struct, forbid_unknown_fields=True):
    final: bool


class EntryOut(msgspec.Struct):
    rank: int
    team: str
    submission_id: int | None  # the submission behind the entry: for organisers and judges only
    score: float
    metrics: dict[str, float]
    submissions: int
    last_submission_at: datetime | None
    # What the entry's model or code run used (null for a prediction file): efficiency, sortable.
    wall_s: float | None = None
    cpu_s: float | None = None
    peak_memory_mb: float | None = None
    # With groups: the entry's worst reported group's score and best − worst group (null otherwise).
    worst_group: float | None = None
    disparity: float | None = None
    # The last uncertainty pass's (null before it reached this entry): the score's 95 % bootstrap
    # interval, whether a paired bootstrap test (two-sided, α = 0.05) tells it from the leader, and the
    # rank's 95 % interval over the resamples.
    ci_low: float | None = None
    ci_high: float | None = None
    tied_with_leader: bool | None = None
    rank_low: int | None = None
    rank_high: int | None = None


class BoardEventOut(msgspec.Struct):
    """One server-sent event of a board stream (keep-alive comments come between them)."""

    event: Annotated[str, msgspec.Meta(extra_json_schema={"extra": {"enum": ["snapshot", "board"]}})]
    data: Annotated[str, msgspec.Meta(description="the board as JSON, like GET …/leaderboard")]


class BaselineOut(msgspec.Struct):
    name: str
    score: float
    metrics: dict[str, float | None]


class LeaderboardOut(msgspec.Struct):
    board: str
    phase: str  # whose board this is (a challenge without phases has one: main)
    metric: str
    higher_is_better: bool
    precision: int  # digits to show of a score (a scoring program's column declares it; else 4)
    entries: list[EntryOut]  # the page asked for (limit, offset)
    teams: int  # teams on the whole board
    # The submission record (GET …/chain): keep a copy of the head to pin the history up to it.
    record_length: int
    record_head: str
    # The challenge's baselines on this board: reference rows, never ranked, not teams.
    baselines: list[BaselineOut] = []
    # How the entries' intervals were found (scoring.uncertainty), and when (null: not yet).
    uncertainty_at: datetime | None = None
    resamples: int = RESAMPLES
    alpha: float = ALPHA


class UploadForm(msgspec.Struct):
    file: UploadFile
    note: (
        Annotated[str, msgspec.Meta(max_length=500, extra_json_schema={"extra": {"pattern": "^[^\\x00]*$"}})]
        | None
    ) = None
    kind: (
        Annotated[
            str,
            msgspec.Meta(extra_json_schema={"extra": {"enum": ["predictions", "model", "code", "files"]}}),
        ]
        | None
    ) = None


class DisqualificationIn(msgspec.Struct, forbid_unknown_fields=True):
    """Exactly one of team_id and submission_id."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
    team_id: Annotated[int, msgspec.Meta(ge=1)] | None = None
    submission_id: Annotated[int, msgspec.Meta(ge=1)] | None = None


class DisqualificationOut(msgspec.Struct):
    id: int
    team_id: int | None
    submission_id: int | None
    reason: str
    created_at: datetime


class NoteIn(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]


class NoteOut(msgspec.Struct):
    id: int
    author: str
    text: str
    created_at: datetime
    team_id: int | None
    submission_id: int | None


class StaffTeamOut(msgspec.Struct):
    """A team as its challenge's staff see it (no invite code)."""

    id: int
    name: str
    members: list[str]
    submissions: int
    disqualified: str | None


class RescoreOut(msgspec.Struct):
    id: int
    reason: str
    total: int
    done: int
    failed: int  # no longer valid under the new data (each submission's status says why)
    started_at: datetime
    finished_at: datetime | None  # the boards changed, once, at this time


class BundleReplaced(msgspec.Struct):
    slug: str
    rescore: RescoreOut | None  # started when the labels, split or scorer changed
    changed: list[str]  # what changed that the scores depend on


class PackageOut(msgspec.Struct):
    name: str
    version: str


class EnvironmentOut(msgspec.Struct):
    """What model and code submissions run with: train with the same (`requirements_url`)."""

    python: str
    packages: list[PackageOut]  # every package, pinned; empty until resolved
    state: str  # queued, resolving, building, ready or failed
    requested: list[str]  # the challenge's own packages, as declared (empty: the default runtime)
    requirements_url: str
    log: str | None  # the resolution and build log, for the challenge's staff only


class ApiTokenIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    scope: Literal["read", "submit"] = "read"  # submit includes read
    expires_at: datetime | None = None  # none: until revoked (at most a year ahead)


class ApiTokenOut(msgspec.Struct):
    id: int
    name: str
    scope: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None  # to the minute


class ApiTokenCreated(msgspec.Struct):
    """The token's secret is here this once: it is stored only as a hash."""

    id: int
    name: str
    scope: str
    created_at: datetime
    expires_at: datetime | None
    token: str


class ReceiptOut(msgspec.Struct):
    """A submission's record in its challenge's chain, signed: keep it. `signature` is Ed25519 over
    the canonical JSON (sorted keys, no spaces) of every field before `algorithm`."""

    challenge: str
    seq: int
    submission_id: int
    team_id: int
    sha256: str
    size: int
    created_at: str  # the exact spelling that was hashed
    prev_hash: str
    hash: str
    team: str
    algorithm: str
    key_id: str
    signature: str


class UploadOut(SubmissionOut):
    receipt: ReceiptOut


class ReceiptKeyOut(msgspec.Struct):
    algorithm: str
    key_id: str
    public_key: str  # the raw 32-byte key, base64
    pem: str


class ChainOut(msgspec.Struct):
    """A challenge's submission record, in order; each entry's fields as its row says now and the hash
    stored when it was linked (re-walk it with core.chain.walk, or `riality verify`)."""

    challenge: str
    length: int
    head: str
    records: list[dict[str, Any]]
