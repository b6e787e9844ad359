//! Least-privilege review against the REAL sandbox (node-oidc-provider, OpenBao, PostgreSQL +
//! pgaudit; `scripts/sandbox up`): the review must report exactly the seed's
//! `[[expected_findings]]` — no miss, nothing on a grant the seed's activity uses — and a campaign
//! runs to sign-off and exports evidence whose manifest verifies, and fails after one byte of an
//! exported file changes.
//!
//! The seed names things as a person does (`svc-ci`, `oidc-erin-cli`, `password`); findings name
//! them as the backends do (`client:ci-bot`, a token fingerprint, `login:grace`). [`SeedNames`]
//! translates, from seed.toml and sandbox.json, and nothing else.

use portcullis_e2e::cli_ws::CliWs;
use portcullis_e2e::{repo_root, reseed_sandbox, Sandbox};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

fn seed() -> toml::Value {
    let text = std::fs::read_to_string(repo_root().join("scripts/sandbox.d/seed.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

fn fingerprint(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(s.as_bytes()))
}

type Ws = CliWs;

/// The seed's names for what findings name in backend terms.
struct SeedNames {
    /// OIDC client id → seed principal.
    clients: HashMap<String, String>,
    /// OpenBao token display name (`token-<name>`) → seed principal.
    bao_token_principal: HashMap<String, String>,
    /// Token fingerprint or accessor → seed credential name.
    credential: HashMap<String, String>,
}

impl SeedNames {
    fn load(seed: &toml::Value, sb: &Sandbox) -> SeedNames {
        let mut clients = HashMap::new();
        for c in seed["oidc"]["clients"].as_array().unwrap() {
            clients.insert(
                c["client_id"].as_str().unwrap().to_string(),
                c["principal"].as_str().unwrap().to_string(),
            );
        }
        let mut bao_token_principal = HashMap::new();
        for t in seed["openbao"]["tokens"].as_array().unwrap() {
            bao_token_principal.insert(
                format!("token-{}", t["name"].as_str().unwrap()),
                t["principal"].as_str().unwrap().to_string(),
            );
        }
        let mut credential = HashMap::new();
        for (name, t) in sb.tokens.as_object().unwrap() {
            if let Some(v) = t["value"].as_str() {
                credential.insert(fingerprint(v), name.clone());
            }
            if let Some(a) = t["accessor"].as_str() {
                credential.insert(a.to_string(), name.clone());
            }
        }
        SeedNames {
            clients,
            bao_token_principal,
            credential,
        }
    }

    /// A finding as the seed's (backend, kind, principal, subject).
    fn tuple(&self, f: &Value) -> (String, String, String, String) {
        let backend = f["backend"].as_str().unwrap().to_string();
        let rule = f["rule"].as_str().unwrap();
        let kind = match rule {
            "unused-grant" => "unused_grant",
            "wildcard-admin-grant" => "over_broad",
            "superuser" => "superuser",
            "never-expiring-credential" => "never_expiring_credential",
            "unused-credential" | "dormant-principal" => "stale_credential",
            "expired-credential-present" => "expired_credential",
            "disabled-principal-live-credential" => "disabled_principal_live_credential",
            other => other,
        }
        .to_string();
        let pid = f["principal"]["external_id"].as_str().unwrap();
        let pname = f["principal"]["name"].as_str().unwrap();
        let principal = match backend.as_str() {
            "oidc" => match pid.split_once(':') {
                Some(("client", c)) => self.clients.get(c).cloned().unwrap_or(c.to_string()),
                Some((_, a)) => a.to_string(),
                None => pid.to_string(),
            },
            "openbao" => self
                .bao_token_principal
                .get(pname)
                .cloned()
                .unwrap_or(pname.to_string()),
            _ => pname.to_string(),
        };
        let sid = f["subject"]["id"].as_str().unwrap();
        let subject = match f["subject"]["kind"].as_str().unwrap() {
            "credential" => match backend.as_str() {
                "postgres" if sid.starts_with("login:") => "password".to_string(),
                "postgres" if sid.starts_with("session:") => "session".to_string(),
                _ => self.credential.get(sid).cloned().unwrap_or(sid.to_string()),
            },
            "principal" if backend == "openbao" => format!("userpass:{pname}"),
            _ => sid.to_string(),
        };
        (backend, kind, principal, subject)
    }
}

/// The seed's `[review]` as workspace settings: its exemptions (named as the backends name those
/// principals), its ignored grants, and the rules the seed has no kind for switched off. Nothing
/// about credentials: their expiry (OAuth tokens, client secrets, OpenBao periodic tokens) is
/// what the console observes itself.
fn seed_settings(seed: &toml::Value) -> Value {
    let mut exemptions = Vec::new();
    for e in seed["review"]["exempt"].as_array().unwrap() {
        let backend = e["backend"].as_str().unwrap();
        let principal = e["principal"].as_str().unwrap();
        // OpenBao names a token without an identity entity by its display name: the dev root
        // token the seeder uses is `token`, the console's is `token-portcullis-console`.
        let principal = match (backend, principal) {
            ("openbao", "root") => "token".to_string(),
            ("openbao", p) => format!("token-{p}"),
            (_, p) => p.to_string(),
        };
        exemptions.push(json!({"backend": backend, "principal": principal,
                               "reason": e["reason"].as_str().unwrap()}));
    }
    json!({
        "window_days": 90,
        "disabled_rules": ["write-where-read-used", "credential-lifetime-exceeds-policy"],
        "params": {},
        "exemptions": exemptions,
        "ignored_grants": seed["review"]["ignored_grants"],
    })
}

fn expected(seed: &toml::Value) -> BTreeSet<(String, String, String, String)> {
    seed["expected_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_string();
            (s("backend"), s("kind"), s("principal"), s("subject"))
        })
        .collect()
}

#[test]
fn review_reports_exactly_the_seeds_findings_and_a_campaign_exports_verifiable_evidence() {
    // Other tests revoke seeded credentials: start from the pristine seed.
    let sb = reseed_sandbox().unwrap();
    let seed = seed();
    let ws = Ws::new(sb).acting_as("review-test");
    ws.add_sandbox_backends();
    ws.ok(&["sync"]);

    // Everything the review needs is observed by the sync itself: OAuth token and client-secret
    // expiry from the server's event log, OpenBao periods from token lookups. No triage, no
    // declared credentials; the coverage has no "expiry unknown" caveat.
    let before = ws.json(&["review", "run"]);
    for cov in before["coverage"].as_array().unwrap() {
        assert!(
            !cov["notes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n.as_str().unwrap().contains("expiry unknown")),
            "{cov}"
        );
    }
    let creds = ws.json(&["credentials", "--backend", "oidc"]);
    assert!(
        creds
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["origin"].as_str().unwrap_or("sync") == "sync"),
        "nothing was triaged: {creds}"
    );

    let settings_path = ws.dir.path().join("review-settings.json");
    std::fs::write(
        &settings_path,
        serde_json::to_string_pretty(&seed_settings(&seed)).unwrap(),
    )
    .unwrap();
    ws.ok(&[
        "review",
        "settings",
        "--set-file",
        settings_path.to_str().unwrap(),
    ]);

    let run = ws.json(&["review", "run", "--window", "90d"]);
    let names = SeedNames::load(&seed, &ws.sb);
    let findings = run["findings"].as_array().unwrap();
    let got: Vec<(String, String, String, String)> =
        findings.iter().map(|f| names.tuple(f)).collect();
    let got_set: BTreeSet<_> = got.iter().cloned().collect();
    let want = expected(&seed);
    let missing: Vec<_> = want.difference(&got_set).collect();
    let extra: Vec<_> = got_set.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "review differs from seed.toml [[expected_findings]]\n  missing: {missing:#?}\n  unexpected: {extra:#?}"
    );
    assert_eq!(
        got.len(),
        want.len(),
        "a finding is reported twice: {got:#?}"
    );
    assert_eq!(want.len(), 33);

    // Nothing on a grant the seed's activity uses.
    let mut used: BTreeSet<(String, String, String)> = BTreeSet::new();
    for (backend, key) in [("oidc", "credential"), ("openbao", "credential")] {
        let creds: HashMap<String, String> = seed[backend]
            .get("credentials")
            .or_else(|| seed[backend].get("tokens"))
            .into_iter()
            .flat_map(|v| v.as_array().unwrap().iter())
            .chain(
                seed[backend]
                    .get("users")
                    .into_iter()
                    .flat_map(|v| v.as_array().unwrap().iter()),
            )
            .filter_map(|c| {
                let name = c
                    .get("name")
                    .or_else(|| c.get("login_credential"))?
                    .as_str()?;
                let who = c.get("principal").or_else(|| c.get("person"))?.as_str()?;
                Some((name.to_string(), who.to_string()))
            })
            .collect();
        for a in seed[backend]["activity"].as_array().unwrap() {
            if let (Some(u), Some(c)) = (a.get("uses"), a[key].as_str()) {
                if a["expect"].as_str() == Some("allow") {
                    if let Some(who) = creds.get(c) {
                        used.insert((backend.into(), who.clone(), u.as_str().unwrap().into()));
                    }
                }
            }
        }
    }
    for a in seed["postgres"]["activity"].as_array().unwrap() {
        if let (Some(u), Some(r)) = (a.get("uses"), a["role"].as_str()) {
            used.insert(("postgres".into(), r.into(), u.as_str().unwrap().into()));
        }
    }
    assert!(used.len() > 20, "{used:?}");
    for (b, k, p, s) in &got {
        if k == "unused_grant" {
            assert!(
                !used.contains(&(b.clone(), p.clone(), s.clone())),
                "unused-grant on a used grant: {b} {p} {s}"
            );
        }
    }

    // Every finding carries evidence and a recommendation; usage findings say how complete the
    // data is (the sandbox's logs start inside the 90-day window).
    for f in findings {
        assert!(!f["recommendation"]["text"].as_str().unwrap().is_empty());
        assert!(!f["confidence"]["note"].as_str().unwrap().is_empty());
    }
    let unused = findings
        .iter()
        .find(|f| f["rule"] == "unused-grant" && f["backend"] == "postgres")
        .unwrap();
    assert_eq!(unused["confidence"]["level"], "partial");
    assert!(!unused["evidence"]["paths"].as_array().unwrap().is_empty());
    assert!(!unused["evidence"]["events"].as_array().unwrap().is_empty());
    let bob_pg = findings
        .iter()
        .find(|f| {
            f["rule"] == "unused-grant"
                && f["backend"] == "postgres"
                && f["principal"]["name"] == "bob"
        })
        .unwrap();
    assert_eq!(
        bob_pg["recommendation"]["proposed"],
        json!(["reporting_read"])
    );

    // Exit codes for cron / CI.
    let crit = ws.run(&["review", "run", "--fail-on", "critical"]);
    assert_eq!(crit.status.code(), Some(1), "svc_migrate is a superuser");
    let low_only = ws.run(&[
        "review",
        "run",
        "--rule",
        "expired-credential-present",
        "--fail-on",
        "high",
    ]);
    assert_eq!(low_only.status.code(), Some(0));
    let csv = ws.ok(&["review", "run", "--format", "csv"]);
    assert_eq!(
        String::from_utf8_lossy(&csv.stdout).lines().count(),
        want.len() + 1
    );

    // A campaign: snapshot, decisions (single and bulk), sign-off, export, verification.
    let created = ws.json(&["review", "campaign", "create", "Q4 access review"]);
    let id = created["id"].as_i64().unwrap().to_string();
    assert_eq!(created["items"].as_u64().unwrap() as usize, want.len());
    let early = ws.run(&["review", "campaign", "signoff", &id, "--reviewer", "ann"]);
    assert!(!early.status.success(), "sign-off needs every item decided");
    ws.ok(&[
        "review",
        "campaign",
        "decide",
        &id,
        "--rule",
        "unused-grant",
        "--verdict",
        "reduce",
        "--note",
        "drop what was not used",
        "--reviewer",
        "ann",
    ]);
    ws.ok(&[
        "review",
        "campaign",
        "decide",
        &id,
        "--item",
        "1",
        "--verdict",
        "revoke",
        "--reviewer",
        "ann",
    ]);
    ws.ok(&[
        "review",
        "campaign",
        "decide",
        &id,
        "--all",
        "--verdict",
        "keep",
        "--reviewer",
        "bo",
    ]);
    let summary = ws.json(&["review", "campaign", "signoff", &id, "--reviewer", "ann"]);
    assert_eq!(summary["status"], "signed_off");
    assert_eq!(summary["decided"], summary["items"]);
    let plan = ws.json(&["review", "campaign", "show", &id, "--plan"]);
    let steps = plan["steps"].as_array().unwrap();
    assert_eq!(steps.len() as u64, 1 + summary["reduce"].as_u64().unwrap());
    let pg_reduce = steps
        .iter()
        .find(|s| s["backend"] == "postgres" && s["operation"] == "reduce_grant")
        .unwrap();
    assert!(!pg_reduce["targets"].as_array().unwrap().is_empty());
    let late = ws.run(&[
        "review",
        "campaign",
        "decide",
        &id,
        "--item",
        "2",
        "--verdict",
        "keep",
    ]);
    assert!(!late.status.success(), "no decisions after sign-off");

    // Every decision is journalled; the chain holds.
    let journal = ws.json(&["journal"]);
    let decisions = journal
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "review-decision" && e["state"] == "planned")
        .count();
    assert!(decisions >= want.len(), "{decisions} decision entries");
    let verify = ws.json(&["journal", "--verify"]);
    assert_eq!(verify["ok"], true);

    let out = ws.dir.path().join("evidence");
    let manifest = ws.json(&[
        "review",
        "campaign",
        "export",
        &id,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(manifest["journal_head"], verify["head"]);
    for f in [
        "campaign.json",
        "decisions.csv",
        "plan.json",
        "drift.json",
        "campaign.html",
        "manifest.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let html = std::fs::read_to_string(out.join("campaign.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Findings by severity"));
    let ok = ws.run(&["evidence", "verify", out.to_str().unwrap()]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    flip_one_byte(&out.join("decisions.csv"));
    let bad = ws.run(&["evidence", "verify", out.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
    let text = String::from_utf8_lossy(&bad.stdout);
    assert!(
        text.contains("MISMATCH decisions.csv"),
        "the altered file is named: {text}"
    );
    assert!(!text.contains("MISMATCH campaign.json"), "{text}");

    // A findings run exported as evidence verifies too.
    let fdir = ws.dir.path().join("findings-evidence");
    ws.ok(&[
        "review",
        "run",
        "--format",
        "html",
        "--out",
        ws.dir.path().join("report.html").to_str().unwrap(),
        "--evidence",
        fdir.to_str().unwrap(),
    ]);
    assert!(ws.dir.path().join("report.html").is_file());
    ws.ok(&["evidence", "verify", fdir.to_str().unwrap()]);

    // Drift: a second campaign sees no change in access since the first.
    let second = ws.json(&["review", "campaign", "create", "follow-up"]);
    let sid = second["id"].as_i64().unwrap().to_string();
    let drift = ws.json(&["review", "campaign", "show", &sid, "--drift"]);
    assert_eq!(
        drift["previous_campaign_id"].as_i64().unwrap().to_string(),
        id
    );
    assert_eq!(drift["new_grants"], json!([]));
    assert_eq!(drift["removed_grants"], json!([]));
}

fn flip_one_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}
