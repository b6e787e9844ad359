#!/usr/bin/env bash
# Runs CMD... inside a private D-Bus session with a fresh, unlocked gnome-keyring, so tests can use
# the OS keychain without touching (or being blocked by) the real one.
#
#   tests/with-keyring.sh xvfb-run -a -s "-screen 0 1280x800x24" cargo test -p portcullis-e2e
#
# HOME and XDG_* point at a throwaway folder (a HOME holding a locked keyring makes the daemon
# prompt); CARGO_HOME and RUSTUP_HOME keep pointing at the real toolchain. The keyring password
# must not be empty, or storing fails with "Object does not exist at path .../collection/login".
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

if [ -z "${PORTCULLIS_KEYRING_INNER:-}" ]; then
  for tool in dbus-run-session gnome-keyring-daemon; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is missing (apt-get install dbus gnome-keyring)" >&2; exit 1; }
  done
  export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
  scratch="$(mktemp -d "${TMPDIR:-/tmp}/portcullis-keyring.XXXXXX")"
  trap 'rm -rf "$scratch"' EXIT
  export HOME="$scratch/home" XDG_DATA_HOME="$scratch/home/.local/share" \
    XDG_CONFIG_HOME="$scratch/home/.config" XDG_CACHE_HOME="$scratch/home/.cache" \
    XDG_RUNTIME_DIR="$scratch/run"
  mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
  chmod 700 "$XDG_RUNTIME_DIR"
  status=0
  PORTCULLIS_KEYRING_INNER=1 dbus-run-session -- "$0" "$@" || status=$?
  exit "$status"
fi

# Inside the private session: start the secrets component and unlock (creating) the login keyring.
eval "$(printf '%s' "portcullis-test-keyring" | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL PORTCULLIS_TEST_KEYRING=1
status=0
"$@" || status=$?
# The daemon is ours alone (started in this session): stop it by its control socket's owner.
if [ -n "${GNOME_KEYRING_CONTROL:-}" ]; then
  pid="$(fuser "$GNOME_KEYRING_CONTROL/control" 2>/dev/null | tr -d ' ' || true)"
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
fi
exit "$status"
