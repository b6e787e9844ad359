//! `portcullis audit …` against the REAL sandbox servers: sync their audit trails (OpenBao file
//! audit device, node-oidc-provider event log, PostgreSQL jsonlog over SQL), then find every
//! denied request the seed made (`scripts/sandbox.d/seed.toml`, activities with
//! `expect = "deny"`), exactly as often as the seed made it; page with cursors without gaps or
//! duplicates; export; and import the same log files through `audit import`, twice.

use portcullis_e2e::cli_ws::CliWs;
use portcullis_e2e::sandbox_ws;
use portcullis_e2e::{repo_root, Sandbox};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn seed() -> toml::Value {
    let text = std::fs::read_to_string(repo_root().join("scripts/sandbox.d/seed.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

fn fingerprint(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A CLI workspace of the test's own, with the audit searches these tests make.
struct Ws(CliWs);

impl std::ops::Deref for Ws {
    type Target = CliWs;
    fn deref(&self) -> &CliWs {
        &self.0
    }
}

impl Ws {
    fn new() -> Ws {
        Ws(CliWs::load())
    }

    /// Every event matching `query`, walking all pages.
    fn search_all(&self, query: &str, page: u32) -> Vec<Value> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        let limit = page.to_string();
        loop {
            let mut args = vec!["audit", "search", query, "--limit", &limit];
            let c;
            if let Some(cur) = &cursor {
                c = cur.clone();
                args.extend(["--cursor", &c]);
            }
            let p = self.json(&args);
            all.extend(p["events"].as_array().unwrap().iter().cloned());
            match p["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        all
    }

    fn count(&self, query: &str) -> usize {
        self.search_all(query, 200).len()
    }

    fn add_and_sync(&self) {
        sandbox_ws::add_and_sync(self.dir.path(), &self.sb).unwrap();
    }

    fn token(&self, name: &str) -> (String, Option<String>) {
        let t = &self.sb.tokens[name];
        (
            t["value"].as_str().unwrap_or_default().to_string(),
            t["accessor"].as_str().map(str::to_string),
        )
    }
}

/// Event ids cross JSON as strings (time keys exceed 2^53, which JavaScript would round).
fn event_id(e: &Value) -> i64 {
    e["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("event id is not a decimal string: {e}"))
}

fn times(a: &toml::Value) -> usize {
    a.get("times").and_then(|t| t.as_integer()).unwrap_or(1) as usize
}

fn q(field: &str, value: &str) -> String {
    format!(
        "{field}:\"{}\"",
        value.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

#[test]
fn every_seeded_denial_is_found_exactly_as_often_as_the_seed_made_it() {
    let ws = Ws::new();
    ws.add_and_sync();
    let seed = seed();

    // OpenBao: the denial names the token's accessor (correlated from its audit HMAC at sync).
    let mut seeded = 0;
    for a in seed["openbao"]["activity"].as_array().unwrap() {
        if a["expect"].as_str() != Some("deny") {
            continue;
        }
        let name = a["credential"].as_str().unwrap();
        let (_, accessor) = ws.token(name);
        let accessor = accessor.unwrap_or_else(|| panic!("no accessor for {name}"));
        let path = format!("secret/data/{}", a["path"].as_str().unwrap());
        let query = format!(
            "backend:openbao outcome:deny {} {}",
            q("credential", &accessor),
            q("resource", &path)
        );
        assert_eq!(ws.count(&query), times(a), "{name}: {query}");
        seeded += times(a);
    }
    assert!(ws.count("backend:openbao outcome:deny") >= seeded);

    // OIDC: a refused gateway call names the presented token's fingerprint; a refused /token
    // request names the client and the scope it asked for; a refused refresh names the refresh
    // token's fingerprint.
    let clients: Vec<(String, String)> = seed["oidc"]["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["client"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for a in seed["oidc"]["activity"].as_array().unwrap() {
        if a["expect"].as_str() != Some("deny") {
            continue;
        }
        let name = a["credential"].as_str().unwrap();
        let (value, _) = ws.token(name);
        let query = match a["use"].as_str().unwrap() {
            "token" => {
                let client = &clients.iter().find(|c| c.0 == name).unwrap().1;
                format!(
                    "backend:oidc outcome:deny {} {}",
                    q("actor", client),
                    q("resource", a["scope"].as_str().unwrap())
                )
            }
            "gateway" => format!(
                "backend:oidc outcome:deny action:token.used {} {}",
                q("credential", &fingerprint(&value)),
                q("resource", a["scope"].as_str().unwrap())
            ),
            _ => format!(
                "backend:oidc outcome:deny {}",
                q("credential", &fingerprint(&value))
            ),
        };
        assert_eq!(ws.count(&query), times(a), "{name}: {query}");
    }

    // PostgreSQL: refused logins and refused statements, by role.
    for a in seed["postgres"]["activity"].as_array().unwrap() {
        if a["expect"].as_str() != Some("deny") {
            continue;
        }
        let role = a["role"].as_str().unwrap();
        let query = if a.get("sql").is_some() {
            format!(
                "backend:postgres outcome:deny -action:LOGIN {}",
                q("actor", role)
            )
        } else {
            format!(
                "backend:postgres outcome:deny action:LOGIN {}",
                q("actor", role)
            )
        };
        assert_eq!(ws.count(&query), times(a), "{role}: {query}");
    }
    // The column denials name the table; free text finds the statement.
    assert!(ws.count("backend:postgres outcome:deny resource:payments.cards") >= 2);
    assert!(ws.count("pan_encrypted outcome:deny") >= 2);

    // Syncing again imports nothing twice.
    let before = ws.count("");
    ws.json(&["sync"]);
    let after_denials = ws.count("outcome:deny");
    assert!(ws.count("") >= before);
    assert_eq!(after_denials, ws.count("outcome:deny"));
}

#[test]
fn pages_exports_timeline_and_highlights_agree() {
    let ws = Ws::new();
    ws.add_and_sync();
    // Small pages and one big one list the same events, newest first, each once.
    let small: Vec<i64> = ws
        .search_all("backend:postgres", 7)
        .iter()
        .map(event_id)
        .collect();
    let big: Vec<i64> = ws
        .search_all("backend:postgres", 1000)
        .iter()
        .map(event_id)
        .collect();
    assert!(small.len() > 20, "{}", small.len());
    assert_eq!(small, big);
    assert!(small.windows(2).all(|w| w[0] > w[1]));
    assert_eq!(small.iter().collect::<BTreeSet<_>>().len(), small.len());

    // Export of a query: header + one line per event.
    let csv = ws.dir.path().join("denials.csv");
    ws.ok(&[
        "audit",
        "export",
        "outcome:deny",
        "--format",
        "csv",
        "--output",
        csv.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), ws.count("outcome:deny") + 1);
    let jsonl = ws.run(&[
        "audit",
        "export",
        "backend:openbao outcome:deny",
        "--format",
        "jsonl",
    ]);
    for line in String::from_utf8(jsonl.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["outcome"], "deny");
        assert!(v["raw"]["request"].is_object(), "{v}");
    }

    // One event's raw record, as OpenBao wrote it (HMAC'd token, no secret).
    let first = &ws.search_all("backend:openbao outcome:deny", 1000)[0];
    let shown = ws.json(&["audit", "show", &event_id(first).to_string()]);
    assert_eq!(shown["raw"]["type"], "response");
    assert!(!shown["pivots"].as_array().unwrap().is_empty());
    for name in ["bao-svc-reporting", "bao-dave-login"] {
        let (value, _) = ws.token(name);
        let db = std::fs::read(ws.dir.path().join("cache.db")).unwrap();
        assert!(
            !db.windows(value.len()).any(|w| w == value.as_bytes()),
            "token value of {name} stored in the cache"
        );
    }

    // The timeline counts every denial once.
    let tl = ws.json(&["audit", "timeline", "outcome:deny"]);
    let sum: u64 = tl["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["deny"].as_u64().unwrap())
        .sum();
    assert_eq!(sum as usize, ws.count("outcome:deny"));
    assert!(tl["svg"].as_str().unwrap().starts_with("<svg"));

    let views = ws.json(&["audit", "highlights"]);
    let kinds: BTreeSet<&str> = views
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 4, "{views}");

    // A bad query says where it went wrong and exits 3 with a code.
    let out = ws.run(&["--json", "audit", "search", "actor:alice bogus:1"]);
    assert_eq!(out.status.code(), Some(3));
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["code"], "invalid_input");
    assert!(
        err["message"].as_str().unwrap().contains("column 13"),
        "{err}"
    );
}

fn import(ws: &Ws, format: &str, backend: &str, file: &Path) -> Value {
    ws.json(&[
        "audit",
        "import",
        "--format",
        format,
        "--backend",
        backend,
        file.to_str().unwrap(),
    ])
}

#[test]
fn the_sandbox_log_files_import_once_and_reimport_adds_nothing() {
    let ws = Ws::new();
    ws.ok(&[
        "backend",
        "add",
        "bao-file",
        "--kind",
        "vault",
        "--url",
        "http://127.0.0.1:1",
        "--no-credential",
    ]);
    ws.ok(&[
        "backend",
        "add",
        "oidc-file",
        "--kind",
        "oauth2",
        "--url",
        "http://x@127.0.0.1:1",
        "--no-credential",
    ]);
    ws.ok(&[
        "backend",
        "add",
        "pg-file",
        "--kind",
        "postgres",
        "--url",
        "postgres://x@127.0.0.1:1/acme",
        "--no-credential",
    ]);

    // OpenBao: one event per response entry; request entries are skipped.
    let bao = &ws.sb.openbao.audit_log;
    let text = std::fs::read_to_string(bao).unwrap();
    let responses = text
        .lines()
        .filter(|l| l.contains("\"type\":\"response\""))
        .count() as u64;
    let r = import(&ws, "vault", "bao-file", bao);
    assert_eq!(r["imported"].as_u64().unwrap(), responses, "{r}");
    assert_eq!(r["rejected"].as_array().unwrap().len(), 0, "{r}");
    let again = import(&ws, "vault", "bao-file", bao);
    assert_eq!(again["imported"], 0, "{again}");
    assert_eq!(again["duplicates"].as_u64().unwrap(), responses);

    // node-oidc-provider: every line is an event.
    let oidc = &ws.sb.oidc.event_log;
    let lines = std::fs::read_to_string(oidc).unwrap().lines().count() as u64;
    let r = import(&ws, "oidc-provider", "oidc-file", oidc);
    let read = r["imported"].as_u64().unwrap() + r["duplicates"].as_u64().unwrap();
    assert_eq!(read, lines, "{r}");
    assert_eq!(
        import(&ws, "oidc-provider", "oidc-file", oidc)["imported"],
        0
    );

    // PostgreSQL jsonlog with pgaudit: the seed's three refused statements are in it.
    let sandbox: Value =
        serde_json::from_str(&std::fs::read_to_string(Sandbox::path()).unwrap()).unwrap();
    let log_dir = PathBuf::from(sandbox["postgres"]["log_dir"].as_str().unwrap());
    let json_log = std::fs::read_dir(&log_dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a jsonlog file in the sandbox");
    let r = import(&ws, "pgaudit", "pg-file", &json_log);
    assert!(r["imported"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["rejected"].as_array().unwrap().len(), 0, "{r}");
    assert!(ws.count("backend:pg-file outcome:deny -action:LOGIN") >= 3);
    assert_eq!(import(&ws, "pgaudit", "pg-file", &json_log)["imported"], 0);

    // Progress went to stderr, the summary to stdout.
    let out = ws.ok(&[
        "audit",
        "import",
        "--format",
        "vault",
        "--backend",
        "bao-file",
        bao.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("import"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 imported"));
}

#[test]
fn the_consoles_own_requests_are_hidden_unless_the_query_asks_for_them() {
    let ws = Ws::new();
    ws.add_and_sync();
    let total = |query: &str| -> u64 {
        let p = ws.json(&["audit", "search", query, "--limit", "1"]);
        assert_eq!(p["total"]["exact"], true, "{p}");
        p["total"]["count"].as_u64().unwrap()
    };
    // The sync itself talked to OpenBao (audited by its file device) and PostgreSQL (pgaudit):
    // those requests carry the console's token accessor and role.
    let own = ws.search_all("console:only", 500);
    let own_bao: Vec<&Value> = own.iter().filter(|e| e["backend"] == "openbao").collect();
    assert!(
        !own_bao.is_empty(),
        "the console's own OpenBao requests are recognised"
    );
    assert!(
        own.iter().any(|e| e["backend"] == "postgres"),
        "and its PostgreSQL ones"
    );
    let accessors: BTreeSet<&str> = own_bao
        .iter()
        .filter_map(|e| e["credential"].as_str())
        .collect();
    assert_eq!(accessors.len(), 1, "one console token: {accessors:?}");
    let accessor = accessors.into_iter().next().unwrap();
    // Hidden by default, and only those: the default and console:show differ by exactly them.
    assert_eq!(total(""), total("console:show") - own.len() as u64);
    assert_eq!(total(&q("credential", accessor)), 0);
    assert_eq!(
        total(&format!("{} console:show", q("credential", accessor))),
        own_bao.len() as u64
    );
    // A seeded principal's requests are not the console's.
    assert_eq!(
        total("console:only backend:openbao outcome:deny actor:bob"),
        0
    );
}
