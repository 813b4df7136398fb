#!/usr/bin/env bash
# Quick start: set up, migrate a SQLite database, load demo data, print the login, serve.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export KEHU_INSTANCE_PATH=${KEHU_INSTANCE_PATH:-$PWD/instance}
.venv/bin/kehu demo
exec .venv/bin/kehu serve --host 127.0.0.1 --port "${PORT:-5000}"
