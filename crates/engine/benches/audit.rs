//! Audit browser speed on 1,000,000 generated events, with the baselines measured in the same
//! run:
//!
//! - ingest: `Workspace::import_audit` of a node-oidc-provider event log (JSON lines: parse,
//!   normalise, insert, full-text index) into a fresh workspace, against the `sqlite3` shell
//!   importing the same rows as CSV into the same table and indexes, then building the same
//!   full-text index (`rebuild`);
//! - search: the first page of filtered searches (median and p99 over many runs, varying the
//!   actor), against `grep -c` of the actor over the same JSON lines.
//!
//! `AUDIT_BENCH_EVENTS` overrides the event count (default 1,000,000). Figures are printed at
//! the end as a table with the ratios; criterion keeps its own report too.

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
        "SELECT sql || ';' FROM sqlite_master WHERE type = 'table' AND name = 'audit_events';",
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
    if std::env::var_os("AUDIT_BENCH_QUICK").is_some() {
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

/// First pages of filtered searches (median and p99 over 500 runs each, varying the actor,
/// token or client), against `grep -c` of an actor over the same JSON lines.
fn search_benches(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    main_ws: &Path,
    log: &Path,
    n: usize,
) {
    let ws = rt.block_on(Workspace::open(main_ws)).unwrap();
    let queries: Vec<(&str, QueryOf)> = vec![
        (
            "actor + outcome",
            Box::new(|i| format!("actor:user-{:04} outcome:deny", i % 2000)),
        ),
        (
            "actor + time range",
            Box::new(|i| format!("actor:user-{:04} since:-7d", i % 2000)),
        ),
        (
            "outcome + resource prefix",
            Box::new(|i| format!("outcome:deny resource:{}*", &SCOPES[i % 8][..4])),
        ),
        (
            "credential",
            Box::new(|i| {
                let token = (i as u64 * 7919) % 20_000;
                format!(
                    "credential:{:064x}",
                    u128::from(token).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)
                )
            }),
        ),
        (
            "free text + actor",
            Box::new(|i| format!("insufficient_scope actor:user-{:04}", i % 2000)),
        ),
        (
            "free text only",
            Box::new(|i| format!("client-{:02} server_error", i % 40)),
        ),
        (
            "rare outcome, no index help",
            Box::new(|i| format!("outcome:error action:{}", EVENTS[i % 5])),
        ),
    ];
    let mut latency: Vec<(String, f64, f64, usize)> = Vec::new();
    let mut g = c.benchmark_group("audit_search_first_page");
    g.sample_size(50);
    for (name, q) in &queries {
        // Warm up, then time each run.
        for i in 0..20 {
            rt.block_on(ws.audit_search(&q(i), None, 50)).unwrap();
        }
        let mut times = Vec::new();
        let mut rows = 0;
        for i in 0..500 {
            let query = q(i * 13 + 7);
            let t = Instant::now();
            let page = rt.block_on(ws.audit_search(&query, None, 50)).unwrap();
            times.push(t.elapsed().as_secs_f64());
            rows += page.events.len();
        }
        times.sort_by(|a, b| a.total_cmp(b));
        latency.push((
            name.to_string(),
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            rows / 500,
        ));
        g.bench_function(*name, |b| {
            let mut i = 0;
            b.iter(|| {
                i += 1;
                rt.block_on(ws.audit_search(&q(i), None, 50)).unwrap()
            })
        });
    }
    let mut grep_secs = Vec::new();
    g.sample_size(10);
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

    let grep_med = median_of(grep_secs);
    println!("\n=== audit search: {n} events ===");
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average: {}", load.trim());
    }
    println!(
        "baseline grep -c (actor) over the JSON lines: median {:.1} ms",
        grep_med * 1e3
    );
    println!(
        "{:<30} {:>10} {:>10} {:>8} {:>12}",
        "first page of", "median ms", "p99 ms", "rows", "vs grep -c"
    );
    for (name, med, p99, rows) in &latency {
        println!(
            "{:<30} {:>10.3} {:>10.3} {:>8} {:>11.0}x",
            name,
            med * 1e3,
            p99 * 1e3,
            rows,
            grep_med / med
        );
    }
    rt.block_on(ws.store().close());
}

criterion_group!(benches, bench);
criterion_main!(benches);
