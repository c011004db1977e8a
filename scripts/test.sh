#!/usr/bin/env bash
# Set everything up and run the whole default test suite (pass --slow for the long fault-injection runs).
# Under CI=true nothing may be missing: PostgreSQL, Chromium, a CJK font and Playwright are installed and
# started when this script can (it runs as root with apt in CI), and the run stops red when they cannot.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${CI:-}" in 1|true|TRUE|True|yes) ci=1 ;; *) ci="" ;; esac
export CI="${CI:-}"
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_install() {
  echo "installing $* …"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >/dev/null
}
# Outside CI a missing part only warns (pytest's skip messages then name it and how to get it); in CI it is fatal.
missing() {
  if [ -n "$ci" ]; then
    echo "CI=true: $1 — stopping (nothing may be skipped in CI)" >&2
    exit 1
  fi
  echo "warning: $1; the tests that need it will skip" >&2
}
scripts/bootstrap.sh
# Browser tests drive Debian's Chromium (never a downloaded browser) and need a CJK font to render the desk.
chromium=${MENWEI_CHROMIUM:-/usr/bin/chromium}
have_font() { fc-list :lang=zh family 2>/dev/null | grep -q .; }
if { [ ! -x "$chromium" ] || ! have_font; } && can_apt; then
  apt_install chromium fonts-wqy-microhei fontconfig || true
fi
[ -x "$chromium" ] || missing "Chromium is not at $chromium (apt-get install chromium, or set MENWEI_CHROMIUM)"
have_font || missing "no CJK font (apt-get install fonts-wqy-microhei)"
.venv/bin/python -c "import playwright.sync_api" 2>/dev/null \
  || missing "Playwright is not importable in .venv (pip install -e '.[test]')"
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
  [ -z "$ci" ] || missing "MENWEI_SKIP_PG=1 would drop the PostgreSQL pass"
  echo "PostgreSQL run skipped: MENWEI_SKIP_PG=1"
else
  if ! command -v pg_lsclusters >/dev/null 2>&1 && ! dpkg -s postgresql >/dev/null 2>&1 && can_apt; then
    apt_install postgresql || true
  fi
  if ! pg_url=$(scripts/pg_test_db.sh); then
    pg_url=""
    missing "no usable PostgreSQL on this machine (reason above; scripts/pg_test_db.sh starts and prepares it)"
    echo "PostgreSQL run SKIPPED" >&2
  fi
fi
# pytest's exit status 5 means it ran no test at all: a failure here, never a pass.
run_pytest() {
  local status=0
  "$@" || status=$?
  [ $status -ne 5 ] || echo "pytest collected no tests ($*)" >&2
  return $status
}
sqlite_pass() { run_pytest .venv/bin/python -m pytest -m "$marker" "$@"; }
pg_pass() {
  MENWEI_TEST_PG_URL="$pg_url" run_pytest .venv/bin/python -m pytest -p no:cacheprovider --basetemp="$pg_tmp" \
    -m "$marker" "$@"
}
if [ -z "$pg_url" ]; then
  sqlite_pass "$@"
  exit
fi
pg_tmp=$(mktemp -d -t menwei-pg-tests.XXXXXX)
sqlite_status=0
pg_status=0
if [ "$marker" = slow ] || [ "${MENWEI_TEST_SERIAL:-}" = 1 ]; then
  sqlite_pass "$@" || sqlite_status=$?
  echo "=== again with the hub on PostgreSQL ($pg_url) ==="
  pg_pass "$@" || pg_status=$?
else
  pg_log="$pg_tmp.log"
  pg_pass "$@" >"$pg_log" 2>&1 &
  pg_pid=$!
  trap 'kill $pg_pid 2>/dev/null || true' INT TERM
  sqlite_pass "$@" || sqlite_status=$?
  echo "=== again with the hub on PostgreSQL ($pg_url), run alongside: its output ==="
  wait $pg_pid || pg_status=$?
  cat "$pg_log"
  rm -f "$pg_log"
fi
rm -rf "$pg_tmp"
if [ $sqlite_status -ne 0 ] || [ $pg_status -ne 0 ]; then
  echo "FAILED: SQLite pass exit $sqlite_status, PostgreSQL pass exit $pg_status" >&2
  exit 1
fi
