#!/usr/bin/env bash
# Set everything up and run the whole default test suite (pass --slow for the long fault-injection runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
if [ "${1:-}" = "--slow" ]; then
  shift
  exec .venv/bin/python -m pytest -m slow "$@"
fi
exec .venv/bin/python -m pytest -m "not slow" "$@"
