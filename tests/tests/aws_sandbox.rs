//! AWS IAM through the CLI against the sandbox's moto_server (IAM enforcement on, every request
//! SigV4-signed): `backend add|check`, a sync into the one access model (keys with their last use
//! from GetAccessKeyLastUsed), `who-can` under IAM's rules, and a one-click revocation of a key
//! that is previewed, journalled, sent (deactivate, then delete) and verified by the emulated AWS
//! API, after which the key no longer signs anything. Needs `scripts/sandbox up` (as `make test`).

use portcullis_e2e::{cli, repo_root, Sandbox};
use serde_json::Value;
use std::process::Command;

const VAR: &str = "PORTCULLIS_SANDBOX_AWS_SECRET";

fn aws() -> Value {
    let text = std::fs::read_to_string(Sandbox::path()).expect("the sandbox is up");
    let v: Value = serde_json::from_str(&text).unwrap();
    v["aws"].clone()
}

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

struct Ws {
    dir: tempfile::TempDir,
    secret: String,
}

impl Ws {
    fn run(&self, args: &[&str]) -> std::process::Output {
        cli::portcullis(self.dir.path(), &[(VAR, &self.secret)], args)
            .unwrap()
            .output()
            .unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// A new user with one access key that has signed one request, made with the sandbox's admin key
/// through boto3 (the moto venv's python): (user, key id, secret).
fn leaked_key(aws: &Value) -> (String, String, String) {
    let python = repo_root().join(".cache/venv-moto/bin/python");
    let script = r#"
import boto3, json, sys, uuid
a = json.loads(sys.argv[1])
def c(k, s):
    return boto3.client("iam", endpoint_url=a["endpoint"], region_name="us-east-1",
                        aws_access_key_id=k, aws_secret_access_key=s)
iam = c(a["admin_access_key_id"], a["admin_secret_access_key"])
name = "leaked-" + uuid.uuid4().hex[:8]
iam.create_user(UserName=name)
iam.put_user_policy(UserName=name, PolicyName="self", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]}))
k = iam.create_access_key(UserName=name)["AccessKey"]
c(k["AccessKeyId"], k["SecretAccessKey"]).get_user()
print(json.dumps([name, k["AccessKeyId"], k["SecretAccessKey"]]))
"#;
    let out = Command::new(python)
        .args(["-c", script, &aws.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    (s(&v[0]), s(&v[1]), s(&v[2]))
}

/// Whether a key still signs: `GetUser` with it through boto3.
fn key_works(aws: &Value, key: &str, secret: &str) -> bool {
    let python = repo_root().join(".cache/venv-moto/bin/python");
    let script = r#"
import boto3, sys
c = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
try:
    c.get_user(); print("works")
except c.exceptions.ClientError as e:
    print(e.response["Error"]["Code"])
"#;
    let out = Command::new(python)
        .args(["-c", script, &s(&aws["endpoint"]), key, secret])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "works"
}

#[test]
fn aws_iam_is_checked_synced_asked_and_a_key_is_revoked_with_proof() {
    let aws = aws();
    let ws = Ws {
        dir: tempfile::tempdir().unwrap(),
        secret: s(&aws["secret_access_key"]),
    };
    let url = s(&aws["url"]);
    ws.json(&[
        "backend",
        "add",
        "aws",
        "--kind",
        "aws-iam",
        "--url",
        &url,
        "--credential-env",
        VAR,
    ]);
    let check = ws.json(&["backend", "check", "aws"]);
    let report = if check.is_array() { &check[0] } else { &check };
    assert_eq!(report["ok"], true, "{check}");
    assert!(report["rights"].as_array().unwrap().len() >= 20);

    let (user, key, secret) = leaked_key(&aws);
    let synced = ws.json(&["sync", "aws"]);
    assert!(synced.to_string().contains("\"ok\":true"), "{synced}");
    let creds = ws.json(&["credentials", "--backend", "aws"]);
    let creds = creds.as_array().unwrap();
    let find = |id: &str| creds.iter().find(|c| c["external_id"] == id).cloned();
    let rhea = s(&aws["keys"]["rhea"][0]["id"]);
    let ines = s(&aws["keys"]["ines"][0]["id"]);
    assert!(
        !find(&rhea).unwrap()["last_used_at"].is_null(),
        "rhea's key signed a request"
    );
    assert!(
        find(&ines).unwrap()["last_used_at"].is_null(),
        "ines's key never did"
    );
    let leaked = find(&key).expect("the new key is cached after a sync");
    assert_eq!(leaked["principal"], format!("user/{user}"));

    // IAM's rule: svc-legacy-ci's `*` allows deleting users; the developers' Deny on
    // iam:Delete* leaves rhea nothing to be allowed.
    let who = ws.json(&[
        "who-can",
        "iam:DeleteUser",
        "arn:aws:iam::123456789012:user/anyone",
    ]);
    let allowed: Vec<String> = who["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| s(&e["principal"]["external_id"]))
        .collect();
    assert!(allowed.contains(&"user/svc-legacy-ci".to_string()), "{who}");
    assert!(!allowed.contains(&"user/rhea".to_string()), "{who}");

    let id = leaked["id"].as_i64().unwrap().to_string();
    let plan = ws.json(&["revoke", &id, "--dry-run"]);
    let item = &plan["items"][0];
    assert_eq!(item["readiness"], "ready", "{plan}");
    assert!(s(&item["action"]).starts_with("UpdateAccessKey Status=Inactive, then DeleteAccessKey"));
    assert!(
        item["will_not"].to_string().contains("STS sessions"),
        "{item}"
    );
    assert!(key_works(&aws, &key, &secret), "a dry run sends nothing");

    let out = ws.json(&["revoke", &id, "--yes"]);
    assert_eq!(out[0]["state"], "verified", "{out}");
    assert_eq!(out[0]["verification"]["dead"], true, "{out}");
    assert!(
        !key_works(&aws, &key, &secret),
        "the revoked key still signs"
    );
    let journal = ws.json(&["journal", "--verify"]);
    assert_eq!(journal["ok"], true, "{journal}");
    assert!(
        journal["entries"].as_u64().unwrap() >= 3,
        "planned, sent, verified: {journal}"
    );

    // The console's own key is protected from a one-click revocation.
    ws.json(&["sync", "aws"]);
    let creds = ws.json(&["credentials", "--backend", "aws"]);
    let own = creds
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["external_id"] == aws["access_key_id"])
        .cloned()
        .unwrap();
    let plan = ws.json(&[
        "revoke",
        &own["id"].as_i64().unwrap().to_string(),
        "--dry-run",
    ]);
    assert_eq!(plan["items"][0]["readiness"], "protected", "{plan}");
}
