//! Secret canaries: unique values planted everywhere a secret reaches the console — backend
//! credentials (keychain through stdin, and an environment variable), a token pasted into
//! triage and into an incident's token list, and the places secrets live in audit lines of
//! every import format — then every command that reads, shows, exports or reviews them runs
//! with `-vv`, and every byte of the workspace (the SQLite files and their WAL files read raw,
//! exports, evidence) and of every command's stdout and stderr is scanned. No canary may be
//! found. Audit-line secrets are redacted at ingest to `redacted:<fingerprint>`, so the scan
//! looks for each canary's random part, never for a fingerprint.
//!
//! Run inside `tests/with-keyring.sh` with the sandbox's environment: `cargo build -p
//! portcullis-cli && tests/with-keyring.sh cargo test -p portcullis-e2e --test canary_sandbox`.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Output;

use portcullis_e2e::cli_ws::CliWs;
use portcullis_e2e::sandbox_ws;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The canaries planted so far and every byte the CLI printed.
struct Canaries {
    ws: CliWs,
    planted: RefCell<Vec<(String, String)>>,
    printed: RefCell<Vec<(String, Vec<u8>)>>,
}

impl Canaries {
    fn new() -> Canaries {
        Canaries {
            ws: CliWs::load(),
            planted: RefCell::new(Vec::new()),
            printed: RefCell::new(Vec::new()),
        }
    }

    /// A new canary for `place`: `CANARY-` and 32 hex digits no other run shares.
    fn plant(&self, place: &str) -> String {
        let seed = format!(
            "{place}:{}:{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        );
        let value = format!(
            "CANARY-{}",
            &hex::encode(Sha256::digest(seed.as_bytes()))[..32]
        );
        self.planted
            .borrow_mut()
            .push((place.to_string(), value.clone()));
        value
    }

    fn keep(&self, what: &str, out: &Output) {
        let mut printed = self.printed.borrow_mut();
        printed.push((format!("stdout of {what}"), out.stdout.clone()));
        printed.push((format!("stderr of {what}"), out.stderr.clone()));
    }

    /// Runs `portcullis -vv ARGS…` with `stdin` and extra environment; keeps its output.
    fn run(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
        let mut all = vec!["-vv"];
        all.extend_from_slice(args);
        let mut cmd = self.ws.cmd(&all);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = match stdin {
            Some(text) => pipe_into(cmd, text),
            None => cmd.output().unwrap(),
        };
        self.keep(&format!("{args:?}"), &out);
        out
    }

    /// [`Canaries::run`] with `--json`; the command must succeed.
    fn json(&self, args: &[&str], stdin: Option<&str>) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all, stdin, &[]);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.ws.path().join(name)
    }

    /// Where each canary was found: every file under the workspace, every output.
    fn found(&self) -> Vec<String> {
        let mut places = self.printed.borrow().clone();
        for file in files_under(self.ws.path()) {
            let bytes = std::fs::read(&file).unwrap_or_default();
            places.push((file.display().to_string(), bytes));
        }
        // Lower case, so a canary re-cased still counts; lossy UTF-8 keeps every ASCII byte
        // where it was, and the needles are ASCII.
        let texts: Vec<(String, String)> = places
            .into_iter()
            .map(|(w, b)| (w, String::from_utf8_lossy(&b).to_ascii_lowercase()))
            .collect();
        let mut found = Vec::new();
        for (place, canary) in self.planted.borrow().iter() {
            // The random part alone: a canary escaped or cut at its prefix still counts.
            let needle = canary.trim_start_matches("CANARY-");
            for (where_, text) in &texts {
                if text.contains(needle) {
                    found.push(format!("the canary of {place} in {where_}"));
                }
            }
        }
        found
    }
}

fn pipe_into(mut cmd: std::process::Command, text: &str) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn line(v: Value) -> String {
    v.to_string() + "\n"
}

/// Audit lines of every import format with canaries where each format keeps its secrets.
fn audit_files(c: &Canaries) -> Vec<(&'static str, &'static str, String)> {
    let vault = line(json!({
        "time": "2026-11-20T10:00:00.000Z", "type": "response",
        "auth": { "client_token": c.plant("vault auth.client_token"), "accessor": "hmac-sha256:1",
                  "display_name": "userpass-alice", "policies": ["default"] },
        "request": { "id": "canary-vault-1", "operation": "update",
                     "path": "auth/userpass/login/alice", "remote_address": "10.9.9.9",
                     "client_token": c.plant("vault request.client_token"),
                     "data": { "password": c.plant("vault request.data.password") },
                     "headers": { "authorization": [format!("Bearer {}", c.plant("vault Authorization header"))] } },
        "response": { "auth": { "client_token": c.plant("vault response.auth.client_token") } }
    }));
    let statement = format!(
        "ALTER ROLE alice PASSWORD '{}'",
        c.plant("pgaudit ALTER ROLE PASSWORD")
    );
    let pgaudit = line(json!({
        "timestamp": "2026-11-20 10:00:01.000 UTC", "user": "postgres", "dbname": "acme",
        "session_id": "canary.1", "line_num": 1, "error_severity": "LOG",
        "message": format!("AUDIT: SESSION,1,1,ROLE,ALTER ROLE,,,\"{statement}\",<not logged>")
    })) + line(json!({
        "timestamp": "2026-11-20 10:00:02.000 UTC", "user": "mallory", "dbname": "acme",
        "session_id": "canary.2", "line_num": 1, "error_severity": "ERROR", "state_code": "42501",
        "message": "permission denied for table payments",
        "statement": format!("CREATE USER MAPPING FOR mallory SERVER s OPTIONS (password '{}')", c.plant("pgaudit FDW password")),
    }))
    .as_str();
    let oidc = line(json!({
        "ts": "2026-11-20T10:00:03.000Z", "event": "token.used", "client_id": "billing-api",
        "account_id": "alice", "grant_id": null, "scope": "payments:read", "fingerprint": null,
        "source_ip": "10.9.9.9", "outcome": "allow",
        "url": format!("/me?access_token={}", c.plant("oidc access_token in a URL")),
        "access_token": c.plant("oidc access_token field"),
        "refresh_token": c.plant("oidc refresh_token field"),
        "detail": format!("Authorization: Bearer {} client_secret={}", c.plant("oidc Authorization in detail"), c.plant("oidc client_secret in detail")),
    }));
    let kong = line(json!({
        "started_at": 1_795_000_000_000_i64, "client_ip": "10.9.9.9",
        "request": { "method": "GET", "uri": format!("/api?apikey={}", c.plant("kong apikey in the URI")),
                     "url": "http://gw/api",
                     "headers": { "authorization": format!("Bearer {}", c.plant("kong Authorization header")),
                                  "apikey": c.plant("kong apikey header") },
                     "querystring": { "apikey": c.plant("kong apikey querystring") } },
        "response": { "status": 200 },
        "consumer": { "id": "c-1", "username": "billing" },
        "authenticated_entity": { "id": "k-1" },
        "route": { "id": "r-1", "name": "api" }
    }));
    let k8s = line(json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": "canary-k8s-1", "stage": "ResponseComplete", "verb": "create",
        "requestURI": format!("/apis/authentication.k8s.io/v1/tokenreviews?token={}", c.plant("k8s requestURI token")),
        "user": { "username": "system:serviceaccount:ci:bot", "groups": ["system:authenticated"] },
        "sourceIPs": ["10.9.9.9"],
        "objectRef": { "resource": "tokenreviews", "apiGroup": "authentication.k8s.io", "apiVersion": "v1" },
        "requestObject": { "kind": "TokenReview", "spec": { "token": c.plant("k8s TokenReview spec.token") } },
        "responseStatus": { "code": 201 },
        "requestReceivedTimestamp": "2026-11-20T10:00:04.000000Z",
        "stageTimestamp": "2026-11-20T10:00:04.100000Z",
        "annotations": { "authorization.k8s.io/decision": "allow" }
    }));
    vec![
        ("vault", "vault", vault),
        ("pgaudit", "postgres", pgaudit),
        ("oidc-provider", "oauth2", oidc),
        ("kong", "kong", kong),
        ("k8s", "kubernetes", k8s),
    ]
}

/// Backends with canary credentials: keychain (through stdin) and an environment variable;
/// each is checked, so the credential really travels.
fn plant_backend_credentials(c: &Canaries) {
    let sb = &c.ws.sb;
    let oidc_url = sb.oidc.issuer.replacen("://", "://portcullis-console@", 1);
    let keychain = [
        ("bao-canary", "vault", sb.openbao.url.as_str()),
        ("pg-canary", "postgres", sb.postgres.url.as_str()),
        ("oidc-canary", "oauth2", oidc_url.as_str()),
    ];
    for (name, kind, url) in keychain {
        let secret = c.plant(&format!("keychain credential of {name}"));
        let out = c.run(
            &["backend", "add", name, "--kind", kind, "--url", url],
            Some(&secret),
            &[],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        c.run(&["--json", "backend", "check", name], None, &[]);
    }
    let env = c.plant("--credential-env value");
    c.run(
        &[
            "backend",
            "add",
            "bao-env",
            "--kind",
            "vault",
            "--url",
            &sb.openbao.url,
            "--credential-env",
            "PORTCULLIS_E2E_CANARY",
        ],
        None,
        &[],
    );
    c.run(
        &["--json", "backend", "check", "bao-env"],
        None,
        &[("PORTCULLIS_E2E_CANARY", &env)],
    );
    c.run(
        &["--json", "sync", "bao-env"],
        None,
        &[("PORTCULLIS_E2E_CANARY", &env)],
    );
    for name in ["bao-canary", "pg-canary", "oidc-canary", "bao-env"] {
        c.run(&["backend", "remove", name], None, &[]);
    }
}

/// Pasted tokens: triage on every backend, and an incident's token list (file and stdin).
fn plant_pasted_tokens(c: &Canaries) {
    let token = c.plant("token pasted into triage");
    c.run(&["--json", "token", "inspect"], Some(&token), &[]);
    c.run(&["token", "inspect"], Some(&token), &[]);
    let listed = c.plant("token in an incident's token list file");
    let file = c.path("incident-tokens.txt");
    std::fs::write(&file, format!("{listed}\n")).unwrap();
    let file = file.to_str().unwrap();
    c.run(
        &[
            "--json",
            "revoke",
            "--select",
            "principal=alice",
            "--tokens-from",
            file,
            "--dry-run",
        ],
        None,
        &[],
    );
    std::fs::remove_file(file).unwrap(); // the reviewer's own file, not the console's
    let piped = c.plant("token in an incident's token list on stdin");
    c.run(
        &[
            "revoke",
            "--select",
            "principal=alice",
            "--tokens-from",
            "-",
            "--dry-run",
        ],
        Some(&piped),
        &[],
    );
}

/// Imports every format, then reads the events back every way the CLI offers.
fn import_and_read_back(c: &Canaries) {
    for (format, kind, text) in audit_files(c) {
        let backend = format!("{format}-file");
        let url = match kind {
            "oauth2" => "http://x@127.0.0.1:1",
            "postgres" => "postgres://x@127.0.0.1:1/acme",
            _ => "http://127.0.0.1:1",
        };
        c.json(
            &[
                "backend",
                "add",
                &backend,
                "--kind",
                kind,
                "--url",
                url,
                "--no-credential",
            ],
            None,
        );
        let file =
            std::env::temp_dir().join(format!("canary-{}-{format}.jsonl", std::process::id()));
        std::fs::write(&file, text).unwrap();
        let report = c.json(
            &[
                "audit",
                "import",
                "--format",
                format,
                "--backend",
                &backend,
                file.to_str().unwrap(),
            ],
            None,
        );
        std::fs::remove_file(&file).unwrap();
        assert_eq!(
            report["rejected"].as_array().map(Vec::len),
            Some(0),
            "{format}: {report}"
        );
        assert!(
            report["imported"].as_u64().unwrap_or(0) > 0,
            "{format}: {report}"
        );
        let page = c.json(&["audit", "search", &format!("backend:{backend}")], None);
        for e in page["events"].as_array().unwrap() {
            c.run(&["audit", "show", e["id"].as_str().unwrap()], None, &[]);
            c.json(&["audit", "show", e["id"].as_str().unwrap()], None);
        }
        c.run(
            &["audit", "search", &format!("backend:{backend}")],
            None,
            &[],
        );
    }
    c.run(&["audit", "export", "", "--format", "jsonl"], None, &[]);
    c.run(
        &[
            "audit",
            "export",
            "",
            "--format",
            "csv",
            "--output",
            c.path("export.csv").to_str().unwrap(),
        ],
        None,
        &[],
    );
    c.run(&["audit", "timeline", ""], None, &[]);
    c.run(&["--json", "audit", "highlights"], None, &[]);
}

#[test]
fn no_planted_secret_reaches_the_cache_the_journal_an_export_or_any_output() {
    assert!(
        portcullis_e2e::keyring_available(),
        "run inside tests/with-keyring.sh: the keychain canaries need an unlocked keyring"
    );
    let c = Canaries::new();
    sandbox_ws::add_backends(c.ws.path(), &c.ws.sb).unwrap();
    c.json(&["sync"], None);
    plant_backend_credentials(&c);
    plant_pasted_tokens(&c);
    // What the backends logged of the canaries sent to them (triage lookups, checks) comes
    // back with the sync.
    c.json(&["sync"], None);
    import_and_read_back(&c);
    let html = c.path("review.html");
    let evidence = c.path("evidence");
    c.run(
        &[
            "review",
            "run",
            "--format",
            "html",
            "--out",
            html.to_str().unwrap(),
            "--evidence",
            evidence.to_str().unwrap(),
        ],
        None,
        &[],
    );
    c.run(&["--json", "review", "run"], None, &[]);
    c.run(&["credentials"], None, &[]);
    c.run(&["--json", "journal", "--verify"], None, &[]);

    let planted = c.planted.borrow().len();
    assert!(planted >= 25, "{planted} canaries planted");
    assert!(html.is_file() && evidence.join("manifest.json").is_file());
    assert!(c.path("cache.db").is_file() && c.path("cache.journal.db").is_file());
    let found = c.found();
    assert!(
        found.is_empty(),
        "{} canaries found:\n{}",
        found.len(),
        found.join("\n")
    );
}
