#!/usr/bin/env bash
# `make test`: every test, against a fresh sandbox of its own (own state dir and ports, so a
# sandbox opened by `make run` is left alone), stopped again whatever happens.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

export PORTCULLIS_SANDBOX_DIR="$ROOT/.cache/sandbox-test"
export PORTCULLIS_OIDC_PORT="${PORTCULLIS_TEST_OIDC_PORT:-9401}"
export PORTCULLIS_BAO_PORT="${PORTCULLIS_TEST_BAO_PORT:-8201}"
export PORTCULLIS_PG_PORT="${PORTCULLIS_TEST_PG_PORT:-55433}"
export PORTCULLIS_MOTO_PORT="${PORTCULLIS_TEST_MOTO_PORT:-5051}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p artifacts

step() { echo "== $*" >&2; }

cleanup() { scripts/sandbox down >/dev/null 2>&1 || true; }
trap cleanup EXIT

step "fresh sandbox"
scripts/sandbox down >/dev/null 2>&1 || true
scripts/sandbox up

step "build UI and app"
cargo run -q -p xtask -- build-ui
cargo build -q -p portcullis-app -p portcullis-cli

step "unit, store, connector and CLI tests"
cargo test -q --workspace --exclude portcullis-e2e --exclude portcullis-ui 2>&1 | tee artifacts/unit-tests.log
cargo test -q -p portcullis-ui 2>&1 | tee -a artifacts/unit-tests.log

step "sandbox and desktop end-to-end tests (Xvfb + tauri-driver + WebKitWebDriver, keychain in a private D-Bus session)"
tests/with-keyring.sh xvfb-run -a -s "-screen 0 1280x800x24" \
  cargo test -q -p portcullis-e2e -- --test-threads=1 2>&1 | tee artifacts/e2e-tests.log
