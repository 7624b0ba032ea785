#!/usr/bin/env bash
# The test suite: set up what is missing, lint, then run every test on SQLite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/docker.sh --gvisor  # the hostile-code tests run under runc and under gVisor
.venv/bin/riality image build --offline   # no registry here; a no-op when the image is current
RIALITY_TEST_POSTGRES_URL=$(bash scripts/postgres.sh)
export RIALITY_TEST_POSTGRES_URL
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest --durations=30 "$@"  # the 30 slowest: where the time goes
