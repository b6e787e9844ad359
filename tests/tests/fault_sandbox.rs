//! Fault injection as routine: the real CLI against the REAL sandbox servers through the
//! harness's fault proxy (`tests/src/proxy.rs`), for `backend check`, `sync`, token triage and
//! revocation (one target, and an incident). For every fault: the right error code, the command
//! returns within a bound (a command still running at its deadline is killed and fails the
//! test), the cache still holds what it held, nothing reaches the backend twice unless the
//! target's resend is declared harmless, nothing reaches another origin, and the journal
//! verifies.
//!
//! Run with the sandbox's environment: `cargo build -p portcullis-cli && cargo test -p
//! portcullis-e2e --test fault_sandbox -- --test-threads=1`. The tests revoke only tokens they
//! create themselves, so the seed stays as it was.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use portcullis_e2e::cli_ws::CliWs;
use portcullis_e2e::proxy::{json_field, Fault, Proxy, Rule};
use portcullis_e2e::sandbox_ws::{BAO_VAR, OIDC_VAR, PG_VAR};
use portcullis_e2e::Sandbox;
use serde_json::Value;

/// A fault answered at once (with the connector's bounded retries) ends well within this.
const QUICK: Duration = Duration::from_secs(10);
/// A silent backend ends with the connector's 15 s deadline, plus the command's own work.
const SILENT: Duration = Duration::from_secs(30);

const LOOKUP_SELF: &str = "/v1/auth/token/lookup-self";
const LOOKUP: &str = "/v1/auth/token/lookup";
const ACCESSORS: &str = "/v1/auth/token/accessors";
const LOOKUP_ACCESSOR: &str = "/v1/auth/token/lookup-accessor";
const REVOKE_ACCESSOR: &str = "/v1/auth/token/revoke-accessor";

fn status(code: u16, retry_after: Option<u32>) -> Fault {
    Fault::Status { code, retry_after }
}

/// Another origin that counts every connection it is offered: a redirect's destination, which
/// must never see the console.
struct Elsewhere {
    url: String,
    hits: Arc<AtomicUsize>,
}

impl Elsewhere {
    fn start() -> Elsewhere {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(conn);
            }
        });
        Elsewhere { url, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// The error code a report (of a check, a sync, a triage, a revocation item) carries.
fn code(report: &Value) -> &str {
    report["error"]["code"].as_str().unwrap_or("")
}

fn one_report<'a>(v: &'a Value, backend: &str) -> &'a Value {
    v.as_array()
        .and_then(|a| a.iter().find(|r| r["backend"] == backend))
        .unwrap_or_else(|| panic!("no report for {backend}: {v}"))
}

fn check(ws: &CliWs, name: &str, limit: Duration) -> (Value, Duration) {
    let (v, _, took) = ws.json_within(&["backend", "check", name], None, limit);
    (v, took)
}

#[test]
fn backend_check_answers_every_fault_with_its_code_in_bounded_time() {
    let ws = CliWs::load();
    let proxy = Proxy::http(&ws.sb.openbao.url).unwrap();
    ws.add_backend("openbao", "vault", &proxy.url(), BAO_VAR);
    let elsewhere = Elsewhere::start();
    let (ok, _) = check(&ws, "openbao", QUICK);
    assert_eq!(ok["ok"], true, "{ok}");

    // (fault, how many requests, the code, arrivals at the proxy, at least this long)
    let cases: Vec<(Fault, usize, &str, usize, Duration)> = vec![
        (
            status(500, None),
            usize::MAX,
            "backend_error",
            1,
            Duration::ZERO,
        ),
        (
            status(503, None),
            usize::MAX,
            "backend_error",
            3,
            Duration::ZERO,
        ),
        (
            status(429, Some(1)),
            usize::MAX,
            "rate_limited",
            3,
            Duration::from_secs(2),
        ),
        // A wait longer than the connector accepts is not waited for.
        (
            status(429, Some(120)),
            usize::MAX,
            "rate_limited",
            1,
            Duration::ZERO,
        ),
        (status(429, Some(1)), 1, "", 2, Duration::from_secs(1)),
        (Fault::Reset, usize::MAX, "unreachable", 3, Duration::ZERO),
        (Fault::Reset, 1, "", 2, Duration::ZERO),
        (Fault::Truncate, usize::MAX, "malformed", 1, Duration::ZERO),
        (
            Fault::Redirect(elsewhere.url.clone()),
            usize::MAX,
            "redirected",
            1,
            Duration::ZERO,
        ),
        (
            Fault::Delay(Duration::from_secs(1)),
            1,
            "",
            1,
            Duration::from_secs(1),
        ),
    ];
    for (fault, times, want, arrivals, at_least) in cases {
        proxy.clear();
        proxy.add(Rule::new(fault.clone()).path(LOOKUP_SELF).times(times));
        let before = proxy.arrived(LOOKUP_SELF);
        let (report, took) = check(&ws, "openbao", QUICK);
        assert_eq!(code(&report), want, "{fault:?}: {report}");
        assert_eq!(report["ok"], want.is_empty(), "{fault:?}: {report}");
        assert_eq!(proxy.arrived(LOOKUP_SELF) - before, arrivals, "{fault:?}");
        assert!(took >= at_least, "{fault:?} answered in {took:?}");
    }
    assert_eq!(elsewhere.hits(), 0, "the redirect was followed");

    // A server that goes silent mid-body ends as a timeout, not a hang.
    proxy.clear();
    proxy.add(Rule::new(Fault::Stall).path(LOOKUP_SELF));
    let (report, _) = check(&ws, "openbao", SILENT);
    assert_eq!(code(&report), "timeout", "{report}");
}

#[test]
fn the_oauth_server_redirecting_elsewhere_gets_neither_the_secret_nor_a_pasted_token() {
    let ws = CliWs::load();
    let proxy = Proxy::http(&ws.sb.oidc.issuer).unwrap();
    let url = proxy
        .url()
        .replacen("://", &format!("://{}@", ws.sb.oidc.client_id), 1);
    ws.add_backend("oidc", "oauth2", &url, OIDC_VAR);
    let elsewhere = Elsewhere::start();
    let token = ws.sb.tokens["oidc-billing-api"]["value"].as_str().unwrap();
    let inspect = |limit| {
        let (v, _, took) = ws.json_within(&["token", "inspect"], Some(token), limit);
        (one_report(&v, "oidc").clone(), took)
    };
    // Through the proxy, unharmed: discovery is rewritten to it and the token is recognised.
    assert_eq!(check(&ws, "oidc", QUICK).0["ok"], true);
    assert!(inspect(QUICK).0["token"].is_object());
    let introspection = "/token/introspection";
    let reached = proxy.reached(introspection);

    for path in ["/.well-known/", introspection] {
        proxy.clear();
        proxy.add(Rule::new(Fault::Redirect(elsewhere.url.clone())).path(path));
        let (report, _) = check(&ws, "oidc", QUICK);
        assert_eq!(code(&report), "redirected", "{path}: {report}");
        let (triage, _) = inspect(QUICK);
        assert_eq!(code(&triage), "redirected", "{path}: {triage}");
    }
    assert_eq!(elsewhere.hits(), 0, "a redirect was followed");
    assert_eq!(
        proxy.reached(introspection),
        reached,
        "a redirected request was also sent"
    );

    proxy.clear();
    proxy.add(Rule::new(status(503, None)).path(introspection));
    assert_eq!(code(&inspect(QUICK).0), "backend_error");
    proxy.clear();
    proxy.add(Rule::new(Fault::Truncate).path(introspection));
    assert_eq!(code(&inspect(QUICK).0), "malformed");
}

#[test]
fn token_triage_on_openbao_under_faults() {
    let ws = CliWs::load();
    let proxy = Proxy::http(&ws.sb.openbao.url).unwrap();
    ws.add_backend("openbao", "vault", &proxy.url(), BAO_VAR);
    let elsewhere = Elsewhere::start();
    let token = ws.sb.tokens["bao-svc-billing"]["value"].as_str().unwrap();
    let accessor = ws.sb.tokens["bao-svc-billing"]["accessor"]
        .as_str()
        .unwrap();
    let inspect = |limit| {
        let (v, _, took) = ws.json_within(&["token", "inspect"], Some(token), limit);
        (one_report(&v, "openbao").clone(), took)
    };
    let (clean, _) = inspect(QUICK);
    assert_eq!(clean["token"]["external_id"], accessor, "{clean}");

    let cases = [
        (Rule::new(status(503, None)).path(LOOKUP), "backend_error"),
        (Rule::new(Fault::Reset).path(LOOKUP), "unreachable"),
        (Rule::new(Fault::Truncate).path(LOOKUP), "malformed"),
        (
            Rule::new(Fault::Redirect(elsewhere.url.clone())).path(LOOKUP),
            "redirected",
        ),
        (Rule::new(status(429, Some(1))).path(LOOKUP).times(1), ""),
    ];
    for (rule, want) in cases {
        proxy.clear();
        proxy.add(rule);
        let (triage, _) = inspect(QUICK);
        assert_eq!(code(&triage), want, "{triage}");
        assert_eq!(triage["token"].is_object(), want.is_empty(), "{triage}");
    }
    assert_eq!(elsewhere.hits(), 0, "the pasted token followed a redirect");
}

/// An import or a sync holding the cache's write lock (here: a transaction left open by another
/// connection) does not hold up triage: the backend's answer comes back at once, and the
/// triaged token is simply not cached.
#[test]
fn token_triage_answers_while_the_cache_is_locked() {
    let ws = CliWs::load();
    ws.add_backend("openbao", "vault", &ws.sb.openbao.url, BAO_VAR);
    let token = ws.sb.tokens["bao-svc-billing"]["value"].as_str().unwrap();
    let accessor = ws.sb.tokens["bao-svc-billing"]["accessor"]
        .as_str()
        .unwrap();
    let holder = rusqlite::Connection::open(ws.path().join("cache.db")).unwrap();
    holder
        .execute_batch("BEGIN IMMEDIATE; UPDATE backends SET name = name;")
        .unwrap();
    let (v, out, took) = ws.json_within(&["token", "inspect"], Some(token), QUICK);
    let triage = one_report(&v, "openbao");
    assert_eq!(triage["token"]["external_id"], accessor, "{triage}");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(took < QUICK, "{took:?}");
    holder.execute_batch("ROLLBACK").unwrap();
}

/// An audit source that cannot be read is a coverage gap, not a failed sync: the inventory is
/// synced, the report says why there is no audit trail, the exit is 0; once the file is there,
/// the next sync reads it.
#[test]
fn a_sync_without_its_audit_trail_is_a_partial_success() {
    let ws = CliWs::load();
    let log = ws.path().join("not-yet").join("audit.log");
    let log_arg = log.display().to_string();
    let url = ws.sb.openbao.url.clone();
    ws.add_backend_with(
        "openbao",
        "vault",
        &url,
        BAO_VAR,
        &["--audit-log", &log_arg],
    );
    let (v, out, _) = ws.json_within(&["sync"], None, SILENT);
    let report = one_report(&v, "openbao");
    assert!(out.status.success(), "exit {:?}: {report}", out.status);
    assert_eq!(report["ok"], true, "{report}");
    assert!(report["error"].is_null(), "{report}");
    let gap = &report["audit_gap"];
    assert!(
        gap["message"]
            .as_str()
            .unwrap_or("")
            .contains("audit trail could not be read")
            && gap["message"].as_str().unwrap_or("").contains("not-yet"),
        "{report}"
    );
    assert!(
        report["counts"]["principals"].as_u64().unwrap_or(0) > 0,
        "{report}"
    );
    assert_eq!(report["counts"]["audit_events"], 0);

    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    std::fs::copy(&ws.sb.openbao.audit_log, &log).unwrap();
    let (v, _, _) = ws.json_within(&["sync"], None, SILENT);
    let report = one_report(&v, "openbao");
    assert!(report["audit_gap"].is_null(), "{report}");
    assert!(
        report["counts"]["audit_events"].as_u64().unwrap_or(0) > 0,
        "{report}"
    );
}

/// Per-backend counts and the cached credential ids: what "the cache still holds what it held"
/// compares.
fn cache_state(ws: &CliWs, backend: &str) -> (Value, Vec<i64>) {
    let overview = ws.json(&["overview"]);
    let counts = overview["backends"]
        .as_array()
        .and_then(|a| a.iter().find(|b| b["backend"] == backend))
        .map(|b| b["counts"].clone())
        .unwrap_or_else(|| panic!("no counts for {backend}: {overview}"));
    let mut ids: Vec<i64> = ws
        .credentials(backend)
        .iter()
        .filter_map(|c| c["id"].as_i64())
        .collect();
    ids.sort_unstable();
    (counts, ids)
}

fn sync(ws: &CliWs, backend: &str, limit: Duration) -> Value {
    let (v, _, _) = ws.json_within(&["sync", backend], None, limit);
    one_report(&v, backend).clone()
}

/// Appends to `copy` what `log` holds beyond it, as the server appends to its log.
fn grow(copy: &std::path::Path, log: &std::path::Path) {
    use std::io::Write;
    let have = std::fs::metadata(copy).unwrap().len() as usize;
    let all = std::fs::read(log).unwrap();
    let mut file = std::fs::OpenOptions::new().append(true).open(copy).unwrap();
    file.write_all(&all[have..]).unwrap();
}

#[test]
fn a_sync_that_fails_midway_keeps_the_cache_and_resumes_without_loss_or_duplicates() {
    let ws = CliWs::load();
    let bao = Proxy::http(&ws.sb.openbao.url).unwrap();
    let oidc = Proxy::http(&ws.sb.oidc.issuer).unwrap();
    ws.add_backend("openbao", "vault", &bao.url(), BAO_VAR);
    let oidc_url = oidc
        .url()
        .replacen("://", &format!("://{}@", ws.sb.oidc.client_id), 1);
    // A copy of the event log, grown only by the test: the sandbox's own log grows with every
    // request the console makes, which would make two workspaces' counts differ by timing.
    let log_path = ws.path().join("oidc-events.jsonl");
    std::fs::copy(&ws.sb.oidc.event_log, &log_path).unwrap();
    let log = log_path.display().to_string();
    // The same registration in both workspaces, so their caches can be compared.
    let add_oidc = |w: &CliWs| {
        w.add_backend_with(
            "oidc",
            "oauth2",
            &oidc_url,
            OIDC_VAR,
            &["--audit-log", &log],
        )
    };
    add_oidc(&ws);
    ws.sync_all();
    let bao_before = cache_state(&ws, "openbao");
    let oidc_before = cache_state(&ws, "oidc");
    assert!(!bao_before.1.is_empty() && !oidc_before.1.is_empty());

    let cases = [
        (
            &bao,
            "openbao",
            Rule::new(status(500, None)).path(ACCESSORS),
            "backend_error",
        ),
        (
            &bao,
            "openbao",
            Rule::new(Fault::Reset).path(LOOKUP_ACCESSOR).after(3),
            "unreachable",
        ),
        (
            &bao,
            "openbao",
            Rule::new(Fault::Truncate).path(LOOKUP_ACCESSOR).after(5),
            "malformed",
        ),
        (&oidc, "oidc", Rule::new(status(503, None)), "backend_error"),
        (
            &oidc,
            "oidc",
            Rule::new(Fault::Reset).after(1),
            "unreachable",
        ),
    ];
    for (proxy, backend, rule, want) in cases {
        proxy.clear();
        proxy.add(rule);
        let report = sync(&ws, backend, QUICK);
        assert_eq!(code(&report), want, "{report}");
        assert_eq!(report["ok"], false);
        let kept = if backend == "oidc" {
            &oidc_before
        } else {
            &bao_before
        };
        assert_eq!(
            &cache_state(&ws, backend),
            kept,
            "{backend} cache changed by a failed sync"
        );
    }

    // Faults gone, the log grown meanwhile: the next sync finishes; nothing lost, nothing twice.
    // The log is read from where the last committed batch ended, so a fresh workspace reading
    // the whole log must hold exactly as many events.
    grow(&log_path, &ws.sb.oidc.event_log);
    bao.clear();
    oidc.clear();
    ws.sync_all();
    assert_eq!(cache_state(&ws, "openbao").1, bao_before.1);
    let fresh = CliWs::load();
    add_oidc(&fresh);
    fresh.sync_all();
    assert_eq!(cache_state(&ws, "oidc"), cache_state(&fresh, "oidc"));
}

#[test]
fn postgres_behind_a_failing_network_ends_with_its_code_and_keeps_the_cache() {
    let ws = CliWs::load();
    let pg = &ws.sb.postgres;
    let proxy = Proxy::tcp(&format!("{}:{}", pg.host, pg.port)).unwrap();
    let url = pg.url.replace(
        &format!(":{}/", pg.port),
        &format!(":{}/", proxy.addr().port()),
    );
    ws.add_backend("postgres", "postgres", &url, PG_VAR);
    assert_eq!(sync(&ws, "postgres", QUICK)["ok"], true);
    let before = cache_state(&ws, "postgres");

    proxy.add(Rule::new(Fault::Reset));
    let (report, _) = check(&ws, "postgres", QUICK);
    assert_eq!(code(&report), "unreachable", "{report}");
    assert_eq!(code(&sync(&ws, "postgres", QUICK)), "unreachable");
    assert_eq!(cache_state(&ws, "postgres"), before);

    // A server that accepts and never speaks: the connect deadline ends it.
    proxy.clear();
    proxy.add(Rule::new(Fault::Stall));
    let report = sync(&ws, "postgres", SILENT);
    assert_eq!(code(&report), "timeout", "{report}");
    assert_eq!(cache_state(&ws, "postgres"), before);
}

// ---- revocation ----

fn curl(args: &[&str]) -> Value {
    portcullis_e2e::cli::curl_json(args).unwrap()
}

/// Fresh orphan OpenBao tokens carrying `policy` (granting nothing); their accessors.
fn bao_tokens(sb: &Sandbox, policy: &str, n: usize) -> Vec<String> {
    let body = format!(r#"{{"policies":["{policy}"],"ttl":"1h","no_parent":true}}"#);
    (0..n)
        .map(|_| {
            let v = curl(&[
                "-H",
                &format!("X-Vault-Token: {}", sb.openbao.root_token),
                "-d",
                &body,
                &format!("{}/v1/auth/token/create", sb.openbao.url),
            ]);
            v["auth"]["accessor"].as_str().unwrap().to_string()
        })
        .collect()
}

/// Whether OpenBao still knows an accessor (asked straight, with the root token).
fn bao_alive(sb: &Sandbox, accessor: &str) -> bool {
    let v = curl(&[
        "-H",
        &format!("X-Vault-Token: {}", sb.openbao.root_token),
        "-d",
        &format!(r#"{{"accessor":"{accessor}"}}"#),
        &format!("{}/v1/auth/token/lookup-accessor", sb.openbao.url),
    ]);
    v["data"]["accessor"] == accessor
}

/// A workspace whose OpenBao is behind `proxy`, holding `n` fresh tokens of one policy.
struct RevokeWs {
    ws: CliWs,
    proxy: Proxy,
    policy: String,
    /// accessor → cached credential id
    ids: Vec<(String, String)>,
}

impl RevokeWs {
    fn new(n: usize) -> RevokeWs {
        let ws = CliWs::load().acting_as("e2e-faults");
        let policy = format!("e2e-faults-{}", std::process::id());
        let accessors = bao_tokens(&ws.sb, &policy, n);
        let proxy = Proxy::http(&ws.sb.openbao.url).unwrap();
        ws.add_backend("openbao", "vault", &proxy.url(), BAO_VAR);
        ws.ok(&["sync", "openbao"]);
        let creds = ws.credentials("openbao");
        let ids = accessors
            .into_iter()
            .map(|a| {
                let c = creds.iter().find(|c| c["external_id"] == a.as_str());
                let id = c.unwrap_or_else(|| panic!("{a} not synced"))["id"].to_string();
                (a, id)
            })
            .collect();
        RevokeWs {
            ws,
            proxy,
            policy,
            ids,
        }
    }

    /// Revocations of `accessor` that reached OpenBao.
    fn sends(&self, accessor: &str) -> u32 {
        let per = self
            .proxy
            .reached_by(REVOKE_ACCESSOR, json_field("accessor"));
        per.get(accessor).copied().unwrap_or(0)
    }

    /// `revoke ID --yes` of the i-th token under `rule`: its item report.
    fn revoke_one(&self, i: usize, rule: Option<Rule>, limit: Duration) -> Value {
        self.proxy.clear();
        if let Some(rule) = rule {
            self.proxy.add(rule);
        }
        let (v, _, _) = self
            .ws
            .json_within(&["revoke", &self.ids[i].1, "--yes"], None, limit);
        self.proxy.clear();
        v.as_array().and_then(|a| a.first()).cloned().unwrap_or(v)
    }

    fn assert_journal_verifies(&self) {
        let v = self.ws.json(&["journal", "--verify"]);
        assert_eq!(v["ok"], true, "{v}");
    }
}

#[test]
fn one_revocation_under_each_fault_is_verified_or_fails_with_its_code_and_is_never_resent_blind() {
    let rw = RevokeWs::new(6);
    let elsewhere = Elsewhere::start();
    let rule = |f: Fault| Rule::new(f).path(REVOKE_ACCESSOR);

    // Faults before OpenBao saw the request: retried, and sent exactly once.
    let before = [
        rule(status(503, None)).times(1),
        rule(status(429, Some(1))).times(1),
        rule(Fault::Reset).times(1),
    ];
    for (i, r) in before.into_iter().enumerate() {
        let item = rw.revoke_one(i, Some(r), QUICK);
        assert_eq!(item["state"], "verified", "{item}");
        assert_eq!(rw.sends(&rw.ids[i].0), 1, "{item}");
    }

    // OpenBao revoked, the answer was lost: revoke-accessor is declared idempotent, so a
    // resend is allowed (today the HTTP layer's retry sends it a second time, unverified),
    // but the item must end verified and the token dead.
    let item = rw.revoke_one(3, Some(rule(Fault::ResetAfter).times(1)), QUICK);
    assert_eq!(item["state"], "verified", "{item}");
    assert!((1..=2).contains(&rw.sends(&rw.ids[3].0)), "{item}");

    // Faults that never end: the item fails with the code, nothing was sent, the token lives.
    let never = [
        (rule(Fault::Redirect(elsewhere.url.clone())), "redirected"),
        (rule(status(500, None)), "backend_error"),
    ];
    for (r, want) in never {
        let item = rw.revoke_one(4, Some(r), QUICK);
        assert_eq!(
            (item["state"].as_str(), code(&item)),
            (Some("failed"), want),
            "{item}"
        );
        assert_eq!(rw.sends(&rw.ids[4].0), 0);
        assert!(bao_alive(&rw.ws.sb, &rw.ids[4].0));
    }
    assert_eq!(elsewhere.hits(), 0, "a revocation followed a redirect");
    // …and once the network is well again, the same command finishes it.
    let item = rw.revoke_one(4, None, QUICK);
    assert_eq!(item["state"], "verified", "{item}");

    // Silent mid-body after OpenBao acted: the deadline ends the wait, the proof is asked for.
    let item = rw.revoke_one(5, Some(rule(Fault::Stall).times(1)), SILENT);
    assert_eq!(item["state"], "verified", "{item}");
    assert!((1..=2).contains(&rw.sends(&rw.ids[5].0)), "{item}");

    for (a, _) in &rw.ids {
        assert!(!bao_alive(&rw.ws.sb, a), "{a} is still alive");
    }
    rw.assert_journal_verifies();
}

#[test]
fn an_incident_under_mixed_faults_revokes_everything_once_and_the_journal_verifies() {
    const N: usize = 8;
    let rw = RevokeWs::new(N);
    let selection = format!("scope={}", rw.policy);
    let plan = rw.ws.json(&["revoke", "--select", &selection, "--dry-run"]);
    assert_eq!(plan["ready"].as_u64(), Some(N as u64), "{plan}");

    // The first revocations meet a 503, a 429 and a reset before OpenBao sees them; the batch
    // proof meets a 503 on the accessor listing.
    let r = |f: Fault, after: usize| Rule::new(f).path(REVOKE_ACCESSOR).after(after).times(1);
    rw.proxy.add(r(status(503, None), 0));
    rw.proxy.add(r(status(429, Some(1)), 1));
    rw.proxy.add(r(Fault::Reset, 2));
    rw.proxy.add(Rule::new(status(503, None)).path(ACCESSORS));
    let (report, out, _) = rw.ws.json_within(
        &[
            "revoke",
            "--select",
            &selection,
            &format!("--yes={N}"),
            "--concurrency",
            "2",
        ],
        None,
        QUICK * 2,
    );
    assert!(out.status.success(), "{report}");
    let items = report.as_array().unwrap();
    assert_eq!(items.len(), N);
    assert!(items.iter().all(|i| i["state"] == "verified"), "{report}");
    for (a, _) in &rw.ids {
        assert_eq!(rw.sends(a), 1, "{a} reached OpenBao {} times", rw.sends(a));
        assert!(!bao_alive(&rw.ws.sb, a), "{a} is still alive");
    }
    rw.assert_journal_verifies();
    let open = rw.ws.json(&["journal", "--unfinished"]);
    assert_eq!(open.as_array().map(Vec::len), Some(0), "{open}");
}

/// A network that goes silent mid-answer after the login (the server answered, nothing arrives):
/// the server's `statement_timeout` cannot end that, the client-side deadline on every statement
/// does (`Postgres::deadline`: the backend's timeout plus 5 s). Before it, sync waited for ever.
#[test]
fn postgres_going_silent_mid_answer_ends_as_a_timeout() {
    let ws = CliWs::load();
    let pg = &ws.sb.postgres;
    let proxy = Proxy::tcp(&format!("{}:{}", pg.host, pg.port)).unwrap();
    let url = pg.url.replace(
        &format!(":{}/", pg.port),
        &format!(":{}/", proxy.addr().port()),
    );
    ws.add_backend("postgres", "postgres", &url, PG_VAR);
    // Past the login (under 1 KiB), inside the catalog answers.
    proxy.add(Rule::new(Fault::StallAfter(3000)));
    let report = sync(&ws, "postgres", SILENT);
    assert_eq!(code(&report), "timeout", "{report}");
}
