//! Bulk revocation against the sandbox's real OpenBao: N tokens revoked one by one in sequence
//! (the one-click path: plan one target, confirm, send, verify, journal) versus N other tokens
//! revoked as one incident (one plan, bounded concurrency, group-committed journal), measured in
//! the same run, verification included on both sides. Prints both timings, the ratio, CPU per
//! token on each side (this process and the OpenBao server), and:
//!
//! - a raw HTTP floor: the same two calls per token (revoke-accessor, lookup-accessor) straight
//!   over reqwest at the same concurrency, no engine, no journal — what the server allows;
//! - the same comparison through a TCP proxy that adds BULK_REVOKE_LATENCY_MS (default 1) each
//!   way, i.e. OpenBao across a network instead of on loopback (0 skips it).
//!
//! Criterion would repeat each measurement many times, and a thousand network revocations are
//! neither cheap nor repeatable on the same tokens, so this is a plain timed main
//! (`harness = false`). It needs a running sandbox (`scripts/sandbox up`, honouring
//! PORTCULLIS_SANDBOX_DIR); without one it says so and exits 0.
//!
//! `cargo bench -p portcullis-engine --bench bulk_revoke` — env: BULK_REVOKE_N (default 1000),
//! BULK_REVOKE_CONCURRENCY (default: the product's, 16), BULK_REVOKE_LATENCY_MS (default 1),
//! BULK_REVOKE_SKIP_SEQUENTIAL=1 (bulk only, for profiling), BULK_REVOKE_SKIP_RAW=1 (no floor).

use portcullis_engine::{CancellationToken, Workspace};
use portcullis_model::{
    BackendKind, NewBackend, NewCredential, RevocationConfirmation, RevocationOptions,
    RevocationSelector, RevocationTarget,
};
use std::path::PathBuf;
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error + Send + Sync>;

const TOKEN_ENV: &str = "PORTCULLIS_BENCH_BAO_TOKEN";

fn sandbox_file() -> PathBuf {
    std::env::var_os("PORTCULLIS_SANDBOX_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/sandbox"))
        .join("sandbox.json")
}

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Creates `n` tokens carrying `policy` with the root token, 32 requests at a time.
async fn create_tokens(url: &str, root: &str, policy: &str, n: usize) -> Result<(), Error> {
    use futures::StreamExt;
    let client = reqwest::Client::new();
    let results: Vec<Result<(), Error>> = futures::stream::iter(0..n)
        .map(|i| {
            let client = client.clone();
            async move {
                let resp = client
                    .post(format!("{url}/v1/auth/token/create"))
                    .header("X-Vault-Token", root)
                    .json(&serde_json::json!({
                        "policies": [policy],
                        "ttl": "1h",
                        "display_name": format!("bench-{i}"),
                        "no_parent": true,
                    }))
                    .send()
                    .await?;
                if !resp.status().is_success() {
                    return Err(format!("token create answered {}", resp.status()).into());
                }
                Ok(())
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Accessors of the tokens carrying `policy` (listed and looked up with the root token).
async fn accessors_with(url: &str, root: &str, policy: &str) -> Result<Vec<String>, Error> {
    use futures::StreamExt;
    let client = reqwest::Client::new();
    let list: serde_json::Value = client
        .request(
            reqwest::Method::from_bytes(b"LIST")?,
            format!("{url}/v1/auth/token/accessors"),
        )
        .header("X-Vault-Token", root)
        .send()
        .await?
        .json()
        .await?;
    let keys: Vec<String> = list["data"]["keys"]
        .as_array()
        .ok_or("no accessor list")?
        .iter()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    let found: Vec<Option<String>> = futures::stream::iter(keys)
        .map(|a| {
            let client = client.clone();
            async move {
                let v: serde_json::Value = client
                    .post(format!("{url}/v1/auth/token/lookup-accessor"))
                    .header("X-Vault-Token", root)
                    .json(&serde_json::json!({ "accessor": a }))
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                let has = v["data"]["policies"]
                    .as_array()?
                    .iter()
                    .any(|p| p.as_str() == Some(policy));
                has.then_some(a)
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    Ok(found.into_iter().flatten().collect())
}

/// revoke-accessor then lookup-accessor for each, `concurrency` at a time, straight over HTTP.
async fn raw_revoke(
    url: &str,
    token: &str,
    accessors: &[String],
    concurrency: usize,
) -> Result<(), Error> {
    use futures::StreamExt;
    let client = reqwest::Client::new();
    // Owned items: with borrowed ones rustc cannot prove the future `Send` (`tokio::spawn`).
    let dead: Vec<bool> = futures::stream::iter(accessors.to_vec())
        .map(|a: String| {
            let client = client.clone();
            async move {
                let body = serde_json::json!({ "accessor": a });
                let r = client
                    .post(format!("{url}/v1/auth/token/revoke-accessor"))
                    .header("X-Vault-Token", token)
                    .json(&body)
                    .send()
                    .await;
                if r.is_err() {
                    return false;
                }
                let l = client
                    .post(format!("{url}/v1/auth/token/lookup-accessor"))
                    .header("X-Vault-Token", token)
                    .json(&body)
                    .send()
                    .await;
                matches!(l, Ok(resp) if resp.status().as_u16() == 400)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    if dead.iter().all(|d| *d) {
        Ok(())
    } else {
        Err("raw floor: some tokens were not revoked".into())
    }
}

/// CPU seconds used so far by this process (user + system).
fn own_cpu() -> f64 {
    // SAFETY: getrusage fills the struct we pass; RUSAGE_SELF is always valid.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return 0.0;
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

/// CPU seconds used so far by the sandbox's OpenBao (from its pid file), if readable.
fn bao_cpu() -> Option<f64> {
    let dir = sandbox_file().parent()?.to_path_buf();
    let pid = std::fs::read_to_string(dir.join("pids/openbao.pid")).ok()?;
    let pid = pid.split_whitespace().next()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(") ")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf with a valid name.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz)
}

fn main() -> Result<(), Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // On a worker, as the app's commands and the CLI run it: driven from `block_on` instead, each
    // request and reply crosses between the main thread and a worker.
    rt.block_on(async {
        tokio::spawn(run())
            .await
            .map_err(|e| -> Error { e.to_string().into() })?
    })
}

/// A TCP proxy that holds every chunk `delay` before passing it on, in both directions: the
/// sandbox's OpenBao as if it were across a network instead of on loopback.
async fn delay_proxy(upstream: String, delay: Duration) -> Result<String, Error> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let target = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(&target).await else {
                    return;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                let pump = |mut r: tokio::net::tcp::OwnedReadHalf,
                            mut w: tokio::net::tcp::OwnedWriteHalf| async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = r.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        tokio::time::sleep(delay).await;
                        if w.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = w.shutdown().await;
                };
                tokio::join!(pump(cr, sw), pump(sr, cw));
            });
        }
    });
    Ok(format!("http://{addr}"))
}

/// One comparison on one backend URL: n tokens one by one, n others as one incident.
struct Figures {
    sequential: Duration,
    bulk: Duration,
    planning: Duration,
    seq_cpu: (f64, Option<f64>),
    bulk_cpu: (f64, Option<f64>),
    journal_entries: u64,
}

async fn compare(
    bao_url: &str,
    root: &str,
    console: &str,
    label: &str,
    n: usize,
    concurrency: u32,
) -> Result<Figures, Error> {
    // Policies that exist nowhere: they grant nothing, and they name this run's tokens.
    let run_id = format!("{}-{label}", std::process::id());
    let seq_policy = format!("bench-{run_id}-sequential");
    let bulk_policy = format!("bench-{run_id}-bulk");
    let direct = sandbox_bao_url()?;
    let t = Instant::now();
    create_tokens(&direct, root, &seq_policy, n).await?;
    create_tokens(&direct, root, &bulk_policy, n).await?;
    eprintln!(
        "[{label}] created 2×{n} tokens in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    std::env::set_var(TOKEN_ENV, console);
    let dir = tempfile::tempdir()?;
    let ws = Workspace::open(dir.path()).await?;
    ws.add_backend(NewBackend {
        name: "openbao".into(),
        kind: BackendKind::Vault,
        url: bao_url.into(),
        credential: NewCredential::Env {
            var: TOKEN_ENV.into(),
        },
        audit_log: None,
    })
    .await?;
    let t = Instant::now();
    ws.sync(&[], &|_| {}, &CancellationToken::new()).await?;
    eprintln!("[{label}] synced in {:.1} s", t.elapsed().as_secs_f64());

    let now = chrono::Utc::now();
    let utc = chrono::FixedOffset::east_opt(0).ok_or("offset")?;
    let select = |policy: &str| RevocationSelector::parse(&format!("scope={policy}"), now, utc);

    // One by one: what n clicks on a Revoke button do, each planned, confirmed, sent, verified.
    let seq_plan = ws.plan_incident(&select(&seq_policy)?, &[]).await?;
    if seq_plan.ready as usize != n {
        return Err(format!(
            "expected {n} sequential tokens, the cache has {}",
            seq_plan.ready
        )
        .into());
    }
    let ids: Vec<i64> = seq_plan
        .items
        .iter()
        .filter_map(|i| i.credential_id)
        .collect();
    let (c0, b0) = (own_cpu(), bao_cpu());
    let started = Instant::now();
    let mut verified = 0;
    // For profiling the bulk path alone: BULK_REVOKE_SKIP_SEQUENTIAL=1 (no ratio then).
    let skip = std::env::var_os("BULK_REVOKE_SKIP_SEQUENTIAL").is_some();
    for id in ids.iter().filter(|_| !skip) {
        let target = RevocationTarget::Credential { id: *id };
        let plan = ws
            .plan_revocation(std::slice::from_ref(&target), &[])
            .await?;
        let report = ws
            .execute_revocation(
                &plan,
                RevocationConfirmation::new(plan.ready),
                &[],
                &RevocationOptions::default(),
                &CancellationToken::new(),
                &|_| {},
            )
            .await?;
        verified += report.verified;
    }
    let sequential = started.elapsed();
    let seq_cpu = (own_cpu() - c0, bao_cpu().zip(b0).map(|(a, b)| a - b));
    if !skip && verified as usize != n {
        return Err(format!("one by one: only {verified} of {n} verified").into());
    }

    // Bulk: one incident over the other n tokens, planning included.
    let (c0, b0) = (own_cpu(), bao_cpu());
    let started = Instant::now();
    let plan = ws.plan_incident(&select(&bulk_policy)?, &[]).await?;
    let planning = started.elapsed();
    let report = ws
        .execute_revocation(
            &plan,
            RevocationConfirmation::new(plan.ready),
            &[],
            &RevocationOptions {
                concurrency,
                ..RevocationOptions::default()
            },
            &CancellationToken::new(),
            &|_| {},
        )
        .await?;
    let bulk = started.elapsed();
    let bulk_cpu = (own_cpu() - c0, bao_cpu().zip(b0).map(|(a, b)| a - b));
    if report.verified as usize != n {
        return Err(format!("bulk: only {} of {n} verified", report.verified).into());
    }
    let journal = ws.journal_verify().await?;
    if !journal.ok {
        return Err(format!("journal broken: {}", journal.message).into());
    }
    Ok(Figures {
        sequential,
        bulk,
        planning,
        seq_cpu,
        bulk_cpu,
        journal_entries: journal.entries,
    })
}

fn sandbox_bao_url() -> Result<String, Error> {
    let sb: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(sandbox_file())?)?;
    Ok(sb["openbao"]["url"]
        .as_str()
        .ok_or("sandbox.json: openbao.url")?
        .to_string())
}

fn print(label: &str, n: usize, concurrency: u32, f: &Figures) {
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / n as f64;
    let cpu = |(me, bao): (f64, Option<f64>)| {
        format!(
            "CPU per token: Portcullis {:.2} ms, OpenBao {}",
            me * 1000.0 / n as f64,
            bao.map(|b| format!("{:.2} ms", b * 1000.0 / n as f64))
                .unwrap_or_else(|| "unknown".into())
        )
    };
    println!("{label}: {n} OpenBao tokens each way, revoke + verify + journal");
    println!(
        "  one by one, in sequence : {:>8.2} s  ({:.2} ms per token; {})",
        f.sequential.as_secs_f64(),
        per(f.sequential),
        cpu(f.seq_cpu)
    );
    println!(
        "  bulk, concurrency {concurrency:<6}: {:>8.2} s  ({:.2} ms per token, {:.0} ms of it planning; {})",
        f.bulk.as_secs_f64(),
        per(f.bulk),
        f.planning.as_secs_f64() * 1000.0,
        cpu(f.bulk_cpu)
    );
    println!(
        "  ratio                   : {:>8.1}×  ({} journal entries, chain intact)",
        f.sequential.as_secs_f64() / f.bulk.as_secs_f64(),
        f.journal_entries
    );
}

async fn run() -> Result<(), Error> {
    let file = sandbox_file();
    let Ok(text) = std::fs::read_to_string(&file) else {
        eprintln!(
            "bulk_revoke: no sandbox at {} — start one with `scripts/sandbox up`; skipping",
            file.display()
        );
        return Ok(());
    };
    let sb: serde_json::Value = serde_json::from_str(&text)?;
    let url = sb["openbao"]["url"]
        .as_str()
        .ok_or("sandbox.json: openbao.url")?;
    let root = sb["openbao"]["root_token"]
        .as_str()
        .ok_or("sandbox.json: openbao.root_token")?;
    let console = sb["openbao"]["token"]
        .as_str()
        .ok_or("sandbox.json: openbao.token")?;
    let n = env_num("BULK_REVOKE_N", 1000);
    // What a user gets unless they ask for more.
    let concurrency = env_num(
        "BULK_REVOKE_CONCURRENCY",
        RevocationOptions::default().concurrency as usize,
    ) as u32;
    let latency = env_num("BULK_REVOKE_LATENCY_MS", 1) as u64;

    let loopback = compare(url, root, console, "loopback", n, concurrency).await?;

    print("bulk_revoke (loopback)", n, concurrency, &loopback);
    if std::env::var_os("BULK_REVOKE_SKIP_RAW").is_some() {
        return Ok(());
    }
    // The floor: the same two calls per token straight over HTTP, no engine at all.
    let raw_policy = format!("bench-{}-raw", std::process::id());
    create_tokens(url, root, &raw_policy, n).await?;
    let raw_accessors = accessors_with(url, root, &raw_policy).await?;
    let (c0, b0) = (own_cpu(), bao_cpu());
    let started = Instant::now();
    raw_revoke(url, console, &raw_accessors, concurrency as usize).await?;
    let raw = started.elapsed();
    let raw_cpu = (own_cpu() - c0, bao_cpu().zip(b0).map(|(a, b)| a - b));
    println!(
        "  raw HTTP floor (same calls, same concurrency, no engine, no journal): {:.2} s ({:.2} ms per token; OpenBao CPU {} ms, client CPU {:.2} ms per token)",
        raw.as_secs_f64(),
        raw.as_secs_f64() * 1000.0 / n as f64,
        raw_cpu
            .1
            .map(|b| format!("{:.2}", b * 1000.0 / n as f64))
            .unwrap_or_else(|| "?".into()),
        raw_cpu.0 * 1000.0 / n as f64
    );

    if latency > 0 {
        let proxy = delay_proxy(url.to_string(), Duration::from_millis(latency)).await?;
        let far = compare(&proxy, root, console, "network", n, concurrency).await?;
        print(
            &format!("bulk_revoke (through a proxy adding {latency} ms each way)"),
            n,
            concurrency,
            &far,
        );
    }
    Ok(())
}
