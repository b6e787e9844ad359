//! The AWS IAM connector against the REAL AWS Query protocol served by moto_server (the sandbox
//! starts it seeded, with IAM enforcement on: every request must carry a valid SigV4 signature of
//! a key moto knows, and be allowed by that key's user's policies). `make test` exports
//! PORTCULLIS_SANDBOX_DIR; a plain `cargo test` without a sandbox skips this file and says so.

use portcullis_connectors::aws_iam::api::{Api, Call};
use portcullis_connectors::aws_iam::{xml, AwsIam, RIGHTS};
use portcullis_connectors::http::Http;
use portcullis_connectors::{BackendConfig, Connector, RevokeTarget};
use portcullis_model::{BackendKind, CredentialKind, CredentialStatus, ErrorCode, NodeKind};
use secrecy::SecretString;
use std::time::Duration;

fn sandbox_aws() -> Option<serde_json::Value> {
    let dir = std::env::var_os("PORTCULLIS_SANDBOX_DIR")?;
    let path = std::path::Path::new(&dir).join("sandbox.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} (the sandbox is not up): {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    Some(v["aws"].clone())
}

macro_rules! sandbox_or_skip {
    () => {
        match sandbox_aws() {
            Some(v) => v,
            None => {
                eprintln!("skipped: PORTCULLIS_SANDBOX_DIR is not set (make test runs this against the sandbox's moto_server)");
                return;
            }
        }
    };
}

fn s(v: &serde_json::Value) -> String {
    v.as_str().unwrap().to_string()
}

fn connector(url: &str, secret: &str) -> Box<dyn Connector> {
    portcullis_connectors::build(BackendConfig {
        name: "aws".into(),
        kind: BackendKind::AwsIam,
        url: url.into(),
        secret: Some(SecretString::from(secret.to_string())),
        timeout: Duration::from_secs(10),
        audit_log: None,
    })
    .unwrap()
}

fn api(aws: &serde_json::Value, key: &str, secret: &str) -> Api {
    Api::new(
        Http::new("moto", Duration::from_secs(10)).unwrap(),
        url::Url::parse(&format!("{}/", s(&aws["endpoint"]))).unwrap(),
        key.into(),
        Some(SecretString::from(secret.to_string())),
    )
}

fn admin(aws: &serde_json::Value) -> Api {
    api(
        aws,
        &s(&aws["admin_access_key_id"]),
        &s(&aws["admin_secret_access_key"]),
    )
}

/// A fresh user (unique name) with one access key: (name, key id, secret).
async fn user_with_key(admin: &Api, prefix: &str) -> (String, String, String) {
    let name = format!(
        "{prefix}-{}",
        std::process::id() as u64 * 1000 + rand_suffix()
    );
    admin
        .call("CreateUser", &[("UserName", &name)], Call::Change)
        .await
        .unwrap();
    let body = admin
        .call("CreateAccessKey", &[("UserName", &name)], Call::Change)
        .await
        .unwrap();
    let doc = xml::document(&body).unwrap();
    let key = xml::result(&doc, "CreateAccessKey").unwrap();
    let key = xml::child(key, "AccessKey").unwrap();
    (
        name,
        xml::text(key, "AccessKeyId").unwrap(),
        xml::text(key, "SecretAccessKey").unwrap(),
    )
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos() as u64
            % 1000
}

#[tokio::test]
async fn check_names_every_right_and_holds_them() {
    let aws = sandbox_or_skip!();
    let c = connector(&s(&aws["url"]), &s(&aws["secret_access_key"]));
    let report = c.check().await.unwrap();
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.rights.len(), RIGHTS.len());
    assert!(report.rights.iter().all(|r| r.granted), "{report:#?}");
    let who = report.identity.unwrap();
    assert!(who.contains("user/portcullis-console"), "{who}");
}

#[tokio::test]
async fn check_of_a_key_without_rights_names_what_is_missing() {
    let aws = sandbox_or_skip!();
    let (_, key, secret) = user_with_key(&admin(&aws), "norights").await;
    let url = format!(
        "http://{key}@{}",
        s(&aws["endpoint"]).trim_start_matches("http://")
    );
    let report = connector(&url, &secret).check().await.unwrap();
    assert!(report.rights.iter().all(|r| !r.granted), "{report:#?}");
    assert!(report
        .rights
        .iter()
        .any(|r| r.right == "iam:DeleteAccessKey"));
}

#[tokio::test]
async fn a_wrong_secret_is_unauthorized() {
    let aws = sandbox_or_skip!();
    let c = connector(&s(&aws["url"]), "not-the-secret");
    let err = c.check().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unauthorized, "{err}");
}

#[tokio::test]
async fn inventory_maps_the_seeded_account() {
    let aws = sandbox_or_skip!();
    let c = connector(&s(&aws["url"]), &s(&aws["secret_access_key"]));
    let inv = c.inventory(&|_| {}).await.unwrap();
    for p in [
        "user/rhea",
        "user/ines",
        "user/svc-legacy-ci",
        "role/release-deployer",
    ] {
        assert!(inv.principals.iter().any(|x| x.external_id == p), "{p}");
    }
    let has = |from: &str, to: &str| {
        inv.grants
            .iter()
            .any(|g| g.from_id == from && g.to_id == to)
    };
    assert!(has("user/rhea", "group/developers"));
    let dev = inv
        .roles
        .iter()
        .find(|r| r.name == "acme-developers")
        .unwrap();
    assert!(has("group/developers", &dev.external_id));
    assert!(has("user/ines", "inline/user/ines/no-keys-for-others"));
    let deny = inv
        .permissions
        .iter()
        .find(|p| p.raw["Sid"] == "OnlyReleases")
        .unwrap();
    assert_eq!(deny.action, portcullis_model::Action::Deny);
    assert!(deny.raw["NotResource"].as_array().unwrap().len() == 2);
    let not_action = inv
        .permissions
        .iter()
        .find(|p| p.raw["Sid"] == "AllButIam")
        .unwrap();
    assert_eq!(not_action.raw["NotAction"], serde_json::json!(["iam:*"]));
    assert!(inv
        .grants
        .iter()
        .any(|g| g.to_kind == NodeKind::Permission && g.to_id == not_action.external_id));

    let keys = aws["keys"].as_object().unwrap();
    for (user, list) in keys {
        for k in list.as_array().unwrap() {
            let id = s(&k["id"]);
            let cred = inv
                .credentials
                .iter()
                .find(|c| c.external_id == id)
                .unwrap_or_else(|| panic!("{user}'s key {id} not in the inventory"));
            assert_eq!(cred.kind, CredentialKind::ApiKey);
            assert_eq!(
                cred.principal_external_id.as_deref(),
                Some(&*format!("user/{user}"))
            );
            assert_eq!(
                cred.last_used_at.is_some(),
                k["used"].as_bool().unwrap(),
                "{user}'s key {id}"
            );
            let active = k["status"] == "Active";
            assert_eq!(cred.status == CredentialStatus::Active, active, "{id}");
        }
    }
    // No secret access key is in the inventory, in any field.
    let dump = serde_json::to_string(&inv).unwrap();
    assert!(!dump.contains(&s(&aws["secret_access_key"])));
}

#[tokio::test]
async fn listings_are_followed_to_the_last_page() {
    let aws = sandbox_or_skip!();
    let admin = admin(&aws);
    for i in 0..3 {
        let name = format!("paging-{}-{i}", rand_suffix());
        admin
            .call(
                "CreateRole",
                &[
                    ("RoleName", &name),
                    (
                        "AssumeRolePolicyDocument",
                        r#"{"Version":"2012-10-17","Statement":[]}"#,
                    ),
                ],
                Call::Change,
            )
            .await
            .unwrap();
    }
    let console = api(
        &aws,
        &s(&aws["access_key_id"]),
        &s(&aws["secret_access_key"]),
    );
    let all = console
        .list("ListRoles", &[], "Roles", xml::role)
        .await
        .unwrap();
    let paged = console
        .clone()
        .with_page_size(1)
        .list("ListRoles", &[], "Roles", xml::role)
        .await
        .unwrap();
    assert!(all.len() >= 4, "{all:?}");
    let names = |v: &[xml::Named]| {
        let mut n: Vec<String> = v.iter().map(|r| r.name.clone()).collect();
        n.sort();
        n
    };
    assert_eq!(names(&all), names(&paged));
    let inv = AwsIam::from_api(console.with_page_size(1))
        .inventory(&|_| {})
        .await
        .unwrap();
    assert!(inv.principals.len() >= all.len());
}

#[tokio::test]
async fn one_click_revocation_is_verified_by_the_emulated_api() {
    let aws = sandbox_or_skip!();
    let (user, key, secret) = user_with_key(&admin(&aws), "leaked").await;
    // The leaked key signs a request: it works, and moto records its use.
    let leaked = api(&aws, &key, &secret);
    leaked
        .call("GetUser", &[], Call::Read)
        .await
        .expect_err("a user without policies may not even GetUser");
    let c = connector(&s(&aws["url"]), &s(&aws["secret_access_key"]));
    let target = RevokeTarget::Credential {
        kind: CredentialKind::ApiKey,
        external_id: key.clone(),
    };
    let before = c.verify_revoked(&target).await.unwrap();
    assert!(!before.dead, "{before:?}");
    assert!(before.evidence.contains("Active"), "{}", before.evidence);

    let receipt = c.revoke(&target).await.unwrap();
    assert!(
        receipt.action.contains("UpdateAccessKey"),
        "{}",
        receipt.action
    );
    assert!(
        receipt.action.contains("DeleteAccessKey"),
        "{}",
        receipt.action
    );
    assert!(receipt.caveats.iter().any(|c| c.contains("STS")));
    assert_eq!(receipt.detail["user"], user.as_str());

    let after = c.verify_revoked(&target).await.unwrap();
    assert!(after.dead, "{after:?}");
    // The key no longer authenticates at all.
    let err = leaked.call("GetUser", &[], Call::Read).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unauthorized, "{err}");
    // A second revocation finds nothing to do.
    let again = c.revoke(&target).await.unwrap_err();
    assert_eq!(again.code(), ErrorCode::NotFound, "{again}");
}

#[tokio::test]
async fn an_unauthorised_revocation_is_forbidden_and_changes_nothing() {
    let aws = sandbox_or_skip!();
    let admin_api = admin(&aws);
    let (_, victim, _) = user_with_key(&admin_api, "victim").await;
    let (_, key, secret) = user_with_key(&admin_api, "weak").await;
    let url = format!(
        "http://{key}@{}",
        s(&aws["endpoint"]).trim_start_matches("http://")
    );
    let weak = connector(&url, &secret);
    let target = RevokeTarget::Credential {
        kind: CredentialKind::ApiKey,
        external_id: victim,
    };
    let err = weak.revoke(&target).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden, "{err}");
    assert!(
        err.to_string().contains("iam:GetAccessKeyLastUsed"),
        "{err}"
    );
    let console = connector(&s(&aws["url"]), &s(&aws["secret_access_key"]));
    assert!(!console.verify_revoked(&target).await.unwrap().dead);
}

#[tokio::test]
async fn an_inactive_key_is_not_live_but_still_revocable() {
    let aws = sandbox_or_skip!();
    let admin_api = admin(&aws);
    let (user, key, _) = user_with_key(&admin_api, "dormant").await;
    admin_api
        .call(
            "UpdateAccessKey",
            &[
                ("UserName", &user),
                ("AccessKeyId", &key),
                ("Status", "Inactive"),
            ],
            Call::Change,
        )
        .await
        .unwrap();
    let c = connector(&s(&aws["url"]), &s(&aws["secret_access_key"]));
    let inv = c.inventory(&|_| {}).await.unwrap();
    let cred = inv
        .credentials
        .iter()
        .find(|c| c.external_id == key)
        .unwrap();
    assert_eq!(cred.status, CredentialStatus::Unknown);
    assert_eq!(cred.attrs["aws_status"], "Inactive");
    let target = RevokeTarget::Credential {
        kind: CredentialKind::ApiKey,
        external_id: key,
    };
    let before = c.verify_revoked(&target).await.unwrap();
    assert!(
        !before.dead && before.evidence.contains("Inactive"),
        "{before:?}"
    );
    c.revoke(&target).await.unwrap();
    assert!(c.verify_revoked(&target).await.unwrap().dead);
}
