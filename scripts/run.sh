#!/usr/bin/env bash
# The platform: set up what is missing, then start API + worker + Redis + SQLite with the example challenges.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/riality up "$@"
