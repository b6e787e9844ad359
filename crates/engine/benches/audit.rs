//! Audit browser speed on 1,000,000 generated events (`make bench-audit`; 10,000,000 with
//! `make bench-audit-10m`), with the baselines measured in the same run:
//!
//! - ingest: `Workspace::import_audit` of a node-oidc-provider event log (JSON lines: parse,
//!   normalise, insert, every index and the full-text index) into a fresh workspace, against the
//!   `sqlite3` shell importing the same rows as CSV into the same table and indexes, then
//!   building the same full-text index (`rebuild`), and against the floor: the shell's CSV
//!   import into the bare table with only the dedup key;
//! - search: the first page of filtered searches, a pivot and timelines (median and p99 over
//!   many runs, varying the actor), the highlights, against `grep -c` of the actor over the same
//!   JSON lines;
//! - DuckDB as an anchor: the same JSON lines loaded by DuckDB (pinned, installed by
//!   `scripts/bench-duckdb.sh`) and the same first pages and timelines
//!   (`common/duckdb_anchor.py`), with the ratios.
//!
//! Knobs: `AUDIT_BENCH_EVENTS` (default 1,000,000); `AUDIT_BENCH_QUICK=1` one ingest, one
//! baseline and one floor run, nothing else; `AUDIT_BENCH_ONCE=1` the same, then the searches;
//! `AUDIT_BENCH_SEARCH_ONLY=1` reuse the events and
//! workspace of a previous run; `AUDIT_BENCH_RUNS` runs per search (500);
//! `AUDIT_BENCH_DUCKDB=0` no DuckDB, `AUDIT_BENCH_DUCKDB_RUNS` its runs per query (30). Figures
//! are printed at the end as tables with the ratios; criterion keeps its own report too.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portcullis_engine::{CancellationToken, Workspace};
use portcullis_model::{AuditFormat, BackendKind, CredentialRef, Progress};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

mod common;
use common::{generate, EVENTS, SCOPES};

fn events() -> usize {
    std::env::var("AUDIT_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn work_dir() -> PathBuf {
    let d = std::env::temp_dir().join("portcullis-audit-bench");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn quiet(_: Progress) {}

/// CPU seconds (user + system) of this process, or of its waited-for children.
fn cpu(who: libc::c_int) -> f64 {
    // SAFETY: getrusage fills the struct it is given; a zeroed rusage is a valid value.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut u) } != 0 {
        return 0.0;
    }
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

/// Imports `log` into a fresh workspace at `dir`; returns the seconds the import took, wall
/// clock and CPU (both threads).
fn ingest(rt: &tokio::runtime::Runtime, dir: &Path, log: &Path) -> (f64, f64) {
    let _ = std::fs::remove_dir_all(dir);
    rt.block_on(async {
        let ws = Workspace::open(dir).await.unwrap();
        ws.store()
            .insert_backend(
                "oidc",
                BackendKind::Oauth2,
                "http://127.0.0.1:1",
                &CredentialRef::None,
                &serde_json::json!({}),
            )
            .await
            .unwrap();
        let c = cpu(libc::RUSAGE_SELF);
        let t = Instant::now();
        let r = ws
            .import_audit(
                "oidc",
                AuditFormat::OidcProvider,
                log,
                &quiet,
                &CancellationToken::new(),
            )
            .await
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        let cpu_secs = cpu(libc::RUSAGE_SELF) - c;
        assert!(r.rejected.is_empty());
        ws.store().close().await;
        (secs, cpu_secs)
    })
}

fn sqlite3(db: &Path, script: &str) -> std::process::Output {
    let mut child = Command::new("sqlite3")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sqlite3 shell (apt-get install sqlite3)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "sqlite3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The baseline's script: the cache's own DDL for the table, its indexes and the full-text
/// table (no per-row triggers: the shell gets the cheapest path), the cache's journal mode and
/// the writer's pragmas, the CSV import, then the full-text index built in one pass.
fn baseline_script(cache: &Path, csv: &Path) -> String {
    let out = sqlite3(
        cache,
        "SELECT sql || ';' FROM sqlite_master WHERE tbl_name IN ('audit_events', 'audit_fts') AND sql IS NOT NULL AND type IN ('table', 'index') AND name NOT LIKE 'audit_fts_%' ORDER BY type = 'index', name;",
    );
    let ddl = String::from_utf8(out.stdout).unwrap();
    format!(
        "PRAGMA journal_mode = WAL;\nPRAGMA synchronous = NORMAL;\n{}\n{ddl}\n.import --csv {} audit_events\nINSERT INTO audit_fts (audit_fts) VALUES ('rebuild');\n",
        portcullis_store::WRITER_PRAGMAS,
        csv.display()
    )
}

/// The floor: the same CSV into the bare table (its rowid and the unique dedup key, which an
/// idempotent import cannot do without), no secondary index, no full-text index. What SQLite
/// itself manages on this machine before any of the work an ingest has to do on top.
fn floor_script(cache: &Path, csv: &Path) -> String {
    let out = sqlite3(
        cache,
        "SELECT sql || ';' FROM sqlite_master WHERE name IN ('audit_events', 'audit_events_dedup') ORDER BY type DESC;",
    );
    let ddl = String::from_utf8(out.stdout).unwrap();
    format!(
        "PRAGMA journal_mode = WAL;\nPRAGMA synchronous = NORMAL;\n{}\n{ddl}\n.import --csv {} audit_events\n",
        portcullis_store::WRITER_PRAGMAS,
        csv.display()
    )
}

/// Runs a script against a fresh database file: wall and CPU seconds of the shell.
fn timed_sqlite3(db: &Path, script: &str) -> (f64, f64) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let c = cpu(libc::RUSAGE_CHILDREN);
    let t = Instant::now();
    sqlite3(db, script);
    let secs = t.elapsed().as_secs_f64();
    let cpu_secs = cpu(libc::RUSAGE_CHILDREN) - c;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    (secs, cpu_secs)
}

/// The i-th variant of a query (the actor, token or client varies between runs).
type QueryOf = Box<dyn Fn(usize) -> String>;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn median_of(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    percentile(&v, 0.5)
}

fn bench(c: &mut Criterion) {
    // The audit writer logs where each transaction's time went (`AUDIT_BENCH_LOG` overrides).
    let filter =
        std::env::var("AUDIT_BENCH_LOG").unwrap_or_else(|_| "portcullis_store::audit=debug".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
    let n = events();
    let dir = work_dir();
    let log = dir.join("events.jsonl");
    let main_ws = dir.join("ws-main");
    let rt = rt();
    // AUDIT_BENCH_SEARCH_ONLY=1: reuse the events and the workspace of a previous run.
    if std::env::var_os("AUDIT_BENCH_SEARCH_ONLY").is_some()
        && log.exists()
        && main_ws.join("cache.db").exists()
    {
        search_benches(c, &rt, &main_ws, &log, n);
        return;
    }
    let t = Instant::now();
    generate(&log, n);
    eprintln!("generated {n} events in {:.1} s", t.elapsed().as_secs_f64());

    // A workspace holding all events, for search and for the baseline's CSV.
    let first_ingest = ingest(&rt, &main_ws, &log);
    eprintln!("first ingest: {:.2} s", first_ingest.0);
    let cache = main_ws.join("cache.db");
    let csv = dir.join("rows.csv");
    {
        let out = sqlite3(
            &cache,
            &format!(
                ".mode csv\n.output {}\nSELECT * FROM audit_events;\n",
                csv.display()
            ),
        );
        drop(out);
    }
    let script = baseline_script(&cache, &csv);
    let floor = floor_script(&cache, &csv);
    // AUDIT_BENCH_QUICK=1: one ingest (the one above), one baseline and one floor run.
    // AUDIT_BENCH_ONCE=1: the same, then the searches (the 10M run: ingests take minutes).
    let quick = std::env::var_os("AUDIT_BENCH_QUICK").is_some();
    if quick || std::env::var_os("AUDIT_BENCH_ONCE").is_some() {
        let base = timed_sqlite3(&dir.join("baseline.db"), &script);
        let bare = timed_sqlite3(&dir.join("floor.db"), &floor);
        let _ = std::fs::remove_file(&csv);
        println!(
            "quick: ingest {:.2} s ({:.0}/s, {:.2} CPU-s), baseline {:.2} s ({:.0}/s, {:.2} CPU-s), ingest/baseline speed {:.2}, floor {:.2} s ({:.0}/s, {:.2} CPU-s), load {}",
            first_ingest.0,
            n as f64 / first_ingest.0,
            first_ingest.1,
            base.0,
            n as f64 / base.0,
            base.1,
            base.0 / first_ingest.0,
            bare.0,
            n as f64 / bare.0,
            bare.1,
            std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
        );
        println!(
            "ingest / floor speed: {:.2}; ingest / baseline speed: {:.2}",
            bare.0 / first_ingest.0,
            base.0 / first_ingest.0
        );
        if !quick {
            search_benches(c, &rt, &main_ws, &log, n);
        }
        return;
    }

    let mut ingest_secs = Vec::new();
    let mut ingest_cpu = Vec::new();
    let mut baseline_secs = Vec::new();
    let mut baseline_cpu = Vec::new();
    let mut floor_secs = Vec::new();
    let mut floor_cpu = Vec::new();
    let mut g = c.benchmark_group("audit_ingest");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("import_audit_oidc_jsonl", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                let (s, c) = ingest(&rt, &dir.join("ws-ingest"), &log);
                ingest_secs.push(s);
                ingest_cpu.push(c);
                total += std::time::Duration::from_secs_f64(s);
            }
            total
        })
    });
    g.bench_function("baseline_sqlite3_csv_import_and_fts_rebuild", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                let db = dir.join("baseline.db");
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
                }
                let c = cpu(libc::RUSAGE_CHILDREN);
                let t = Instant::now();
                sqlite3(&db, &script);
                let d = t.elapsed();
                baseline_cpu.push(cpu(libc::RUSAGE_CHILDREN) - c);
                baseline_secs.push(d.as_secs_f64());
                total += d;
            }
            total
        })
    });
    g.bench_function("floor_sqlite3_csv_import_bare_table", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                let (s, c) = timed_sqlite3(&dir.join("floor.db"), &floor);
                floor_secs.push(s);
                floor_cpu.push(c);
                total += std::time::Duration::from_secs_f64(s);
            }
            total
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(dir.join("ws-ingest"));
    let _ = std::fs::remove_file(dir.join("baseline.db"));
    let _ = std::fs::remove_file(&csv);

    let ingest_med = median_of(ingest_secs);
    let base_med = median_of(baseline_secs);
    let ingest_cpu_med = median_of(ingest_cpu);
    let base_cpu_med = median_of(baseline_cpu);
    let floor_med = median_of(floor_secs);
    let floor_cpu_med = median_of(floor_cpu);
    println!("\n=== audit ingest: {n} events ===");
    println!(
        "ingest (import_audit, oidc-provider JSON lines): median {:.2} s = {:.0} events/s",
        ingest_med,
        n as f64 / ingest_med
    );
    println!(
        "baseline sqlite3 CSV import + FTS rebuild:       median {:.2} s = {:.0} events/s",
        base_med,
        n as f64 / base_med
    );
    println!(
        "floor: sqlite3 CSV import, bare table:           median {:.2} s = {:.0} events/s ({:.2} CPU-s; dedup key only, no secondary index, no FTS)",
        floor_med,
        n as f64 / floor_med,
        floor_cpu_med
    );
    println!(
        "ingest / baseline speed: {:.2} (target >= 0.5); absolute target 130000 events/s; ingest / floor speed: {:.2}",
        base_med / ingest_med,
        floor_med / ingest_med
    );
    println!(
        "CPU seconds (user+sys), median: ingest {:.2} ({:.0} events per CPU-second, both threads), baseline {:.2} ({:.0})",
        ingest_cpu_med,
        n as f64 / ingest_cpu_med,
        base_cpu_med,
        n as f64 / base_cpu_med
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average during the run: {}", load.trim());
    }
    search_benches(c, &rt, &main_ws, &log, n);
}

/// What one timed operation is: a first page of a search, or a timeline of a search.
enum Op {
    Page(QueryOf),
    Timeline(QueryOf),
}

/// The operations timed, by name. DuckDB's side (`common/duckdb_anchor.py`) uses the same names
/// and the same values.
fn operations() -> Vec<(&'static str, Op)> {
    let actor = |i: usize| format!("user-{:04}", i % 2000);
    vec![
        (
            "actor + outcome",
            Op::Page(Box::new(move |i| {
                format!("actor:{} outcome:deny", actor(i))
            })),
        ),
        (
            "actor + time range",
            Op::Page(Box::new(move |i| format!("actor:{} since:-7d", actor(i)))),
        ),
        (
            "outcome + resource prefix",
            Op::Page(Box::new(|i| {
                format!("outcome:deny resource:{}*", &SCOPES[i % 8][..4])
            })),
        ),
        (
            "credential",
            Op::Page(Box::new(|i| {
                let token = (i as u64 * 7919) % 20_000;
                format!(
                    "credential:{:064x}",
                    u128::from(token).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)
                )
            })),
        ),
        (
            "free text + actor",
            Op::Page(Box::new(move |i| {
                format!("insufficient_scope actor:{}", actor(i))
            })),
        ),
        (
            "free text only",
            Op::Page(Box::new(|i| format!("client-{:02} server_error", i % 40))),
        ),
        (
            "rare outcome, no index help",
            Op::Page(Box::new(|i| {
                format!("outcome:error action:{}", EVENTS[i % 5])
            })),
        ),
        // The event detail's "everything this actor did".
        (
            "pivot: actor's first page",
            Op::Page(Box::new(move |i| {
                format!("backend:oidc actor:{}", actor(i))
            })),
        ),
        (
            "timeline: all events",
            Op::Timeline(Box::new(|_| String::new())),
        ),
        (
            "timeline: one actor",
            Op::Timeline(Box::new(move |i| format!("actor:{}", actor(i)))),
        ),
    ]
}

fn run_op(rt: &tokio::runtime::Runtime, ws: &Workspace, op: &Op, i: usize) -> usize {
    match op {
        Op::Page(q) => rt
            .block_on(ws.audit_search(&q(i), None, 50))
            .unwrap()
            .events
            .len(),
        Op::Timeline(q) => rt
            .block_on(ws.audit_timeline(&q(i), 60))
            .unwrap()
            .buckets
            .len(),
    }
}

/// Runs of each operation (`AUDIT_BENCH_RUNS`, default 500; timelines over every event a tenth).
fn runs() -> usize {
    std::env::var("AUDIT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

/// Median and p99 seconds and the average rows of one operation over `runs` runs.
fn time_op(
    rt: &tokio::runtime::Runtime,
    ws: &Workspace,
    op: &Op,
    runs: usize,
) -> (f64, f64, usize) {
    for i in 0..5 {
        run_op(rt, ws, op, i);
    }
    let mut times = Vec::new();
    let mut rows = 0;
    for i in 0..runs {
        let t = Instant::now();
        rows += run_op(rt, ws, op, i * 13 + 7);
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(|a, b| a.total_cmp(b));
    (
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        rows / runs,
    )
}

/// First pages of filtered searches, pivots and timelines (median and p99 over `runs()` runs
/// each, varying the actor, token or client), the highlights, against `grep -c` of an actor over
/// the same JSON lines and against DuckDB over the same events.
fn search_benches(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    main_ws: &Path,
    log: &Path,
    n: usize,
) {
    let ws = rt.block_on(Workspace::open(main_ws)).unwrap();
    let mut latency: Vec<(&str, f64, f64, usize)> = Vec::new();
    let mut g = c.benchmark_group("audit_search_first_page");
    g.sample_size(10);
    for (name, op) in &operations() {
        let runs = match op {
            Op::Timeline(_) if name.contains("all") => (runs() / 10).max(5),
            _ => runs(),
        };
        let (med, p99, rows) = time_op(rt, &ws, op, runs);
        latency.push((name, med, p99, rows));
        g.bench_function(*name, |b| {
            let mut i = 0;
            b.iter(|| {
                i += 1;
                run_op(rt, &ws, op, i)
            })
        });
    }
    let t = Instant::now();
    let views = rt.block_on(ws.audit_highlights()).unwrap().len();
    let highlights = t.elapsed().as_secs_f64();
    let mut grep_secs = Vec::new();
    g.bench_function("baseline_grep_c_actor", |b| {
        let mut i = 0;
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                i += 1;
                let t = Instant::now();
                let out = Command::new("grep")
                    .args([
                        "-c",
                        "-F",
                        &format!("\"account_id\":\"user-{:04}\"", i % 2000),
                    ])
                    .arg(log)
                    .output()
                    .unwrap();
                let d = t.elapsed();
                assert!(!out.stdout.is_empty());
                grep_secs.push(d.as_secs_f64());
                total += d;
            }
            total
        })
    });
    g.finish();
    rt.block_on(ws.store().close());
    let duck = duckdb_anchor(log, &main_ws.join("..").join("duck.db"));

    let grep_med = median_of(grep_secs);
    println!("\n=== audit search: {n} events ===");
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average: {}", load.trim());
    }
    let bytes = file_bytes(&main_ws.join("cache.db"));
    println!(
        "cache on disk: {:.1} MiB = {:.0} bytes per event (cache.db with its WAL)",
        bytes as f64 / 1048576.0,
        bytes as f64 / n as f64
    );
    println!(
        "highlights ({views} saved views): {:.1} ms",
        highlights * 1e3
    );
    println!(
        "baseline grep -c (actor) over the JSON lines: median {:.1} ms",
        grep_med * 1e3
    );
    println!(
        "{:<30} {:>9} {:>9} {:>6} {:>10} {:>9} {:>9} {:>12}",
        "first page of",
        "median ms",
        "p99 ms",
        "rows",
        "vs grep -c",
        "DuckDB ms",
        "DuckDB p99",
        "DuckDB/ours"
    );
    for (name, med, p99, rows) in &latency {
        let d = duck
            .as_ref()
            .and_then(|d| d["queries"][*name]["median_ms"].as_f64());
        let d99 = duck
            .as_ref()
            .and_then(|d| d["queries"][*name]["p99_ms"].as_f64());
        let opt = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.2}"));
        println!(
            "{:<30} {:>9.3} {:>9.3} {:>6} {:>9.0}x {:>9} {:>9} {:>12}",
            name,
            med * 1e3,
            p99 * 1e3,
            rows,
            grep_med / med,
            opt(d),
            opt(d99),
            d.map_or_else(|| "-".into(), |d| format!("{:.1}x", d / (med * 1e3)))
        );
    }
    if let Some(d) = &duck {
        let load = d["load_s"].as_f64().unwrap_or(f64::NAN);
        println!(
            "DuckDB {} (read_json_auto, {} threads, into a file): loaded {} events in {:.2} s = {:.0} events/s, {:.0} bytes per event on disk",
            d["version"].as_str().unwrap_or("?"),
            DUCKDB_THREADS,
            d["rows"],
            load,
            n as f64 / load,
            d["db_bytes"].as_f64().unwrap_or(0.0) / n as f64
        );
    }
}

/// Cores DuckDB may use: the machine's two, as our import uses two threads.
const DUCKDB_THREADS: u32 = 2;

/// Bytes of a SQLite file and its WAL.
fn file_bytes(db: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", db.display())).ok())
        .map(|m| m.len())
        .sum()
}

/// DuckDB over the same events: its load time and the same first pages and timelines, from
/// `common/duckdb_anchor.py` run by the python that `scripts/bench-duckdb.sh` sets up (DuckDB
/// pinned there). `AUDIT_BENCH_DUCKDB=0` leaves it out; a set-up that fails is reported, not
/// fatal (the machine may have no registry access).
fn duckdb_anchor(log: &Path, db: &Path) -> Option<serde_json::Value> {
    if std::env::var("AUDIT_BENCH_DUCKDB").is_ok_and(|v| v == "0") {
        return None;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let setup = Command::new(root.join("scripts/bench-duckdb.sh"))
        .stderr(Stdio::inherit())
        .output()
        .ok()
        .filter(|o| o.status.success());
    let Some(setup) = setup else {
        eprintln!("DuckDB: scripts/bench-duckdb.sh failed; no DuckDB figures");
        return None;
    };
    let python = String::from_utf8_lossy(&setup.stdout).trim().to_string();
    let runs: usize = std::env::var("AUDIT_BENCH_DUCKDB_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let out = Command::new(python)
        .arg(root.join("crates/engine/benches/common/duckdb_anchor.py"))
        .arg(log)
        .arg(db)
        .arg(runs.to_string())
        .arg(DUCKDB_THREADS.to_string())
        .stderr(Stdio::inherit())
        .output()
        .ok()?;
    for suffix in ["", ".wal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    if !out.status.success() {
        eprintln!("DuckDB: the anchor script failed");
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

criterion_group!(benches, bench);
criterion_main!(benches);
