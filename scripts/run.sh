#!/usr/bin/env bash
# The platform: set up what is missing, then start API + worker + Redis + SQLite with the example challenges.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Model and code submissions need Docker and the runtime image; prediction files work without them.
if bash scripts/docker.sh && .venv/bin/riality image build --offline; then
    echo "run: the sandbox is ready for model and code submissions"
else
    echo "run: no Docker sandbox; model and code uploads will be refused with the reason" >&2
fi
exec .venv/bin/riality up "$@"
