# Portcullis: two commands do everything on a fresh Debian 12 machine.
#   make run   — install what is missing, start the sandbox, build, open the app connected to it
#   make test  — install what is missing, start the sandbox, run every test, stop the sandbox
# Both are idempotent and quiet when there is nothing to do.

SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: help setup sandbox-up sandbox-down ui app run test lint fmt clean-workspace fuzz fuzz-smoke

help:
	@echo "make run    open Portcullis on the local sandbox (needs a display)"
	@echo "make test   run every test (unit, store, connectors, CLI, desktop UI end to end)"
	@echo "make lint   cargo fmt --check and clippy -D warnings"
	@echo "make fuzz   fuzz every parser of backend data, FUZZ_SECONDS (default 300) or FUZZ_RUNS executions per target"
	@echo "make fuzz-smoke  the same for 10 s per target (CI)"
	@echo "make oracle  who-can vs OpenBao's and PostgreSQL's own authorizers on ORACLE_SEEDS (default 1..50) generated organisations, ORACLE_SIZE=small|large"
	@echo "make bench-audit  audit ingest and search on 1M events vs sqlite3, its floor, grep and DuckDB (long)"
	@echo "make bench-audit-10m  the same on 10M events, one ingest (very long)"
	@echo "make package  the .deb and .rpm in target/package (release build, pinned tauri-cli)"
	@echo "make package-test  install the .deb into a clean Debian 12 root, use it, remove it (long; not in CI)"

setup:
	@scripts/setup.sh

sandbox-up: setup
	@scripts/sandbox up

sandbox-down:
	@scripts/sandbox down

ui: setup
	@cargo run -q -p xtask -- build-ui

app: ui
	@cargo build -q -p portcullis-app -p portcullis-cli

run: setup
	@scripts/run.sh

test: setup
	@scripts/test.sh

lint: setup
	@cargo fmt --all -- --check
	@cargo clippy -q --all-targets -- -D warnings
	@cargo clippy -q -p portcullis-e2e --all-targets -- -D warnings
	@cargo clippy -q -p portcullis-ui --target wasm32-unknown-unknown -- -D warnings
	@# The fuzz crate is a workspace of its own: without this a change to an API it calls is
	@# only seen by the (much longer) instrumented fuzz build.
	@# Checked in the workspace's target dir: the two share most dependencies, so this costs
	@# seconds after the clippy above instead of a second cold check build.
	@env -u CARGO_TARGET_DIR cargo clippy -q --target-dir target --manifest-path fuzz/Cargo.toml --bins -- -D warnings

# Fuzzing (fuzz/, stable toolchain): fails when a target crashes, the input kept in fuzz/artifacts/.
FUZZ_SECONDS ?= 300
# FUZZ_RUNS=N: exactly N executions per target instead of a time budget.
export FUZZ_RUNS
FUZZ_TARGETS ?=

fuzz: setup
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: setup
	@FUZZ_RUNS= scripts/fuzz.sh 10

clean-workspace:
	@rm -rf .cache/workspace

# The longer oracle run (make test runs seeds 1 and 2): throwaway servers per seed, reports in
# artifacts/oracle-seed-N.txt and the organisation in artifacts/oracle-seed-N.org.json.
ORACLE_SEEDS ?= 1..50
ORACLE_SIZE ?= small
.PHONY: oracle
oracle: setup
	@cargo build -q -p portcullis-cli
	@PORTCULLIS_ORACLE_SEEDS=$(ORACLE_SEEDS) PORTCULLIS_ORACLE_SIZE=$(ORACLE_SIZE) \
	  cargo test -q -p portcullis-e2e --test oracle_sandbox -- --nocapture

# Audit ingest and search (crates/engine/benches/audit.rs): ours against the sqlite3 shell, its
# floor, grep and DuckDB (pinned, installed into .cache/venv-duckdb by scripts/bench-duckdb.sh).
.PHONY: bench-audit bench-audit-10m
bench-audit: setup  ## 1M events: ingest (10 runs) vs baseline and floor, searches, DuckDB side by side
	@cargo bench -q -p portcullis-engine --bench audit

bench-audit-10m: setup  ## 10M events: one ingest, baseline and floor, then the searches and DuckDB
	@AUDIT_BENCH_EVENTS=10000000 AUDIT_BENCH_ONCE=1 AUDIT_BENCH_RUNS=100 \
	  cargo bench -q -p portcullis-engine --bench audit

.PHONY: bench-journal
bench-journal: setup  ## journal commit latency during a 1M-event import vs idle (JOURNAL_BENCH_EVENTS=N)
	@cargo bench -q -p portcullis-engine --bench journal_under_import

# Packages (scripts/package.sh): .deb and .rpm in target/package. Release builds: not part of CI.
.PHONY: package package-test
package: setup
	@scripts/package.sh

# The .deb installed, used (CLI, man, completions, the app over WebDriver) and purged in a clean
# Debian 12 root (scripts/package-test.sh). Long: not part of CI.
package-test: package
	@scripts/package-test.sh
