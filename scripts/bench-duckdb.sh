#!/usr/bin/env bash
# Installs DuckDB (PyPI, pinned) into a venv of its own for the audit bench's side-by-side anchor
# (crates/engine/benches/audit.rs, `make bench-audit`), idempotently, and prints the venv's python.
# The bench runs that python with a small script of its own; nothing else uses DuckDB.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DUCKDB_VERSION=2.0.0
VENV="$ROOT/.cache/venv-duckdb"
if ! "$VENV/bin/python" -c "import duckdb, sys; sys.exit(duckdb.__version__ != '$DUCKDB_VERSION')" 2>/dev/null; then
  echo "bench-duckdb: installing duckdb $DUCKDB_VERSION into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "duckdb==$DUCKDB_VERSION" >&2
fi
echo "$VENV/bin/python"
