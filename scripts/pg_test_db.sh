#!/usr/bin/env bash
# Start this machine's PostgreSQL (Debian cluster 15/main, stopped on a fresh image) and make sure the
# test role and database exist. Prints the SQLAlchemy URL; exits 1 with a reason if it cannot.
set -uo pipefail
url="postgresql+psycopg://menwei:menwei@127.0.0.1:5432/menwei_test"
if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "PostgreSQL is not installed here (no pg_lsclusters)" >&2; exit 1
fi
cluster=$(pg_lsclusters --no-header 2>/dev/null | awk 'NR==1 {print $1" "$2}')
if [ -z "$cluster" ]; then
  echo "no PostgreSQL cluster on this machine" >&2; exit 1
fi
if ! pg_lsclusters --no-header | awk 'NR==1 {print $4}' | grep -q online; then
  pg_ctlcluster $cluster start >&2 || { echo "could not start PostgreSQL cluster $cluster" >&2; exit 1; }
fi
psql_as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -c "psql -v ON_ERROR_STOP=1 -q -c \"$1\""; else sudo -n -u postgres psql -v ON_ERROR_STOP=1 -q -c "$1"; fi
}
for _ in $(seq 1 30); do psql_as_postgres "SELECT 1" >/dev/null 2>&1 && break; sleep 1; done
psql_as_postgres "DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'menwei') THEN CREATE ROLE menwei LOGIN PASSWORD 'menwei'; END IF; END \\\$\\\$;" >&2 \
  || { echo "could not create the menwei role" >&2; exit 1; }
if ! su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname = 'menwei_test'\"" 2>/dev/null | grep -q 1; then
  psql_as_postgres "CREATE DATABASE menwei_test OWNER menwei" >&2 || { echo "could not create menwei_test" >&2; exit 1; }
fi
echo "$url"
