#!/usr/bin/env bash
# Starts the machine's PostgreSQL cluster (no systemd here) and makes sure the test role exists.
# Prints the SQLAlchemy URL of the server's maintenance database for the test suite.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

read -r version cluster port status _ < <(pg_lsclusters -h | head -n1)
if [ -z "${version:-}" ]; then
    version=$(ls /usr/lib/postgresql | sort -n | tail -n1)
    as_root pg_createcluster "$version" main >/dev/null
    read -r version cluster port status _ < <(pg_lsclusters -h | head -n1)
fi
if [ "$status" != "online" ]; then
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start >&2
fi
for _ in $(seq 1 50); do
    as_root su postgres -c "psql -p $port -qtAc 'select 1'" >/dev/null 2>&1 && break
    sleep 0.2
done
as_root su postgres -c "psql -p $port -qtAc \"DO \\\$\\\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'riality') THEN
    CREATE ROLE riality LOGIN CREATEDB PASSWORD 'riality';
  END IF; END \\\$\\\$;\"" >&2
# The tests drop their databases WITH (FORCE): that must also end an autovacuum worker that happens
# to be in a fresh database, which only pg_signal_backend members may do.
as_root su postgres -c "psql -p $port -qtAc 'GRANT pg_signal_backend TO riality'" >&2
echo "postgresql+asyncpg://riality:riality@127.0.0.1:$port/postgres"
