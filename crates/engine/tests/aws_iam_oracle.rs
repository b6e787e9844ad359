//! The oracle for AWS IAM: moto_server's own IAM enforcement. A throwaway moto_server (the
//! sandbox's pinned venv, `.cache/venv-moto`) is loaded with a generated organisation (seeded RNG:
//! users, groups, managed and inline policies with Allow/Deny, `*` wildcards and NotAction), its
//! enforcement is switched on, and every generated user's own key asks every sampled action: moto
//! answers 200 or AccessDenied. The console's `who-can ACTION *` over the connector's inventory
//! must list exactly the users moto allowed. Any disagreement is a defect, named with its seed.
//!
//! What moto evaluates (and so what is generated): identity policies of the user, its groups;
//! `Resource: *` only (moto asks every IAM action on `*`); `*` wildcards (moto's `?` is a regex
//! quantifier, not IAM's single character, so none is generated); canonical action case (moto
//! compares case-sensitively); no conditions, no NotResource (moto ignores it).
//! `PORTCULLIS_IAM_ORACLE_SEEDS=N` runs N seeds (default 2). Without the venv the test says so and
//! skips.

use portcullis_connectors::aws_iam::api::{Api, Call};
use portcullis_connectors::aws_iam::{xml, AwsIam};
use portcullis_connectors::http::Http;
use portcullis_connectors::Connector;
use portcullis_engine::access::{AccessBackendRow, AccessIndex, AccessRows};
use portcullis_model::{ErrorCode, WhoCanQuery};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use secrecy::SecretString;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Actions a user's key can call with no parameters (each acts on the caller or lists).
const ACTIONS: &[&str] = &[
    "iam:ListUsers",
    "iam:ListGroups",
    "iam:ListRoles",
    "iam:ListPolicies",
    "iam:GetUser",
    "iam:ListAccessKeys",
];
const PATTERNS: &[&str] = &[
    "iam:ListUsers",
    "iam:ListGroups",
    "iam:ListRoles",
    "iam:ListPolicies",
    "iam:GetUser",
    "iam:ListAccessKeys",
    "iam:List*",
    "iam:Get*",
    "iam:*",
    "*",
    "iam:ListU*",
    "iam:*Groups",
    "iam:List*s",
    "s3:*",
];

struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_bin() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin = root.join(".cache/venv-moto/bin/moto_server");
    bin.exists().then_some(bin)
}

/// Starts moto_server on a free loopback port and waits for its "Running on" line.
fn start_moto(bin: &PathBuf) -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("Running on") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("moto_server did not say it runs within 30 s");
    Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    }
}

fn api(endpoint: &str, key: &str, secret: &str) -> Api {
    Api::new(
        Http::new("moto oracle", Duration::from_secs(10)).unwrap(),
        url::Url::parse(&format!("{endpoint}/")).unwrap(),
        key.into(),
        Some(SecretString::from(secret.to_string())),
    )
}

async fn create_key(admin: &Api, user: &str) -> (String, String) {
    let body = admin
        .call("CreateAccessKey", &[("UserName", user)], Call::Change)
        .await
        .unwrap();
    let doc = xml::document(&body).unwrap();
    let k = xml::child(xml::result(&doc, "CreateAccessKey").unwrap(), "AccessKey").unwrap();
    (
        xml::text(k, "AccessKeyId").unwrap(),
        xml::text(k, "SecretAccessKey").unwrap(),
    )
}

fn statement(rng: &mut ChaCha8Rng) -> serde_json::Value {
    let n = rng.gen_range(1..=2);
    let patterns: Vec<&str> = PATTERNS.choose_multiple(rng, n).copied().collect();
    let effect = if rng.gen_bool(0.25) { "Deny" } else { "Allow" };
    let key = if rng.gen_bool(0.2) {
        "NotAction"
    } else {
        "Action"
    };
    serde_json::json!({"Effect": effect, key: patterns, "Resource": "*"})
}

fn document(rng: &mut ChaCha8Rng) -> String {
    let n = rng.gen_range(1..=3);
    let s: Vec<_> = (0..n).map(|_| statement(rng)).collect();
    serde_json::json!({"Version": "2012-10-17", "Statement": s}).to_string()
}

/// Loads a generated organisation; the users and their keys.
async fn load(admin: &Api, seed: u64) -> (BTreeMap<String, (String, String)>, String) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut story = String::new();
    let mut arns = Vec::new();
    for i in 0..rng.gen_range(2..=5) {
        let name = format!("p{i}");
        let doc = document(&mut rng);
        story.push_str(&format!("managed {name}: {doc}\n"));
        let body = admin
            .call(
                "CreatePolicy",
                &[("PolicyName", &name), ("PolicyDocument", &doc)],
                Call::Change,
            )
            .await
            .unwrap();
        let d = xml::document(&body).unwrap();
        let p = xml::child(xml::result(&d, "CreatePolicy").unwrap(), "Policy").unwrap();
        arns.push(xml::text(p, "Arn").unwrap());
    }
    let groups: Vec<String> = (0..rng.gen_range(1..=3)).map(|i| format!("g{i}")).collect();
    for g in &groups {
        admin
            .call("CreateGroup", &[("GroupName", g)], Call::Change)
            .await
            .unwrap();
        let k = rng.gen_range(0..=2);
        let picked: Vec<String> = arns.choose_multiple(&mut rng, k).cloned().collect();
        for arn in &picked {
            story.push_str(&format!("group {g} ← {arn}\n"));
            admin
                .call(
                    "AttachGroupPolicy",
                    &[("GroupName", g), ("PolicyArn", arn)],
                    Call::Change,
                )
                .await
                .unwrap();
        }
        if rng.gen_bool(0.3) {
            let doc = document(&mut rng);
            story.push_str(&format!("group {g} inline: {doc}\n"));
            admin
                .call(
                    "PutGroupPolicy",
                    &[
                        ("GroupName", g),
                        ("PolicyName", "gi"),
                        ("PolicyDocument", &doc),
                    ],
                    Call::Change,
                )
                .await
                .unwrap();
        }
    }
    let mut users = BTreeMap::new();
    for i in 0..rng.gen_range(4..=8) {
        let u = format!("u{i}");
        admin
            .call("CreateUser", &[("UserName", &u)], Call::Change)
            .await
            .unwrap();
        let k = rng.gen_range(0..=2);
        let picked: Vec<String> = groups.choose_multiple(&mut rng, k).cloned().collect();
        for g in &picked {
            story.push_str(&format!("user {u} ∈ {g}\n"));
            admin
                .call(
                    "AddUserToGroup",
                    &[("GroupName", g), ("UserName", &u)],
                    Call::Change,
                )
                .await
                .unwrap();
        }
        let k = rng.gen_range(0..=1);
        let picked: Vec<String> = arns.choose_multiple(&mut rng, k).cloned().collect();
        for arn in &picked {
            story.push_str(&format!("user {u} ← {arn}\n"));
            admin
                .call(
                    "AttachUserPolicy",
                    &[("UserName", &u), ("PolicyArn", arn)],
                    Call::Change,
                )
                .await
                .unwrap();
        }
        if rng.gen_bool(0.5) {
            let doc = document(&mut rng);
            story.push_str(&format!("user {u} inline: {doc}\n"));
            admin
                .call(
                    "PutUserPolicy",
                    &[
                        ("UserName", &u),
                        ("PolicyName", "ui"),
                        ("PolicyDocument", &doc),
                    ],
                    Call::Change,
                )
                .await
                .unwrap();
        }
        users.insert(u.clone(), create_key(admin, &u).await);
    }
    (users, story)
}

async fn run_seed(bin: &PathBuf, seed: u64) {
    let moto = start_moto(bin);
    let boot = api(&moto.endpoint, "AKIDBOOTSTRAP0000000", "bootstrap");
    boot.call("CreateUser", &[("UserName", "oracle-admin")], Call::Change)
        .await
        .unwrap();
    boot.call(
        "PutUserPolicy",
        &[
            ("UserName", "oracle-admin"),
            ("PolicyName", "all"),
            ("PolicyDocument", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#),
        ],
        Call::Change,
    )
    .await
    .unwrap();
    let (ak, sk) = create_key(&boot, "oracle-admin").await;
    let admin = api(&moto.endpoint, &ak, &sk);
    let (users, story) = load(&admin, seed).await;

    // Enforcement on: from now on moto authorises every request by the signer's policies.
    let resp = reqwest::Client::new()
        .post(format!("{}/moto-api/reset-auth", moto.endpoint))
        .header("content-type", "text/plain")
        .body("0")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());

    let mut moto_allowed: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (u, (k, s)) in &users {
        let as_user = api(&moto.endpoint, k, s);
        for action in ACTIONS {
            let name = action.trim_start_matches("iam:");
            match as_user.call(name, &[], Call::Read).await {
                Ok(_) => {
                    moto_allowed
                        .entry(action)
                        .or_default()
                        .insert(format!("user/{u}"));
                }
                Err(e) if e.code() == ErrorCode::Forbidden => {}
                Err(e) => panic!("seed {seed}: {u} {action}: {e}"),
            }
        }
    }

    let url = format!(
        "http://{ak}@{}",
        moto.endpoint.trim_start_matches("http://")
    );
    let connector = AwsIam::new(portcullis_connectors::BackendConfig {
        name: "aws".into(),
        kind: portcullis_model::BackendKind::AwsIam,
        url,
        secret: Some(SecretString::from(sk.clone())),
        timeout: Duration::from_secs(10),
        audit_log: None,
    })
    .unwrap();
    let inv = connector.inventory(&|_| {}).await.unwrap();
    let backend = AccessBackendRow {
        id: 1,
        name: "aws".into(),
        kind: "aws-iam".into(),
    };
    let index = AccessIndex::build(&AccessRows::of_inventory(backend, &inv), 1);
    let mut disagreements = Vec::new();
    for action in ACTIONS {
        let answer = index
            .who_can(&WhoCanQuery {
                action: (*action).into(),
                resource: "*".into(),
                backend: None,
                max_paths: Some(1),
            })
            .unwrap();
        let ours: BTreeSet<String> = answer
            .allowed
            .iter()
            .map(|e| e.principal.external_id.clone())
            .filter(|id| id.starts_with("user/u"))
            .collect();
        let theirs = moto_allowed.get(action).cloned().unwrap_or_default();
        if ours != theirs {
            disagreements.push(format!(
                "{action}: who-can says {ours:?}, moto allowed {theirs:?}"
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "seed {seed}: who-can disagrees with moto's enforcement:\n{}\norganisation:\n{story}",
        disagreements.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_can_agrees_with_motos_enforcement_on_generated_organisations() {
    let Some(bin) = moto_bin() else {
        eprintln!(
            "skipped: .cache/venv-moto/bin/moto_server is missing (scripts/setup.sh installs it)"
        );
        return;
    };
    let seeds: u64 = std::env::var("PORTCULLIS_IAM_ORACLE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    for seed in 1..=seeds {
        run_seed(&bin, seed).await;
    }
}
