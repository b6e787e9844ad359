//! An incident never waits: the latency of a revocation's journal writes while a large audit
//! import runs, against the same writes with nothing else running, in one run.
//!
//! Each sample is one commit of the journal writer's connection (`JournalAppender::append_batch`
//! of an item's planned + sent entries, what a revocation does before its request leaves),
//! paced at one every 5 ms like a bulk run's journal. Phase 1 takes the samples on an idle
//! workspace; phase 2 takes them while `Workspace::import_audit` loads a generated
//! node-oidc-provider log of `JOURNAL_BENCH_EVENTS` events (default 1,000,000) into the same
//! workspace. Prints p50 / p99 / max of both and their ratio, the import's speed, and the load.
//!
//! `make bench-journal` runs it; `JOURNAL_BENCH_EVENTS=100000` is a quick run.

use portcullis_engine::{CancellationToken, Workspace};
use portcullis_model::{AuditFormat, BackendKind, CredentialRef, JournalState, Progress};
use portcullis_store::{NewJournalEntry, Store};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

const PACE: Duration = Duration::from_millis(5);
const IDLE_SAMPLES: usize = 400;

fn events() -> usize {
    std::env::var("JOURNAL_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn entries(i: usize) -> [NewJournalEntry<'static>; 2] {
    let entry = |state| NewJournalEntry {
        actor: "bench",
        action: "revoke",
        target: "bench accessor",
        state,
        action_seq: None,
        detail: serde_json::json!({ "item": i }),
    };
    [entry(JournalState::Planned), entry(JournalState::Sent)]
}

/// Appends paced journal commits until `stop` is set (or `max` samples); their latencies in ms.
fn sample(store: &Store, stop: &AtomicBool, max: usize) -> Vec<f64> {
    let mut appender = store.journal_appender().expect("journal appender");
    let mut out = Vec::new();
    while !stop.load(Ordering::Relaxed) && out.len() < max {
        let t = Instant::now();
        appender
            .append_batch(&entries(out.len()))
            .expect("journal append");
        out.push(t.elapsed().as_secs_f64() * 1e3);
        std::thread::sleep(PACE.saturating_sub(t.elapsed()));
    }
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(mut v: Vec<f64>) -> (usize, f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (
        v.len(),
        percentile(&v, 0.5),
        percentile(&v, 0.99),
        v.last().copied().unwrap_or(f64::NAN),
    )
}

async fn workspace(dir: &Path) -> Workspace {
    let _ = std::fs::remove_dir_all(dir);
    let ws = Workspace::open(dir).await.expect("workspace");
    ws.store()
        .insert_backend(
            "oidc",
            BackendKind::Oauth2,
            "http://127.0.0.1:1",
            &CredentialRef::None,
            &serde_json::json!({}),
        )
        .await
        .expect("backend");
    ws
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() {
    // `cargo bench` passes `--bench`; a plain `cargo test --benches` passes nothing and must not
    // run a minute-long import.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n = events();
    let dir = std::env::temp_dir().join("portcullis-journal-bench");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let log = dir.join("events.jsonl");
    common::generate(&log, n);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let load_before = load();
    rt.block_on(async {
        let ws = Arc::new(workspace(&dir.join("ws")).await);
        let store = ws.store().clone();
        let idle = summary(sample(&store, &AtomicBool::new(false), IDLE_SAMPLES));

        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || sample(&store, &stop, usize::MAX))
        };
        let t = Instant::now();
        let quiet = |_: Progress| {};
        let report = ws
            .import_audit(
                "oidc",
                AuditFormat::OidcProvider,
                &log,
                &quiet,
                &CancellationToken::new(),
            )
            .await
            .expect("import");
        let import_secs = t.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        let busy = summary(sampler.join().expect("sampler"));
        println!(
            "journal commits (planned + sent), paced every {} ms; import of {n} events: {import_secs:.1} s ({:.0}/s, {} imported); load before {load_before}, after {}",
            PACE.as_millis(),
            n as f64 / import_secs,
            report.imported,
            load()
        );
        println!("| | samples | p50 ms | p99 ms | max ms |");
        println!("|---|---|---|---|---|");
        for (name, s) in [("idle workspace", idle), ("during the import", busy)] {
            println!("| {name} | {} | {:.2} | {:.2} | {:.2} |", s.0, s.1, s.2, s.3);
        }
        println!(
            "ratio during/idle: p50 {:.2}x, p99 {:.2}x",
            busy.1 / idle.1,
            busy.2 / idle.2
        );
    });
}
