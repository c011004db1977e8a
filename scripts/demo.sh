#!/usr/bin/env bash
# Set everything up and start the demo: a seeded hub and two syncing gate nodes. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/menwei demo "$@"
