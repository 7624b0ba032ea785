"""How often the worker tries again: the three budgets, in one place because they must agree.

- JOB_TRIES: one delivered job retries our own failures (database, files, Docker) this often, with
  a growing delay, before the submission is failed as `internal` (runner.jobs.evaluate).
- RECONCILER_ATTEMPTS: a submission claimed this often (its `attempts` column, counted across every
  delivery: the upload's job and each reconciler round) is failed instead of re-enqueued again.
- ARQ_MAX_TRIES: arq's own cap on one job; above JOB_TRIES so that our policy always decides first
  and arq never drops a job silently.
"""

from __future__ import annotations

JOB_TRIES = 5
RECONCILER_ATTEMPTS = 5
ARQ_MAX_TRIES = 2 * JOB_TRIES
