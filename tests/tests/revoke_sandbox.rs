//! Revocation against the REAL sandbox servers: one credential of each backend previewed,
//! revoked and verified; an incident revocation of everything one seeded person holds, checked
//! with each backend's own tools; a bulk run killed with SIGKILL and resumed; a backend that dies
//! in the middle of a run.
//!
//! Interruptions are made deterministic with the harness's fault proxy (`proxy.rs`) in front of
//! OpenBao as a gate: it counts every revoke-accessor that reaches OpenBao (so "never sent twice"
//! is counted, not assumed), and after N revocations either holds the rest (the run is stuck at a
//! known point, then killed) or dies (closes every connection and its port).
//!
//! Run with the sandbox's environment: `cargo build -p portcullis-cli && cargo test -p
//! portcullis-e2e --test revoke_sandbox -- --test-threads=1`. The incident test re-seeds the
//! sandbox when it ends (`reseed_sandbox`), so later tests see the pristine seed.

use portcullis_e2e::cli_ws::CliWs;
use portcullis_e2e::proxy::{json_field, Fault, Proxy, Rule};
use portcullis_e2e::sandbox_ws::{self, BAO_VAR};
use portcullis_e2e::{reseed_sandbox, Sandbox};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(90);

fn sandbox_dir() -> PathBuf {
    Sandbox::path().parent().unwrap().to_path_buf()
}

fn credentials_file() -> Value {
    serde_json::from_str(&std::fs::read_to_string(sandbox_dir().join("credentials.json")).unwrap())
        .unwrap()
}

fn fingerprint(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A CLI workspace of the test's own (acting as `e2e-reviewer`), with the journal checks these
/// tests make.
struct Ws(CliWs);

impl std::ops::Deref for Ws {
    type Target = CliWs;
    fn deref(&self) -> &CliWs {
        &self.0
    }
}

impl Ws {
    fn new() -> Ws {
        Ws(CliWs::load().acting_as("e2e-reviewer"))
    }

    /// The three sandbox backends without OpenBao's audit log: revoking needs none, and every
    /// sync would otherwise ingest a log these tests grow by thousands of entries.
    fn add_backends_for_revocation(&self) {
        sandbox_ws::add_backends_with(self.path(), &self.sb, false)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    fn tokens_file(&self, values: &[&str]) -> String {
        let path = self.dir.path().join("tokens.txt");
        std::fs::write(&path, values.join("\n") + "\n").unwrap();
        path.display().to_string()
    }

    /// Journal entries of revoke actions in a given state.
    fn journal_count(&self, state: &str) -> usize {
        self.json(&["journal"])
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "revoke" && e["state"] == state)
            .count()
    }

    fn assert_journal_intact_and_finished(&self) {
        let v = self.json(&["journal", "--verify"]);
        assert_eq!(v["ok"], true, "{v}");
        let open = self.json(&["journal", "--unfinished"]);
        assert_eq!(open.as_array().unwrap().len(), 0, "unfinished: {open}");
    }
}

fn curl(args: &[&str]) -> Value {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10"])
        .args(args)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// Creates orphan OpenBao tokens carrying `policy` (a policy that exists nowhere: it grants
/// nothing and names this test's tokens); returns (value, accessor) pairs.
fn bao_tokens(sb: &Sandbox, policy: &str, n: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let chunk = 25;
    for start in (0..n).step_by(chunk) {
        let handles: Vec<_> = (start..(start + chunk).min(n))
            .map(|i| {
                let url = sb.openbao.url.clone();
                let root = sb.openbao.root_token.clone();
                let policy = policy.to_string();
                std::thread::spawn(move || {
                    let v = curl(&[
                        "-H",
                        &format!("X-Vault-Token: {root}"),
                        "-X",
                        "POST",
                        "-d",
                        &format!(
                            "{{\"policies\":[\"{policy}\"],\"ttl\":\"1h\",\"display_name\":\"e2e-{i}\",\"no_parent\":true}}"
                        ),
                        &format!("{url}/v1/auth/token/create"),
                    ]);
                    (
                        v["auth"]["client_token"].as_str().unwrap().to_string(),
                        v["auth"]["accessor"].as_str().unwrap().to_string(),
                    )
                })
            })
            .collect();
        out.extend(handles.into_iter().map(|h| h.join().unwrap()));
    }
    out
}

/// Whether OpenBao still knows an accessor (asked with the root token, straight to the server).
fn bao_alive(sb: &Sandbox, accessor: &str) -> bool {
    let v = curl(&[
        "-H",
        &format!("X-Vault-Token: {}", sb.openbao.root_token),
        "-X",
        "POST",
        "-d",
        &format!("{{\"accessor\":\"{accessor}\"}}"),
        &format!("{}/v1/auth/token/lookup-accessor", sb.openbao.url),
    ]);
    v["data"]["accessor"] == accessor
}

fn introspect(sb: &Sandbox, value: &str) -> Value {
    curl(&[
        "-u",
        &format!("{}:{}", sb.oidc.client_id, sb.oidc.client_secret),
        "-d",
        &format!("token={value}"),
        &format!("{}/token/introspection", sb.oidc.issuer),
    ])
}

fn psql(sb: &Sandbox, role: &str, sql: &str, app: &str) -> Command {
    let pw = credentials_file()["postgres_role_passwords"][role]
        .as_str()
        .unwrap_or_else(|| panic!("no password for {role}"))
        .to_string();
    let mut c = Command::new("psql");
    c.args([
        "-h",
        &sb.postgres.host,
        "-p",
        &sb.postgres.port.to_string(),
        "-U",
        role,
        "-v",
        "ON_ERROR_STOP=1",
        &sb.postgres.database,
        "-c",
        sql,
    ])
    .env("PGPASSWORD", pw)
    .env("PGAPPNAME", app)
    .env("PGCONNECT_TIMEOUT", "10");
    c
}

/// Syncs postgres until a session of application `app` is cached; returns its credential.
fn wait_for_session(ws: &Ws, app: &str, child: &mut Child) -> Value {
    let deadline = Instant::now() + DEADLINE;
    loop {
        ws.ok(&["sync", "postgres"]);
        if let Some(s) = ws
            .credentials("postgres")
            .into_iter()
            .find(|c| c["client"] == app)
        {
            return s;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the psql session ended early"
        );
        assert!(Instant::now() < deadline, "the psql session never appeared");
    }
}

const REVOKE_ACCESSOR: &str = "/v1/auth/token/revoke-accessor";

/// A proxy in front of OpenBao that forwards the first `limit` revocations and does `fault` to
/// the rest.
fn gate(sb: &Sandbox, fault: Fault, limit: usize) -> Proxy {
    let gate = Proxy::http(&sb.openbao.url).unwrap();
    gate.add(Rule::new(fault).path(REVOKE_ACCESSOR).after(limit));
    gate
}

fn items_by_key(v: &Value) -> HashMap<String, Value> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| (i["key"].as_str().unwrap().to_string(), i.clone()))
        .collect()
}

#[test]
fn one_credential_of_each_backend_is_previewed_revoked_and_verified() {
    let ws = Ws::new();
    ws.add_backends_for_revocation();

    // OpenBao: a token created now; the preview says what will and will not happen.
    let (value, accessor) = bao_tokens(&ws.sb, "e2e-one-click", 1).remove(0);
    ws.ok(&["sync", "openbao"]);
    let cred = ws
        .credentials("openbao")
        .into_iter()
        .find(|c| c["external_id"] == accessor.as_str())
        .expect("the new token is cached after a sync");
    let id = cred["id"].as_i64().unwrap().to_string();
    let plan = ws.json(&["revoke", &id, "--dry-run"]);
    let item = &plan["items"][0];
    assert_eq!(item["readiness"], "ready", "{plan}");
    assert!(item["action"].as_str().unwrap().contains("revoke-accessor"));
    assert!(
        item["will_not"].as_array().unwrap().len() >= 2,
        "caveats up front: {item}"
    );
    assert!(bao_alive(&ws.sb, &accessor), "a dry run sends nothing");
    let out = ws.json(&["revoke", &id, "--yes"]);
    assert_eq!(out[0]["state"], "verified", "{out}");
    assert_eq!(out[0]["verification"]["dead"], true);
    let lookup = curl(&[
        "-H",
        &format!("X-Vault-Token: {value}"),
        &format!("{}/v1/auth/token/lookup-self", ws.sb.openbao.url),
    ]);
    assert!(
        lookup["errors"].is_array(),
        "OpenBao still accepts it: {lookup}"
    );

    // OAuth 2.0: the cache knows the token by fingerprint only; the plan says the value is
    // needed and that this server offers nothing else; with the value it is revoked.
    let secret = credentials_file()["oidc_client_secrets"]["reporting"]
        .as_str()
        .unwrap()
        .to_string();
    let issued = curl(&[
        "-u",
        &format!("reporting:{secret}"),
        "-d",
        "grant_type=client_credentials&scope=reports:read&resource=https://api.acme.test",
        &format!("{}/token", ws.sb.oidc.issuer),
    ]);
    let token = issued["access_token"].as_str().unwrap().to_string();
    ws.ok(&["sync", "oidc"]);
    let cred = ws
        .credentials("oidc")
        .into_iter()
        .find(|c| c["external_id"] == fingerprint(&token).as_str())
        .expect("the new token is cached by fingerprint after a sync");
    let id = cred["id"].as_i64().unwrap().to_string();
    let plan = ws.json(&["revoke", &id, "--dry-run"]);
    let item = &plan["items"][0];
    assert_eq!(item["readiness"], "needs_token_value", "{item}");
    assert!(item["blocked_reason"]
        .as_str()
        .unwrap()
        .contains("RFC 7009"));
    assert!(item["alternatives"][0]
        .as_str()
        .unwrap()
        .contains("no admin API"));
    let (out, res) = ws.json_of(&["revoke", &id, "--yes"]);
    assert_eq!(
        out[0]["state"], "skipped",
        "nothing sent without the value: {out}"
    );
    assert_eq!(res.status.code(), Some(1));
    assert_eq!(introspect(&ws.sb, &token)["active"], true);
    let file = ws.tokens_file(&[&token]);
    let out = ws.json(&["revoke", &id, "--tokens-from", &file, "--yes"]);
    assert_eq!(out[0]["state"], "verified", "{out}");
    assert_eq!(introspect(&ws.sb, &token)["active"], false);
    let db = std::fs::read(ws.dir.path().join("cache.db")).unwrap();
    assert!(
        !db.windows(token.len()).any(|w| w == token.as_bytes()),
        "a token value reached the cache"
    );

    // PostgreSQL: a live session, terminated, and pg_stat_activity no longer lists it.
    let mut victim = psql(&ws.sb, "bob", "SELECT pg_sleep(300)", "e2e-one-click")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let session = wait_for_session(&ws, "e2e-one-click", &mut victim);
    let id = session["id"].as_i64().unwrap().to_string();
    let plan = ws.json(&["revoke", &id, "--dry-run"]);
    let item = &plan["items"][0];
    assert!(item["action"]
        .as_str()
        .unwrap()
        .contains("pg_terminate_backend"));
    assert!(item["will_not"][0].as_str().unwrap().contains("NOLOGIN"));
    let out = ws.json(&["revoke", &id, "--yes"]);
    assert_eq!(out[0]["state"], "verified", "{out}");
    assert!(
        !victim.wait().unwrap().success(),
        "psql should have been disconnected"
    );

    ws.assert_journal_intact_and_finished();
}

#[test]
fn incident_revokes_everything_alice_holds_across_all_backends() {
    let ws = Ws::new();
    ws.add_backends_for_revocation();
    let sb = ws.sb.clone();
    let mut session = psql(&sb, "alice", "SELECT pg_sleep(300)", "e2e-alice")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    ws.ok(&["sync"]);
    wait_for_session(&ws, "e2e-alice", &mut session);

    // Dry run without the OAuth 2.0 token: it is listed, not sendable, with its collateral.
    let plan = ws.json(&["revoke", "--select", "principal=alice", "--dry-run"]);
    let items = items_by_key(&plan["items"]);
    let alice_bao = sb.tokens["bao-alice-login"]["accessor"].as_str().unwrap();
    assert_eq!(
        items[&format!("openbao:accessor:{alice_bao}")]["readiness"],
        "ready"
    );
    assert_eq!(items["postgres:login:alice"]["readiness"], "ready");
    assert!(items
        .keys()
        .any(|k| k.starts_with("postgres:session:") && items[k]["readiness"] == "ready"));
    let refresh_value = sb.tokens["oidc-alice-dashboard"]["value"].as_str().unwrap();
    let refresh_key = format!("oidc:refresh_token:{}", fingerprint(refresh_value));
    let refresh = &items[&refresh_key];
    assert_eq!(refresh["readiness"], "needs_token_value", "{refresh}");
    assert!(
        !refresh["collateral"].as_array().unwrap().is_empty(),
        "the grant's access tokens die with it: {refresh}"
    );
    assert_eq!(items["openbao:login:alice"]["readiness"], "unsupported");
    assert!(
        !items
            .keys()
            .any(|k| k.starts_with("openbao:accessor:")
                && *k != format!("openbao:accessor:{alice_bao}")),
        "nobody else's token is selected"
    );
    let without = plan["ready"].as_u64().unwrap();

    // With alice's refresh token brought in, it is sendable and covers its access tokens.
    let file = ws.tokens_file(&[refresh_value]);
    let plan = ws.json(&[
        "revoke",
        "--select",
        "principal=alice",
        "--tokens-from",
        &file,
        "--dry-run",
    ]);
    let ready = plan["ready"].as_u64().unwrap();
    assert_eq!(ready, without + 1);
    // A confirmation that names another count sends nothing.
    let out = ws.run(&[
        "revoke",
        "--select",
        "principal=alice",
        "--tokens-from",
        &file,
        &format!("--yes={}", ready + 1),
    ]);
    assert!(!out.status.success());
    assert!(bao_alive(&sb, alice_bao), "nothing sent on a wrong count");

    let (report, out) = ws.json_of(&[
        "revoke",
        "--select",
        "principal=alice",
        "--tokens-from",
        &file,
        &format!("--yes={ready}"),
    ]);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let items = items_by_key(&report);
    let sent: Vec<&Value> = items
        .values()
        .filter(|i| !i["journal_seq"].is_null())
        .collect();
    assert_eq!(sent.len() as u64, ready);
    for i in &sent {
        assert_eq!(i["state"], "verified", "{i}");
    }
    assert!(items
        .values()
        .any(|i| i["state"] == "covered" && i["key"].as_str().unwrap().contains("access_token")));

    // Each backend, asked with its own tools, agrees.
    let alice_bao_token = sb.tokens["bao-alice-login"]["value"].as_str().unwrap();
    let lookup = curl(&[
        "-H",
        &format!("X-Vault-Token: {alice_bao_token}"),
        &format!("{}/v1/auth/token/lookup-self", sb.openbao.url),
    ]);
    assert!(lookup["errors"].is_array(), "{lookup}");
    assert_eq!(introspect(&sb, refresh_value)["active"], false);
    assert!(
        !session.wait().unwrap().success(),
        "alice's open session was terminated"
    );
    let login = psql(&sb, "alice", "SELECT 1", "e2e-alice-again")
        .output()
        .unwrap();
    assert!(!login.status.success());
    assert!(
        String::from_utf8_lossy(&login.stderr).contains("not permitted to log in"),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    // Bob is untouched.
    let bob = sb.tokens["bao-bob-login"]["accessor"].as_str().unwrap();
    assert!(bao_alive(&sb, bob));

    // The journal names the incident, its selection and the confirmed count.
    let journal = ws.json(&["journal"]);
    let incident: Vec<&Value> = journal
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "incident")
        .collect();
    assert_eq!(incident[0]["target"], "principal=alice");
    assert_eq!(incident[0]["detail"]["count"].as_u64(), Some(ready));
    assert_eq!(incident[1]["state"], "confirmed");
    assert_eq!(incident[1]["actor"], "e2e-reviewer");
    assert_eq!(incident.last().unwrap()["state"], "verified");
    ws.assert_journal_intact_and_finished();

    reseed_sandbox().expect("re-seeding the sandbox after revoking alice");
}

/// Syncs a backend until it lists every accessor.
fn sync_until_listed(ws: &Ws, backend: &str, accessors: &[String]) -> Vec<Value> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        ws.ok(&["sync", backend]);
        let creds = ws.credentials(backend);
        let listed = accessors
            .iter()
            .filter(|a| creds.iter().any(|c| c["external_id"] == a.as_str()))
            .count();
        if listed == accessors.len() {
            return creds;
        }
        assert!(
            Instant::now() < deadline,
            "{backend} lists {listed} of {} tokens",
            accessors.len()
        );
    }
}

#[test]
fn a_bulk_revocation_killed_with_sigkill_resumes_and_sends_nothing_twice() {
    let ws = Ws::new();
    const TOKENS: usize = 120;
    const BEFORE_KILL: usize = 40;
    let policy = format!("e2e-kill-{}", std::process::id());
    let tokens = bao_tokens(&ws.sb, &policy, TOKENS);
    let accessors: Vec<String> = tokens.iter().map(|(_, a)| a.clone()).collect();
    let gate = gate(&ws.sb, Fault::Hold, BEFORE_KILL);
    ws.add_backend("openbao", "vault", &gate.url(), BAO_VAR);
    sync_until_listed(&ws, "openbao", &accessors);

    let selection = format!("scope={policy}");
    let plan = ws.json(&["revoke", "--select", &selection, "--dry-run"]);
    assert_eq!(plan["ready"].as_u64(), Some(TOKENS as u64));
    let mut child = ws
        .cmd(&[
            "--json",
            "revoke",
            "--select",
            &selection,
            &format!("--yes={TOKENS}"),
            "--concurrency",
            "4",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The gate lets BEFORE_KILL revocations through and holds the rest: wait until the journal
    // shows them confirmed and the run is stuck on held requests, then kill it mid-flight. None
    // is verified yet: a run proves its items only once all of them are sent.
    let deadline = Instant::now() + DEADLINE;
    loop {
        let confirmed = ws.journal_count("confirmed");
        if confirmed >= BEFORE_KILL && gate.held() > 0 {
            assert_eq!(
                confirmed, BEFORE_KILL,
                "held revocations cannot have been confirmed"
            );
            assert_eq!(ws.journal_count("verified"), 0);
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was killed"
        );
        assert!(
            Instant::now() < deadline,
            "{confirmed} confirmed, {} held",
            gate.held()
        );
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // The held requests were already on the wire: let them reach OpenBao (a send whose answer the
    // dead process never saw), then resume.
    let held = gate.held();
    gate.release();
    let deadline = Instant::now() + DEADLINE;
    while gate.held() > 0 {
        assert!(Instant::now() < deadline, "held requests never drained");
        std::thread::yield_now();
    }
    let open = ws.json(&["journal", "--unfinished"]);
    let unfinished = open.as_array().unwrap();
    assert!(
        unfinished.len() > TOKENS,
        "{} unfinished: every item and the incident",
        unfinished.len()
    );
    assert!(unfinished.iter().any(|u| u["action"] == "incident"));

    let (report, out) = ws.json_of(&["resume"]);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let items = report.as_array().unwrap();
    assert_eq!(items.len(), TOKENS);
    assert!(items
        .iter()
        .all(|i| i["state"] == "verified" && i["resumed"] == true));
    let found_dead = items.iter().filter(|i| i["sends"] == 0).count();
    assert!(
        found_dead >= BEFORE_KILL + held,
        "the {BEFORE_KILL} confirmed before the kill and the {held} sends that landed after it were found dead, not resent ({found_dead})"
    );

    // Every token is dead, each revocation reached OpenBao exactly once, the chain holds.
    for a in &accessors {
        assert!(!bao_alive(&ws.sb, a), "{a} is still alive");
    }
    let forwarded = gate.reached_by(REVOKE_ACCESSOR, json_field("accessor"));
    for a in &accessors {
        assert_eq!(
            forwarded.get(a).copied(),
            Some(1),
            "{a} was sent {:?} times",
            forwarded.get(a)
        );
    }
    let journal = ws.json(&["journal"]);
    let last = journal.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["action"].as_str(), last["state"].as_str()),
        (Some("incident"), Some("verified")),
        "{last}"
    );
    ws.assert_journal_intact_and_finished();
}

#[test]
fn a_backend_that_dies_mid_run_fails_its_items_with_reasons_while_the_rest_completes() {
    let ws = Ws::new();
    const EACH: usize = 60;
    const BEFORE_DEATH: usize = 15;
    let pid = std::process::id();
    let steady = bao_tokens(&ws.sb, &format!("e2e-steady-{pid}"), EACH);
    let doomed = bao_tokens(&ws.sb, &format!("e2e-doomed-{pid}"), EACH);
    let steady_acc: Vec<String> = steady.iter().map(|(_, a)| a.clone()).collect();
    let doomed_acc: Vec<String> = doomed.iter().map(|(_, a)| a.clone()).collect();
    let gate = gate(&ws.sb, Fault::Die, BEFORE_DEATH);
    ws.add_backend("openbao", "vault", &ws.sb.openbao.url, BAO_VAR);
    ws.add_backend("bao-dying", "vault", &gate.url(), BAO_VAR);
    let direct = sync_until_listed(&ws, "openbao", &steady_acc);
    let dying = sync_until_listed(&ws, "bao-dying", &doomed_acc);
    let ids = |creds: &[Value], accs: &[String]| -> Vec<String> {
        creds
            .iter()
            .filter(|c| accs.iter().any(|a| c["external_id"] == a.as_str()))
            .map(|c| c["id"].as_i64().unwrap().to_string())
            .collect()
    };
    let mut args: Vec<String> = vec!["revoke".into()];
    args.extend(ids(&direct, &steady_acc));
    args.extend(ids(&dying, &doomed_acc));
    args.extend(["--yes".into(), "--concurrency".into(), "4".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (report, out) = ws.json_of(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed item is a negative verdict"
    );
    let items = report.as_array().unwrap();
    assert_eq!(items.len(), 2 * EACH);

    for i in items.iter().filter(|i| i["backend"] == "openbao") {
        assert_eq!(i["state"], "verified", "{i}");
    }
    let dying_items: Vec<&Value> = items
        .iter()
        .filter(|i| i["backend"] == "bao-dying")
        .collect();
    let failed: Vec<&&Value> = dying_items
        .iter()
        .filter(|i| i["state"] == "failed")
        .collect();
    assert!(
        failed.len() >= EACH - BEFORE_DEATH,
        "{} failed of {EACH}",
        failed.len()
    );
    for f in &failed {
        let e = &f["error"];
        assert!(
            e["code"] == "unreachable" || e["message"].as_str().unwrap().contains("not sent"),
            "a reason: {f}"
        );
    }
    // What the gate let through is dead; what failed is really still alive.
    let forwarded = gate.reached_by(REVOKE_ACCESSOR, json_field("accessor"));
    assert_eq!(forwarded.len(), BEFORE_DEATH);
    for i in &dying_items {
        let acc = i["key"]
            .as_str()
            .unwrap()
            .trim_start_matches("bao-dying:accessor:");
        assert_eq!(
            bao_alive(&ws.sb, acc),
            !forwarded.contains_key(acc),
            "{acc}: {i}"
        );
        if i["state"] == "verified" {
            assert!(forwarded.contains_key(acc));
        }
    }
    for a in &steady_acc {
        assert!(!bao_alive(&ws.sb, a));
    }
    ws.assert_journal_intact_and_finished();
    // Leave nothing alive behind.
    for (_, a) in &doomed {
        if bao_alive(&ws.sb, a) {
            curl(&[
                "-H",
                &format!("X-Vault-Token: {}", ws.sb.openbao.root_token),
                "-X",
                "POST",
                "-d",
                &format!("{{\"accessor\":\"{a}\"}}"),
                &format!("{}/v1/auth/token/revoke-accessor", ws.sb.openbao.url),
            ]);
        }
    }
}
