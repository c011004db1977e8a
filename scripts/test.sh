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
# 1. Everything on SQLite, the default everywhere.
.venv/bin/python -m pytest -m "$marker" "$@"
# 2. The same suite again with every test hub on this machine's PostgreSQL (nodes stay on SQLite).
if [ "${MENWEI_SKIP_PG:-}" = 1 ]; then
  echo "PostgreSQL run skipped: MENWEI_SKIP_PG=1"
elif pg_url=$(scripts/pg_test_db.sh); then
  echo "=== again with the hub on PostgreSQL ($pg_url) ==="
  MENWEI_TEST_PG_URL="$pg_url" .venv/bin/python -m pytest -m "$marker" "$@"
else
  echo "PostgreSQL run SKIPPED: no usable PostgreSQL on this machine (see the reason above)" >&2
fi
