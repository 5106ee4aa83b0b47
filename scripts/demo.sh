#!/usr/bin/env bash
# One pass of ops-watch on the embedded default: SQLite under ./var, the sample evidence of examples/
# copied into the drop folder, the local host measured with psutil, email written as .eml files.
# ./var is the demo's own state and is started afresh each time, so the demo always shows the same story.
set -euo pipefail
cd "$(dirname "$0")/.."
OPS_WATCH=${OPS_WATCH:-.venv/bin/ops-watch}

rm -rf var
mkdir -p var/drop
cp -r examples/. var/drop/
# The drop folder leaves files alone while they may still be being written (modified in the last seconds).
find var/drop -type f -exec touch -d '1 minute ago' {} +
echo "ops-watch demo: evidence from examples/ copied to var/drop/; running the main job once"
echo
"$OPS_WATCH" --config config.example.toml --log-level warning run --once
echo
echo "Next: .venv/bin/ops-watch --config config.example.toml findings list --status all"
echo "      .venv/bin/ops-watch --config config.example.toml findings show 1"
