#!/usr/bin/env bash
# Quick start, command 2: install what is needed, then run every test (lint and types included)
# twice: with the default SQLite catalogue, then with every vault's catalogue on a PostgreSQL
# server the tests start themselves (tests/pgcluster.py; lint and types are not run again).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== the tests, catalogue on SQLite"
.venv/bin/python -m pytest "$@"
echo "== the tests again, catalogue on PostgreSQL"
DALIL_TEST_CATALOG=postgresql .venv/bin/python -m pytest --ignore=tests/test_quality.py "$@"
