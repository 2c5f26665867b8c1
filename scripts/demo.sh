#!/usr/bin/env bash
# Quick start, command 1: install what is needed, then generate and ingest the sample collection.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/dalil demo "$@"
