#!/usr/bin/env bash
# Create .venv with Python 3.11+ if needed and install Menwei with its test extra (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.menwei-installed
if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  log=.venv/install.log
  if ! { .venv/bin/python -m pip install --quiet --upgrade pip && .venv/bin/python -m pip install --quiet -e '.[test]'; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "installing Menwei failed (log above, also in $log)" >&2
    exit 1
  fi
  touch "$stamp"
fi
