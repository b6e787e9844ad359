#!/usr/bin/env bash
# `make package-test`: the .deb installed into a clean Debian 12 root, used, and removed.
#
#  1. A minimal Debian 12 root by debootstrap from the Debian mirror this machine's apt uses,
#     plus man-db (cached as a tarball in .cache/package-test; every run unpacks a fresh copy).
#  2. `dpkg -i` the package (it stops at the unmet dependencies), `apt-get -f install` resolves
#     them, and the package must end up installed.
#  3. `portcullis --version` names this checkout's version, `man -w portcullis` finds the page, the
#     bash completion loads, the systemd user units verify, the desktop entry validates.
#  4. Xvfb, WebKitWebDriver and tauri-driver (test tools, installed after the package so they
#     cannot mask a missing dependency) run inside the root; the e2e test `installed_package`
#     drives the installed /usr/bin/portcullis-app from outside to its welcome page and About box.
#  5. `dpkg --purge`: no file of the package may be left behind.
# Then lintian on the .deb (report only). Needs root (chroot, mounts). Not part of CI: it is long.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

WORK="$ROOT/.cache/package-test"
BASE="$WORK/bookworm-base.tar"
R="$WORK/root"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
mkdir -p "$WORK" "$ROOT/artifacts"
LOG="$ROOT/artifacts/package-test.log"
: >"$LOG"

step() { echo "== $*" >&2; }
fail() { echo "package-test: FAILED: $*" >&2; exit 1; }
ROOT_ENV=(HOME=/root LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive)
in_root() { chroot "$R" /usr/bin/env -i "${ROOT_ENV[@]}" "$@"; }
# For `bg_in_root … &`: exec, so that $! is the process itself and killing it stops it.
bg_in_root() { exec chroot "$R" /usr/bin/env -i "${ROOT_ENV[@]}" "$@"; }

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot, mounts)"
DEB="$(ls -t target/package/*.deb 2>/dev/null | head -1 || true)"
[ -n "$DEB" ] || fail "no package in target/package: run make package first"
VERSION="$(dpkg-deb -f "$DEB" Version)"
PKG="$(dpkg-deb -f "$DEB" Package)"
step "testing $DEB ($PKG $VERSION)"

need=()
for p in debootstrap lintian desktop-file-utils; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  step "installing host tools: ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >>"$LOG"
fi

# ---- the root and its mounts; everything mounted is unmounted before the root is deleted ----
MOUNTS=()
DRIVER_PID="" XVFB_PID=""
cleanup() {
  set +e
  [ -n "$DRIVER_PID" ] && kill -TERM "$DRIVER_PID" 2>/dev/null && wait "$DRIVER_PID" 2>/dev/null
  [ -n "$XVFB_PID" ] && kill -TERM "$XVFB_PID" 2>/dev/null && wait "$XVFB_PID" 2>/dev/null
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount "${MOUNTS[$i]}" 2>/dev/null || umount -l "${MOUNTS[$i]}"; done
  MOUNTS=()
}
trap cleanup EXIT
mount_in() { # type-or-bind source target
  mkdir -p "$3"
  if [ "$1" = bind ]; then mount --bind "$2" "$3"; else mount -t "$1" "$2" "$3"; fi
  MOUNTS+=("$3")
}
fresh_root() {
  if findmnt -rn -o TARGET | grep -q "^$R/"; then fail "something is still mounted under $R"; fi
  rm -rf --one-file-system "$R"
  mkdir -p "$R"
}

if [ ! -s "$BASE" ]; then
  step "debootstrap $SUITE (minbase) from $MIRROR — once, then cached in $BASE"
  fresh_root
  debootstrap --variant=minbase "$SUITE" "$R" "$MIRROR" >>"$LOG" 2>&1 || fail "debootstrap (see $LOG)"
  cat >"$R/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
  mount_in proc proc "$R/proc"
  cp /etc/resolv.conf "$R/etc/resolv.conf"
  in_root apt-get update -qq >>"$LOG" 2>&1
  # man-db answers `man -w`; it is what a desktop has, not a dependency of the package.
  in_root apt-get install -y -qq --no-install-recommends man-db >>"$LOG" 2>&1 || fail "man-db in the root (see $LOG)"
  in_root apt-get clean
  cleanup
  tar -C "$R" -cf "$BASE.tmp" . && mv "$BASE.tmp" "$BASE"
fi

step "a fresh Debian $SUITE root from $BASE"
fresh_root
tar -C "$R" -xf "$BASE"
mount_in proc proc "$R/proc"
mount_in sysfs sys "$R/sys"
mount_in bind /dev "$R/dev"
mount_in devpts devpts "$R/dev/pts"
mount_in tmpfs tmpfs "$R/dev/shm"
cp /etc/resolv.conf "$R/etc/resolv.conf"
in_root apt-get update -qq >>"$LOG" 2>&1 || fail "apt-get update in the root (see $LOG)"

step "dpkg -i, then apt-get -f install for the dependencies"
cp "$DEB" "$R/tmp/pkg.deb"
if in_root dpkg -i /tmp/pkg.deb >>"$LOG" 2>&1; then
  echo "  dpkg -i succeeded on its own (every dependency was already there)" >&2
else
  echo "  dpkg -i stopped at unmet dependencies, as expected in a bare root" >&2
fi
in_root apt-get -f install -y -qq --no-install-recommends >>"$LOG" 2>&1 || fail "apt-get -f install (see $LOG)"
in_root dpkg-query -W -f='${Status}\n' "$PKG" | grep -qx "install ok installed" || fail "$PKG is not installed after apt-get -f install"
echo "  installed: $(in_root dpkg-query -W -f='${Package} ${Version}, depends: ${Depends}' "$PKG")" >&2

step "the CLI, its manual, completions, units and desktop entry"
got="$(in_root portcullis --version)"
[ "$got" = "portcullis $VERSION" ] || fail "portcullis --version said '$got', not 'portcullis $VERSION'"
echo "  $got" >&2
page="$(in_root man -w portcullis)" || fail "man -w portcullis found no page"
echo "  man -w portcullis: $page" >&2
in_root man -w portcullis-review-run >/dev/null || fail "no page for portcullis review run"
# groff renders roff's `\-` as U+2212 in a UTF-8 locale: look for the part after the hyphen.
in_root sh -c 'MANWIDTH=80 man portcullis 2>/dev/null' | grep -q "review(1)" || fail "portcullis(1) does not render or list portcullis-review(1)"
in_root apt-get install -y -qq --no-install-recommends bash-completion >>"$LOG" 2>&1
in_root bash -c 'source /usr/share/bash-completion/completions/portcullis && complete -p portcullis' >/dev/null ||
  fail "the bash completion does not load"
for f in /usr/share/zsh/vendor-completions/_portcullis /usr/share/fish/vendor_completions.d/portcullis.fish \
  /usr/lib/systemd/user/portcullis-review.service /usr/lib/systemd/user/portcullis-review.timer; do
  [ -s "$R$f" ] || fail "$f missing"
done
desktop="$(in_root dpkg -L "$PKG" | grep '^/usr/share/applications/.*\.desktop$')" || fail "no desktop entry"
desktop-file-validate "$R$desktop" || fail "$desktop does not validate"
icons="$(in_root dpkg -L "$PKG" | grep -c '^/usr/share/icons/hicolor/.*/apps/.*\.png$')"
echo "  desktop entry $desktop, $icons icon sizes" >&2
in_root apt-get install -y -qq --no-install-recommends systemd >>"$LOG" 2>&1
in_root sh -c 'mkdir -p /run/user/0 && chmod 700 /run/user/0 && XDG_RUNTIME_DIR=/run/user/0 systemd-analyze verify --user /usr/lib/systemd/user/portcullis-review.service /usr/lib/systemd/user/portcullis-review.timer' ||
  fail "the systemd user units do not verify"

step "the installed app under Xvfb, driven over WebDriver to its welcome page"
in_root apt-get install -y -qq --no-install-recommends xvfb xauth webkit2gtk-driver >>"$LOG" 2>&1 || fail "test tools in the root (see $LOG)"
TAURI_DRIVER="$(command -v tauri-driver || echo "$HOME/.cargo/bin/tauri-driver")"
[ -x "$TAURI_DRIVER" ] || fail "tauri-driver not found on this machine (scripts/setup.sh installs it)"
install -m 0755 "$TAURI_DRIVER" "$R/usr/local/bin/tauri-driver"
DISPLAY_NO=77
# Abstract X sockets are per network namespace, which the root shares with this machine.
while [ -e "/tmp/.X11-unix/X$DISPLAY_NO" ] || grep -q "@/tmp/.X11-unix/X$DISPLAY_NO\$" /proc/net/unix; do
  DISPLAY_NO=$((DISPLAY_NO + 1))
done
bg_in_root Xvfb ":$DISPLAY_NO" -screen 0 1280x800x24 -nolisten tcp >>"$LOG" 2>&1 &
XVFB_PID=$!
for _ in $(seq 200); do [ -S "$R/tmp/.X11-unix/X$DISPLAY_NO" ] && break; kill -0 "$XVFB_PID" 2>/dev/null || fail "Xvfb exited (see $LOG)"; sleep 0.1; done
[ -S "$R/tmp/.X11-unix/X$DISPLAY_NO" ] || fail "Xvfb did not open display :$DISPLAY_NO"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT="$(free_port)"; NATIVE_PORT="$(free_port)"
WORKSPACE=/root/.local/share/portcullis
bg_in_root env DISPLAY=":$DISPLAY_NO" tauri-driver --port "$PORT" --native-port "$NATIVE_PORT" \
  --native-driver /usr/bin/WebKitWebDriver >"$ROOT/artifacts/package-test-driver.log" 2>&1 &
DRIVER_PID=$!
for _ in $(seq 200); do
  (exec 3<>"/dev/tcp/127.0.0.1/$NATIVE_PORT") 2>/dev/null && break
  kill -0 "$DRIVER_PID" 2>/dev/null || fail "tauri-driver exited (see artifacts/package-test-driver.log)"
  sleep 0.1
done
export PORTCULLIS_PKG_DRIVER_URL="http://127.0.0.1:$PORT" PORTCULLIS_PKG_APP=/usr/bin/portcullis-app
export PORTCULLIS_PKG_WORKSPACE="$WORKSPACE"
cargo test -q -p portcullis-e2e --test installed_package -- --ignored --test-threads=1 2>&1 | tee -a "$LOG" ||
  fail "the installed app did not reach its welcome page (see artifacts/package-test-*.log)"
kill -TERM "$DRIVER_PID"; wait "$DRIVER_PID" 2>/dev/null || true; DRIVER_PID=""
kill -TERM "$XVFB_PID"; wait "$XVFB_PID" 2>/dev/null || true; XVFB_PID=""
[ -f "$R$WORKSPACE/cache.db" ] || fail "the app did not open its workspace at $WORKSPACE"

step "dpkg --purge: nothing of the package left"
in_root dpkg -L "$PKG" | sort >"$WORK/files"
in_root dpkg --purge "$PKG" >>"$LOG" 2>&1 || fail "dpkg --purge $PKG"
in_root dpkg-query -W -f='${Status}\n' "$PKG" 2>/dev/null | grep -q "installed" && fail "$PKG still installed"
left=()
while read -r f; do
  [ -n "$f" ] && [ -e "$R$f" ] && [ ! -d "$R$f" ] && left+=("$f")
done <"$WORK/files"
[ ${#left[@]} -eq 0 ] || fail "left behind after purge: ${left[*]}"
echo "  $(wc -l <"$WORK/files") paths removed; the user's workspace ($WORKSPACE) is the user's and stays" >&2
cleanup
fresh_root

step "lintian"
lintian --no-tag-display-limit --info "$DEB" >"$ROOT/artifacts/lintian.txt" 2>&1 || true
grep -E '^[EW]: ' "$ROOT/artifacts/lintian.txt" | sed 's/^/  /' >&2 || echo "  no errors or warnings" >&2
echo "package-test: passed ($PKG $VERSION)" >&2
