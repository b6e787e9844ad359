//! The `portcullis` CLI against the REAL sandbox servers (node-oidc-provider, OpenBao,
//! PostgreSQL + pgaudit on loopback; `scripts/sandbox up`). Expectations come from the seed file
//! `scripts/sandbox.d/seed.toml` and the tokens the sandbox issued (`sandbox.json`).

use portcullis_e2e::cli_ws::CliWs;
use portcullis_e2e::sandbox_ws;
use portcullis_e2e::{repo_root, Sandbox};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn seed() -> toml::Value {
    let text = std::fs::read_to_string(repo_root().join("scripts/sandbox.d/seed.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

fn sandbox_dir() -> PathBuf {
    Sandbox::path().parent().unwrap().to_path_buf()
}

fn credentials_file() -> Value {
    serde_json::from_str(&std::fs::read_to_string(sandbox_dir().join("credentials.json")).unwrap())
        .unwrap()
}

type Ws = CliWs;

fn token(sb: &Sandbox, name: &str) -> (String, Option<String>) {
    let t = &sb.tokens[name];
    (
        t["value"].as_str().unwrap().to_string(),
        t["accessor"].as_str().map(str::to_string),
    )
}

fn fingerprint(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn strings(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn toml_strings(v: &toml::Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn checks_pass_and_sync_matches_the_seed() {
    let ws = Ws::load();
    ws.add_sandbox_backends();
    for b in ["oidc", "openbao", "postgres"] {
        let report = ws.json(&["backend", "check", b]);
        assert_eq!(report["ok"], true, "{b}: {report}");
        let missing: Vec<&Value> = report["rights"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["granted"] != true)
            .collect();
        assert!(missing.is_empty(), "{b} misses rights: {missing:?}");
    }
    let reports = ws.json(&["sync"]);
    for r in reports.as_array().unwrap() {
        assert_eq!(r["ok"], true, "{r}");
    }
    let seed = seed();

    // OpenBao: every seeded policy is a role; every seeded token is listed by accessor with its policies.
    let roles: Vec<String> = ws
        .json(&["principals", "--backend", "openbao"])
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| strings(&p["grants"]))
        .collect();
    let bao_creds = ws.credentials("openbao");
    for t in seed["openbao"]["tokens"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let (_, accessor) = token(&ws.sb, name);
        let accessor = accessor.unwrap();
        let c = bao_creds
            .iter()
            .find(|c| c["external_id"] == accessor.as_str())
            .unwrap_or_else(|| panic!("token {name} ({accessor}) not synced"));
        let mut expected = toml_strings(&t["policies"]);
        let mut got = strings(&c["scopes"]);
        got.retain(|p| p != "default");
        expected.retain(|p| p != "default");
        assert_eq!(got, expected, "policies of {name}");
        assert_eq!(c["status"], "active");
        if t.get("used").and_then(|u| u.as_bool()) == Some(true) {
            assert!(
                !c["last_used_at"].is_null(),
                "{name} is used by the seed's activity but has no last use"
            );
        } else {
            assert!(
                c["last_used_at"].is_null(),
                "{name} is never used but shows a last use: {c}"
            );
        }
    }
    for u in seed["openbao"]["users"].as_array().unwrap() {
        for p in toml_strings(&u["policies"]) {
            assert!(
                roles.contains(&p),
                "policy {p} of {} not granted in the cache",
                u["person"]
            );
        }
    }

    // OIDC: every seeded credential is known by fingerprint, with its scopes.
    let oidc_creds = ws.credentials("oidc");
    for c in seed["oidc"]["credentials"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let (value, _) = token(&ws.sb, name);
        let fp = fingerprint(&value);
        let found = oidc_creds
            .iter()
            .find(|x| x["external_id"] == fp.as_str())
            .unwrap_or_else(|| panic!("oidc credential {name} not synced"));
        let mut expected = toml_strings(&c["scopes"]);
        expected.retain(|s| s != "openid" && s != "offline_access");
        let mut got = strings(&found["scopes"]);
        got.retain(|s| s != "openid" && s != "offline_access");
        assert_eq!(got, expected, "scopes of {name}");
    }

    // PostgreSQL: every login role has a login credential; memberships are grants.
    let pg_principals = ws.json(&["principals", "--backend", "postgres"]);
    let pg_creds = ws.credentials("postgres");
    let disabled: Vec<&str> = seed["people"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["enabled"].as_bool() == Some(false))
        .filter_map(|p| p["name"].as_str())
        .collect();
    for r in seed["postgres"]["login_roles"].as_array().unwrap() {
        let name = r["name"].as_str().unwrap();
        let p = pg_principals
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("role {name} not synced"));
        for g in toml_strings(&r["member_of"]) {
            assert!(
                strings(&p["grants"]).contains(&g),
                "{name} should be a member of {g}: {p}"
            );
        }
        let offboarded = r["principal"]
            .as_str()
            .is_some_and(|pr| disabled.contains(&pr));
        let has_login = pg_creds
            .iter()
            .any(|c| c["external_id"] == format!("login:{name}"));
        // Offboarding sets NOLOGIN: the role stays, its login right goes.
        assert_eq!(
            has_login, !offboarded,
            "login credential of {name} (offboarded: {offboarded})"
        );
        assert_eq!(p["enabled"], !offboarded, "{name}");
    }
    for g in seed["postgres"]["group_roles"].as_array().unwrap() {
        let name = g["name"].as_str().unwrap();
        assert!(
            pg_principals
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == name && p["kind"] == "group"),
            "group {name} missing"
        );
    }
    assert!(
        pg_creds.iter().any(|c| c["kind"] == "session"),
        "the sandbox keeps sessions open; none synced"
    );

    // A second sync writes nothing and imports no event twice.
    let again = ws.json(&["sync"]);
    for r in again.as_array().unwrap() {
        assert_eq!(
            r["counts"]["rows_written"], 0,
            "unchanged inventory was rewritten: {r}"
        );
    }
}

#[test]
fn triage_recognises_tokens_and_tells_which_backend() {
    let ws = Ws::load();
    ws.add_sandbox_backends();
    let (oidc_value, _) = token(&ws.sb, "oidc-reporting");
    let out = ws.run_stdin(&["--json", "token", "inspect"], &oidc_value);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Value = serde_json::from_slice(&out.stdout).unwrap();
    let by = |b: &str| {
        results
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["backend"] == b)
            .unwrap()
            .clone()
    };
    assert!(by("openbao")["token"].is_null());
    let t = &by("oidc")["token"];
    assert_eq!(t["active"], true);
    assert_eq!(t["fingerprint"], fingerprint(&oidc_value));
    let seed = seed();
    let seeded = seed["oidc"]["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str() == Some("oidc-reporting"))
        .unwrap();
    assert_eq!(strings(&t["scopes"]), toml_strings(&seeded["scopes"]));
    // The value itself is nowhere in the workspace.
    let db = std::fs::read(ws.dir.path().join("cache.db")).unwrap();
    assert!(
        !db.windows(oidc_value.len())
            .any(|w| w == oidc_value.as_bytes()),
        "token value stored in the cache"
    );

    let (bao_value, accessor) = token(&ws.sb, "bao-svc-reporting");
    let out = ws.run_stdin(&["--json", "token", "inspect"], &bao_value);
    let results: Value = serde_json::from_slice(&out.stdout).unwrap();
    let bao = results
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["backend"] == "openbao")
        .unwrap();
    assert_eq!(bao["token"]["external_id"], accessor.unwrap().as_str());
    assert!(strings(&bao["token"]["scopes"]).contains(&"reporting-ro".to_string()));

    let out = ws.run_stdin(&["--json", "token", "inspect"], "not-a-token-anyone-issued");
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unknown token is a negative verdict"
    );
}

fn curl(args: &[&str]) -> Value {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10"])
        .args(args)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn bao_create_token(sb: &Sandbox, policy: &str) -> (String, String) {
    let v = curl(&[
        "-H",
        &format!("X-Vault-Token: {}", sb.openbao.root_token),
        "-X",
        "POST",
        "-d",
        &format!("{{\"policies\":[\"{policy}\"],\"ttl\":\"1h\",\"display_name\":\"e2e\"}}"),
        &format!("{}/v1/auth/token/create", sb.openbao.url),
    ]);
    (
        v["auth"]["client_token"].as_str().unwrap().to_string(),
        v["auth"]["accessor"].as_str().unwrap().to_string(),
    )
}

#[test]
fn revoking_one_credential_of_each_backend_is_confirmed_by_the_backend() {
    let ws = Ws::load();
    ws.add_sandbox_backends();

    // OpenBao: a token created now appears after the next sync, and revoking it by id kills it.
    let (bao_token, accessor) = bao_create_token(&ws.sb, "reporting-ro");
    ws.ok(&["sync", "openbao"]);
    let cred = ws
        .credentials("openbao")
        .into_iter()
        .find(|c| c["external_id"] == accessor.as_str())
        .expect("a token created before the sync is listed after it");
    let id = cred["id"].as_i64().unwrap().to_string();
    let out = ws.json(&["revoke", &id, "--yes"]);
    assert_eq!(out[0]["verification"]["dead"], true, "{out}");
    let lookup = curl(&[
        "-H",
        &format!("X-Vault-Token: {bao_token}"),
        &format!("{}/v1/auth/token/lookup-self", ws.sb.openbao.url),
    ]);
    assert!(
        lookup["errors"].is_array(),
        "OpenBao still accepts the revoked token: {lookup}"
    );

    // OAuth 2.0: a fresh client_credentials token, revoked by value; the server's introspection says inactive.
    let secrets = credentials_file();
    let secret = secrets["oidc_client_secrets"]["reporting"]
        .as_str()
        .unwrap();
    let issued = curl(&[
        "-u",
        &format!("reporting:{secret}"),
        "-d",
        "grant_type=client_credentials&scope=reports:read&resource=https://api.acme.test",
        &format!("{}/token", ws.sb.oidc.issuer),
    ]);
    let value = issued["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {issued}"))
        .to_string();
    let out = ws.run_stdin(&["--json", "token", "revoke", "--backend", "oidc"], &value);
    let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome[0]["verification"]["dead"], true, "{outcome}");
    let intro = curl(&[
        "-u",
        &format!("{}:{}", ws.sb.oidc.client_id, ws.sb.oidc.client_secret),
        "-d",
        &format!("token={value}"),
        &format!("{}/token/introspection", ws.sb.oidc.issuer),
    ]);
    assert_eq!(intro["active"], false, "{intro}");

    // PostgreSQL: a live session, terminated; pg_stat_activity no longer lists it.
    let pw = secrets["postgres_role_passwords"]["bob"].as_str().unwrap();
    let mut psql = Command::new("psql")
        .args([
            "-h",
            &ws.sb.postgres.host,
            "-p",
            &ws.sb.postgres.port.to_string(),
            "-U",
            "bob",
            &ws.sb.postgres.database,
            "-c",
            "SELECT pg_sleep(120)",
        ])
        .env("PGPASSWORD", pw)
        .env("PGAPPNAME", "e2e-victim")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let session = loop {
        ws.ok(&["sync", "postgres"]);
        if let Some(s) = ws
            .credentials("postgres")
            .into_iter()
            .find(|c| c["client"] == "e2e-victim")
        {
            break s;
        }
        assert!(Instant::now() < deadline, "the psql session never appeared");
    };
    let out = ws.json(&[
        "revoke",
        &session["id"].as_i64().unwrap().to_string(),
        "--yes",
    ]);
    assert_eq!(out[0]["verification"]["dead"], true, "{out}");
    let status = psql.wait().unwrap();
    assert!(!status.success(), "psql should have been disconnected");

    // Every action is journalled and the chain verifies.
    let v = ws.json(&["journal", "--verify"]);
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["entries"].as_u64().unwrap() >= 12, "{v}");
}

#[test]
fn unreachable_backends_and_wrong_credentials_get_their_codes() {
    let ws = Ws::load();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    ws.ok(&[
        "backend",
        "add",
        "gone",
        "--kind",
        "vault",
        "--url",
        &format!("http://127.0.0.1:{closed}"),
        "--credential-env",
        sandbox_ws::BAO_VAR,
    ]);
    ws.ok(&[
        "backend",
        "add",
        "badbao",
        "--kind",
        "vault",
        "--url",
        &ws.sb.openbao.url,
        "--credential-env",
        "T_WRONG",
    ]);
    ws.ok(&[
        "backend",
        "add",
        "badpg",
        "--kind",
        "postgres",
        "--url",
        &ws.sb.postgres.url,
        "--credential-env",
        "T_WRONG",
    ]);
    let oidc_url = ws
        .sb
        .oidc
        .issuer
        .replacen("://", &format!("://{}@", ws.sb.oidc.client_id), 1);
    ws.ok(&[
        "backend",
        "add",
        "badoidc",
        "--kind",
        "oauth2",
        "--url",
        &oidc_url,
        "--credential-env",
        "T_WRONG",
    ]);
    let check = |name: &str| {
        let out = ws
            .cmd(&["--json", "backend", "check", name])
            .env("T_WRONG", "definitely-wrong")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["error"]["code"].as_str().unwrap().to_string()
    };
    assert_eq!(check("gone"), "unreachable");
    assert_eq!(check("badbao"), "unauthorized");
    assert_eq!(check("badpg"), "unauthorized");
    assert_eq!(check("badoidc"), "unauthorized");
    // A sync with one broken backend still syncs the rest and reports each.
    ws.ok(&[
        "backend",
        "add",
        "openbao",
        "--kind",
        "vault",
        "--url",
        &ws.sb.openbao.url,
        "--credential-env",
        sandbox_ws::BAO_VAR,
    ]);
    let out = ws
        .cmd(&["--json", "sync"])
        .env("T_WRONG", "definitely-wrong")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ok: Vec<&str> = reports
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ok"] == true)
        .map(|r| r["backend"].as_str().unwrap())
        .collect();
    assert_eq!(ok, vec!["openbao"]);
}

/// Audit lines made by repeating the sandbox's OpenBao audit log with fresh request ids.
fn audit_lines(src: &Path, events: usize) -> Vec<String> {
    let text = std::fs::read_to_string(src).unwrap();
    let mut out = Vec::new();
    let mut i = 0;
    while out.len() < events {
        for line in text.lines() {
            let mut v: Value = serde_json::from_str(line).unwrap();
            if v["type"] != "response" || v["request"]["id"].is_null() {
                continue;
            }
            v["request"]["id"] =
                Value::String(format!("{}-{i}", v["request"]["id"].as_str().unwrap()));
            // Keep lines small: the test is about resumption, not payload size.
            v.as_object_mut().unwrap().remove("response");
            v["request"].as_object_mut().unwrap().remove("data");
            out.push(v.to_string());
        }
        i += 1;
    }
    out.truncate(events);
    out
}

/// The audit log is first a named pipe the test feeds by hand, so the sync is killed at a known
/// point (after some batches are committed, while it waits for more), not at a lucky moment.
#[test]
fn a_sync_killed_halfway_resumes_and_ends_with_the_same_counts() {
    use std::io::Write;
    let ws = Ws::load();
    let lines = audit_lines(&ws.sb.openbao.audit_log, 9_000);
    let log = ws.dir.path().join("audit.log");
    let status = Command::new("mkfifo").arg(&log).status().unwrap();
    assert!(status.success());
    ws.ok(&[
        "backend",
        "add",
        "openbao",
        "--kind",
        "vault",
        "--url",
        &ws.sb.openbao.url,
        "--credential-env",
        sandbox_ws::BAO_VAR,
        "--audit-log",
        &log.display().to_string(),
    ]);
    let mut child = ws
        .cmd(&["sync"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Opening the pipe for writing waits until the sync opens it for reading.
    let mut pipe = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    for l in &lines[..5_000] {
        writeln!(pipe, "{l}").unwrap();
    }
    pipe.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let partial = loop {
        let n = ws.json(&["overview"])["totals"]["audit_events"]
            .as_u64()
            .unwrap_or(0);
        if n >= 4_000 {
            break n;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sync stopped early"
        );
        assert!(
            Instant::now() < deadline,
            "no batch was committed ({n} events)"
        );
    };
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    drop(pipe);
    assert!(partial < lines.len() as u64);

    // The log is now a plain file with everything; the next sync picks up where the last stopped.
    std::fs::remove_file(&log).unwrap();
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let reports = ws.json(&["sync"]);
    assert_eq!(reports[0]["ok"], true, "{reports}");
    let after = ws.json(&["overview"])["totals"]["audit_events"]
        .as_u64()
        .unwrap();
    assert_eq!(after, lines.len() as u64, "every event exactly once");
    assert_eq!(
        reports[0]["counts"]["audit_events"].as_u64().unwrap(),
        lines.len() as u64 - partial
    );
}

/// The OS keychain path: the secret goes in through stdin, lands in the Secret Service (a private
/// gnome-keyring started by tests/with-keyring.sh), and never in the workspace.
#[test]
fn keychain_credentials_work_and_never_touch_the_workspace() {
    assert!(
        std::env::var_os("PORTCULLIS_TEST_KEYRING").is_some(),
        "run under tests/with-keyring.sh (make test does), which provides a private unlocked keyring"
    );
    let ws = Ws::load();
    let token = ws.sb.openbao.token.clone();
    let out = ws.run_stdin(
        &[
            "backend",
            "add",
            "kc-bao",
            "--kind",
            "vault",
            "--url",
            &ws.sb.openbao.url,
        ],
        &format!("{token}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = ws.json(&["backend", "list"]);
    assert_eq!(list[0]["credential"]["source"], "keychain");
    let report = ws.json(&["backend", "check", "kc-bao"]);
    assert_eq!(report["ok"], true, "{report}");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(ws.dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        seen.push(bytes.windows(token.len()).any(|w| w == token.as_bytes()));
    }
    assert!(
        !seen.iter().any(|s| *s),
        "the token was written into the workspace"
    );
    let lookup = || {
        Command::new("secret-tool")
            .args([
                "lookup",
                "service",
                "portcullis",
                "username",
                "backend/kc-bao",
            ])
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(
        String::from_utf8_lossy(&lookup()),
        token,
        "the keychain holds the token"
    );
    ws.ok(&["backend", "remove", "kc-bao"]);
    assert!(
        lookup().is_empty(),
        "the keychain entry must go with the backend"
    );
}
