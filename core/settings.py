"""One typed settings object, read from the environment once at an entry point and passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

_THROTTLE_SETTINGS = (
    "login_failures_per_account",
    "login_failures_per_address",
    "login_window_s",
    "registrations_per_address",
    "registration_window_s",
    "password_hash_threads",
    "argon2_time_cost",
    "argon2_memory_kib",
    "argon2_parallelism",
)


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path(".riality")
    database_url: str = ""  # empty: SQLite under data_dir
    redis_url: str = "redis://127.0.0.1:6379/0"
    host: str = "127.0.0.1"
    port: int = 8000
    token_ttl_hours: int = 24 * 14
    max_upload_bytes: int = 200 * 1024 * 1024  # hard ceiling over every challenge's own upload limit
    reconcile_after_s: int = 60  # a queued/running submission older than this is re-enqueued
    blob_grace_s: int = 3600  # a stored file nothing references is removed after this long
    uncertainty_period_s: float = 5.0  # at most one board-uncertainty pass per challenge this often
    worker_max_jobs: int = 8
    worker_poll_delay_s: float = 0.02
    sandbox_concurrency: int = 2  # containers at once per worker, never more than the host's cores
    sandbox_runtime: str = ""  # "runsc": every participant container under gVisor; "": dockerd's default
    team_sandbox_runs: int = 2  # model/code runs of one team at once, over all workers (0: no cap)
    worker_gpus: int = 0  # GPUs this worker offers to challenges with limits.gpus (NVIDIA toolkit)
    worker_fake_gpus: bool = False  # advertise worker_gpus without passing devices (tests, no GPU)
    metrics_token: str = ""  # if set, GET /metrics wants "Authorization: Bearer <it>"
    log_format: str = "text"  # "json": one JSON object a line, with the submission and challenge
    receipt_key_file: str = ""  # the Ed25519 key that signs receipts (PEM); "": receipts.key in data_dir
    # Sign-in protection: failed sign-ins per account and per client address in a window, then 429.
    login_failures_per_account: int = 10
    login_failures_per_address: int = 50
    login_window_s: int = 15 * 60
    registrations_per_address: int = 20
    registration_window_s: int = 3600
    password_hash_threads: int = 1  # argon2 at once per API process: the other cores stay with requests
    # argon2id's cost for new password hashes: RFC 9106's low-memory profile (argon2-cffi's default).
    # The test suite lowers it (thousands of sign-ins); a stored hash keeps the cost it was made with.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    # Database connections per process; a request that finds none free within the timeout gets a 503.
    db_pool_size: int = 10
    db_pool_overflow: int = 20
    db_pool_timeout_s: float = 30.0
    # An uploaded bundle is checked in a child process with this much address space and time.
    bundle_check_memory_mb: int = 4096
    bundle_check_timeout_s: float = 600.0

    @property
    def database(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'riality.db').resolve()}"

    @property
    def receipt_key_path(self) -> Path:
        return Path(self.receipt_key_file) if self.receipt_key_file else self.data_dir / "receipts.key"

    @property
    def blobs_dir(self) -> Path:
        return self.data_dir / "blobs"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        base = cls()
        values: dict[str, Any] = {
            "data_dir": Path(env.get("RIALITY_DATA_DIR", str(base.data_dir))),
            "database_url": env.get("RIALITY_DATABASE_URL", base.database_url),
            "redis_url": env.get("REDIS_URL", base.redis_url),
            "host": env.get("RIALITY_HOST", base.host),
            "port": int(env.get("RIALITY_PORT", base.port)),
            "token_ttl_hours": int(env.get("RIALITY_TOKEN_TTL_HOURS", base.token_ttl_hours)),
            "reconcile_after_s": int(env.get("RIALITY_RECONCILE_AFTER_S", base.reconcile_after_s)),
            "blob_grace_s": int(env.get("RIALITY_BLOB_GRACE_S", base.blob_grace_s)),
            "uncertainty_period_s": float(env.get("RIALITY_UNCERTAINTY_PERIOD_S", base.uncertainty_period_s)),
            "worker_max_jobs": int(env.get("RIALITY_WORKER_MAX_JOBS", base.worker_max_jobs)),
            "sandbox_concurrency": int(env.get("RIALITY_SANDBOX_CONCURRENCY", base.sandbox_concurrency)),
            "sandbox_runtime": env.get("RIALITY_SANDBOX_RUNTIME", base.sandbox_runtime),
            "receipt_key_file": env.get("RIALITY_RECEIPT_KEY", base.receipt_key_file),
            "metrics_token": env.get("RIALITY_METRICS_TOKEN", base.metrics_token),
            "log_format": env.get("RIALITY_LOG_FORMAT", base.log_format),
            "team_sandbox_runs": int(env.get("RIALITY_TEAM_SANDBOX_RUNS", base.team_sandbox_runs)),
            "worker_gpus": int(env.get("RIALITY_WORKER_GPUS", base.worker_gpus)),
            "worker_fake_gpus": env.get("RIALITY_WORKER_FAKE_GPUS", "") in ("1", "true", "yes"),
            "db_pool_size": int(env.get("RIALITY_DB_POOL_SIZE", base.db_pool_size)),
            "db_pool_overflow": int(env.get("RIALITY_DB_POOL_OVERFLOW", base.db_pool_overflow)),
            "db_pool_timeout_s": float(env.get("RIALITY_DB_POOL_TIMEOUT_S", base.db_pool_timeout_s)),
            "bundle_check_memory_mb": int(
                env.get("RIALITY_BUNDLE_CHECK_MEMORY_MB", base.bundle_check_memory_mb)
            ),
            "bundle_check_timeout_s": float(
                env.get("RIALITY_BUNDLE_CHECK_TIMEOUT_S", base.bundle_check_timeout_s)
            ),
            **{
                name: int(env[f"RIALITY_{name.upper()}"])
                for name in _THROTTLE_SETTINGS
                if f"RIALITY_{name.upper()}" in env
            },
        }
        values.update(overrides)
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def to_env(self) -> dict[str, str]:
        """The environment a child process needs to rebuild these settings."""
        return {
            "RIALITY_DATA_DIR": str(self.data_dir),
            "RIALITY_DATABASE_URL": self.database,
            "REDIS_URL": self.redis_url,
            "RIALITY_HOST": self.host,
            "RIALITY_PORT": str(self.port),
            "RIALITY_TOKEN_TTL_HOURS": str(self.token_ttl_hours),
            "RIALITY_RECONCILE_AFTER_S": str(self.reconcile_after_s),
            "RIALITY_BLOB_GRACE_S": str(self.blob_grace_s),
            "RIALITY_UNCERTAINTY_PERIOD_S": str(self.uncertainty_period_s),
            "RIALITY_WORKER_MAX_JOBS": str(self.worker_max_jobs),
            "RIALITY_SANDBOX_CONCURRENCY": str(self.sandbox_concurrency),
            "RIALITY_SANDBOX_RUNTIME": self.sandbox_runtime,
            "RIALITY_RECEIPT_KEY": self.receipt_key_file,
            "RIALITY_METRICS_TOKEN": self.metrics_token,
            "RIALITY_LOG_FORMAT": self.log_format,
            "RIALITY_TEAM_SANDBOX_RUNS": str(self.team_sandbox_runs),
            "RIALITY_WORKER_GPUS": str(self.worker_gpus),
            "RIALITY_WORKER_FAKE_GPUS": "1" if self.worker_fake_gpus else "",
            "RIALITY_DB_POOL_SIZE": str(self.db_pool_size),
            "RIALITY_DB_POOL_OVERFLOW": str(self.db_pool_overflow),
            "RIALITY_DB_POOL_TIMEOUT_S": str(self.db_pool_timeout_s),
            "RIALITY_BUNDLE_CHECK_MEMORY_MB": str(self.bundle_check_memory_mb),
            "RIALITY_BUNDLE_CHECK_TIMEOUT_S": str(self.bundle_check_timeout_s),
            **{f"RIALITY_{name.upper()}": str(getattr(self, name)) for name in _THROTTLE_SETTINGS},
        }
