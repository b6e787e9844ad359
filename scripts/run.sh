#!/usr/bin/env bash
# `make run`: start the sandbox, build the UI and the app, connect a workspace to the sandbox
# backends (credentials by environment variable, so no keychain is needed) and open the app.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "make run: no display (DISPLAY and WAYLAND_DISPLAY are unset) — Portcullis is a desktop app." >&2
  echo "  Run it from a desktop session, or under a virtual one: xvfb-run -a make run" >&2
  echo "  Headless use: target/debug/portcullis --help (after make test or cargo build -p portcullis-cli)" >&2
  exit 1
fi

scripts/sandbox up
cargo run -q -p xtask -- build-ui
cargo build -q -p portcullis-app -p portcullis-cli

export PORTCULLIS_WORKSPACE="${PORTCULLIS_WORKSPACE:-$ROOT/.cache/workspace}"
eval "$(scripts/sandbox env)"
scripts/connect-sandbox.sh "$PORTCULLIS_WORKSPACE"
echo "make run: opening Portcullis on workspace $PORTCULLIS_WORKSPACE" >&2
exec "$ROOT/target/debug/portcullis-app"
