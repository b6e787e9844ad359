#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser of backend data (fuzz/, cargo-fuzz + libFuzzer) on the
# stable toolchain: `--sanitizer none` needs no nightly. Usage:
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      (default 300 s, every target)
# Installs cargo-fuzz (pinned, crates.io) if missing, builds all targets once (release, debug
# assertions and overflow checks on), runs each on fuzz/corpus/<target> (committed seed-* files
# plus what libFuzzer adds, ignored by git), prints executions, coverage and crashes per target,
# and exits non-zero when any target crashed, leaving the input in fuzz/artifacts/<target>/.
# FUZZ_RUNS=N runs each target for exactly N executions instead (no time limit), e.g. the
# 10-million-execution goal: FUZZ_RUNS=10000000 scripts/fuzz.sh 0 keycloak_reps
# Reproduce one: cargo fuzz run --sanitizer none -O -a <target> fuzz/artifacts/<target>/<file>
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
# The fuzz crate has its own target dir (fuzz/target): its instrumented build must not share or
# invalidate the workspace's.
unset CARGO_TARGET_DIR

CARGO_FUZZ_VERSION=0.13.2
FLAGS=(--sanitizer none -O -a)
SECONDS_PER_TARGET="${1:-300}"
shift || true

log() { echo "fuzz: $*" >&2; }

if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --quiet || exit 1
fi

if [ $# -gt 0 ]; then
  TARGETS=("$@")
else
  mapfile -t TARGETS < <(cargo fuzz list --fuzz-dir fuzz)
fi

log "building ${#TARGETS[@]} targets"
build_start=$SECONDS
cargo fuzz build "${FLAGS[@]}" --fuzz-dir fuzz || { log "build failed"; exit 1; }
log "built in $((SECONDS - build_start)) s"

LOG_DIR="$ROOT/fuzz/logs"
mkdir -p "$LOG_DIR"
failed=()
summary=()
for t in "${TARGETS[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  if [ -n "${FUZZ_RUNS:-}" ]; then
    budget=(-runs="$FUZZ_RUNS")
    log "$t: $FUZZ_RUNS executions"
  else
    budget=(-max_total_time="$SECONDS_PER_TARGET")
    log "$t: ${SECONDS_PER_TARGET} s"
  fi
  # -timeout: one input taking this long is a hang, reported like a crash.
  cargo fuzz run "${FLAGS[@]}" --fuzz-dir fuzz "$t" "fuzz/corpus/$t" -- \
    "${budget[@]}" -timeout=30 -rss_limit_mb=2048 \
    -print_final_stats=1 -close_fd_mask=1 >"$LOG_DIR/$t.log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$LOG_DIR/$t.log" | tail -1 | grep -o '[0-9]*$')
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$LOG_DIR/$t.log" | tail -1 | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$LOG_DIR/$t.log" | tail -1)
  corpus=$(grep -o 'corp: [0-9]*/[0-9a-zA-Z]*' "$LOG_DIR/$t.log" | tail -1)
  if [ $rc -ne 0 ]; then
    failed+=("$t")
    artifact=$(grep -o 'Test unit written to [^ ]*' "$LOG_DIR/$t.log" | tail -1 | sed 's/Test unit written to //')
    summary+=("$(printf '%-24s %12s execs %8s/s  %-22s %-14s CRASH %s' "$t" "${execs:-?}" "${speed:-?}" "${cov:-}" "${corpus:-}" "${artifact:-(see fuzz/logs/$t.log)}")")
    grep -m1 -A12 -E '^thread .* panicked|ERROR: libFuzzer|deadly signal' "$LOG_DIR/$t.log" >&2 || tail -20 "$LOG_DIR/$t.log" >&2
  else
    summary+=("$(printf '%-24s %12s execs %8s/s  %-22s %-14s ok' "$t" "${execs:-?}" "${speed:-?}" "${cov:-}" "${corpus:-}")")
  fi
done

echo
echo "target                          executions    per s  coverage               corpus         result"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashes: ${#failed[@]} (${failed[*]}); inputs in fuzz/artifacts/, logs in fuzz/logs/"
  exit 1
fi
echo "crashes: 0"
