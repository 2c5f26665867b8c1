#!/usr/bin/env bash
# Quick start, command 2: install what is needed, then run every test (lint and types included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
