#!/usr/bin/env bash
# Set everything up and run the whole default test suite (pass --slow for the long fault-injection runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
# Browser tests drive Debian's Chromium (never a downloaded browser) and need a CJK font to render
# the desk; install both when missing and we are allowed to.
if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy"; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium and fonts-wqy-microhei for the browser tests…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
  else
    echo "warning: chromium or a CJK font is missing and cannot be installed here; browser tests will skip" >&2
  fi
fi
marker="not slow"
if [ "${1:-}" = "--slow" ]; then
  shift
  marker="slow"
fi
# 1. Everything on SQLite, the default everywhere; 2. the same suite again with every test hub on this
# machine's PostgreSQL (nodes stay on SQLite). The default run does both side by side (each is mostly
# one busy core), printing the PostgreSQL pass after the SQLite one; --slow runs them one after the
# other, as MENWEI_TEST_SERIAL=1 does, so the fault-injection figures are not measured on a shared CPU.
pg_url=""
if [ "${MENWEI_SKIP_PG:-}" = 1 ]; then
  echo "PostgreSQL run skipped: MENWEI_SKIP_PG=1"
elif ! pg_url=$(scripts/pg_test_db.sh); then
  pg_url=""
  echo "PostgreSQL run SKIPPED: no usable PostgreSQL on this machine (see the reason above)" >&2
fi
pg_pass() {
  MENWEI_TEST_PG_URL="$pg_url" .venv/bin/python -m pytest -p no:cacheprovider --basetemp="$pg_tmp" -m "$marker" "$@"
}
if [ -z "$pg_url" ]; then
  exec .venv/bin/python -m pytest -m "$marker" "$@"
fi
pg_tmp=$(mktemp -d -t menwei-pg-tests.XXXXXX)
if [ "$marker" = slow ] || [ "${MENWEI_TEST_SERIAL:-}" = 1 ]; then
  .venv/bin/python -m pytest -m "$marker" "$@"
  echo "=== again with the hub on PostgreSQL ($pg_url) ==="
  pg_pass "$@"
  exit
fi
pg_log="$pg_tmp.log"
pg_pass "$@" >"$pg_log" 2>&1 &
pg_pid=$!
trap 'kill $pg_pid 2>/dev/null || true' INT TERM
set +e
.venv/bin/python -m pytest -m "$marker" "$@"
sqlite_status=$?
echo "=== again with the hub on PostgreSQL ($pg_url), run alongside: its output ==="
wait $pg_pid
pg_status=$?
set -e
cat "$pg_log"
rm -rf "$pg_tmp" "$pg_log"
if [ $sqlite_status -ne 0 ] || [ $pg_status -ne 0 ]; then
  echo "FAILED: SQLite pass exit $sqlite_status, PostgreSQL pass exit $pg_status" >&2
  exit 1
fi
