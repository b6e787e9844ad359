//! The `portcullis` CLI end to end against backends that cannot run on our machines.
//!
//! Kong Gateway: a local mock HTTP server (wiremock) serves authentic Admin API payloads from
//! Kong's documentation (crates/connectors/tests/fixtures/kong, see PROVENANCE.md). Keycloak: the
//! connectors' mock realm (`keycloak_support`: roles, client scopes and groups from an authentic
//! Keycloak export, the rest hand-written from the representations). Kubernetes:
//! authentic manifests from the Kubernetes documentation, read as `kubectl get -o yaml` output
//! through a `file://` backend. The connectors' own contract tests cover every endpoint; these
//! prove the CLI path: add, check, sync, list, revoke and verify.

#[path = "../../crates/connectors/tests/keycloak_support/mod.rs"]
mod keycloak_support;

use portcullis_e2e::repo_root;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fixtures() -> PathBuf {
    repo_root().join("crates/connectors/tests/fixtures")
}

fn fixture(rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join(rel)).unwrap()).unwrap()
}

/// One-click revocation of `backend`'s credential `external_id` (extra `revoke` arguments
/// after `--yes`): sent, and proved dead by the backend, whose evidence must contain `evidence`.
fn revoke_proved(
    ws: &std::path::Path,
    backend: &str,
    external_id: &str,
    extra: &[&str],
    evidence: &str,
) {
    let (_, creds, _) = cli(ws, &["credentials", "--backend", backend]);
    let id = creds
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["external_id"] == external_id)
        .map(|c| c["id"].as_i64().unwrap().to_string())
        .unwrap_or_else(|| panic!("{creds}"));
    let mut args = vec!["revoke", id.as_str(), "--yes"];
    args.extend_from_slice(extra);
    let (code, outcome, err) = cli(ws, &args);
    assert_eq!(code, 0, "{outcome} {err}");
    assert_eq!(outcome[0]["verification"]["dead"], true, "{outcome}");
    assert!(
        outcome[0]["verification"]["evidence"]
            .as_str()
            .unwrap()
            .contains(evidence),
        "{outcome}"
    );
}

fn cli(ws: &std::path::Path, args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(repo_root().join("target/debug/portcullis"))
        .arg("--workspace")
        .arg(ws)
        .arg("--json")
        .args(args)
        .env("T_KONG_TOKEN", "kong-admin-token")
        .env("T_KC_SECRET", keycloak_support::SECRET)
        .env("T_GL_TOKEN", "gitlab-token")
        .env("T_GH_TOKEN", "ghs_clitesttoken")
        .env("T_HOOP_KEY", "hpk_test-key-of-the-console")
        .env_remove("PORTCULLIS_WORKSPACE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn kong_key_is_synced_by_fingerprint_then_revoked_and_verified() {
    let server = MockServer::start().await;
    let consumer = fixture("kong/kong-admin-consumer-object.doc-example.json");
    let mut key = fixture("kong/kong-key-auth-create.response.json");
    key["consumer"]["id"] = consumer["id"].clone();
    let key_id = key["id"].as_str().unwrap().to_string();
    let key_value = key["key"].as_str().unwrap().to_string();
    let consumer_id = consumer["id"].as_str().unwrap().to_string();
    let token = || header("Kong-Admin-Token", "kong-admin-token");
    Mock::given(method("GET"))
        .and(path("/"))
        .and(token())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"version": "3.4.2", "configuration": {}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/consumers"))
        .and(token())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [consumer], "next": null})),
        )
        .mount(&server)
        .await;
    // A gateway without plugins, routes or services configured.
    for empty in ["/plugins", "/routes", "/services"] {
        Mock::given(method("GET"))
            .and(path(empty))
            .and(token())
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"data": [], "next": null})),
            )
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/key-auths"))
        .and(token())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [key.clone()], "next": null})),
        )
        .mount(&server)
        .await;
    // Before the DELETE the key reads back; after it, 404.
    Mock::given(method("GET"))
        .and(path(format!("/key-auths/{key_id}")))
        .and(token())
        .respond_with(ResponseTemplate::new(200).set_body_json(key.clone()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/consumers/{consumer_id}/key-auth/{key_id}")))
        .and(token())
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/key-auths/{key_id}")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not found"})))
        .mount(&server)
        .await;

    let ws = tempfile::tempdir().unwrap();
    let (code, _, err) = cli(
        ws.path(),
        &[
            "backend",
            "add",
            "kong",
            "--kind",
            "kong",
            "--url",
            &server.uri(),
            "--credential-env",
            "T_KONG_TOKEN",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, report, err) = cli(ws.path(), &["backend", "check", "kong"]);
    assert_eq!(code, 0, "{report} {err}");
    let (code, sync, err) = cli(ws.path(), &["sync"]);
    assert_eq!(code, 0, "{sync} {err}");

    let (_, creds, _) = cli(ws.path(), &["credentials", "--backend", "kong"]);
    let cred = creds
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["external_id"] == key_id.as_str())
        .unwrap_or_else(|| panic!("key-auth {key_id} not synced: {creds}"));
    assert_eq!(cred["kind"], "api_key");
    let text = creds.to_string();
    assert!(
        !text.contains(&key_value),
        "the key itself must never be stored or printed"
    );

    let id = cred["id"].as_i64().unwrap().to_string();
    let (code, outcome, err) = cli(ws.path(), &["revoke", &id, "--yes"]);
    assert_eq!(code, 0, "{outcome} {err}");
    assert_eq!(outcome[0]["verification"]["dead"], true, "{outcome}");
    let (_, journal, _) = cli(ws.path(), &["journal", "--verify"]);
    assert_eq!(journal["ok"], true, "{journal}");
    assert_eq!(
        journal["sealed"], journal["entries"],
        "sealed with the keychain's key: {journal}"
    );

    // Whoever holds the files can drop the triggers and cut the journal's tail; the head recorded
    // in the keychain after the run says so.
    let cut = Command::new("sqlite3")
        .arg(ws.path().join("cache.journal.db"))
        .arg("DROP TRIGGER journal_no_delete; DELETE FROM journal WHERE seq = (SELECT MAX(seq) FROM journal);")
        .output()
        .unwrap();
    assert!(
        cut.status.success(),
        "{}",
        String::from_utf8_lossy(&cut.stderr)
    );
    let (code, journal, _) = cli(ws.path(), &["journal", "--verify"]);
    assert_eq!(
        (code, &journal["ok"]),
        (1, &Value::Bool(false)),
        "{journal}"
    );
    assert!(
        journal["message"]
            .as_str()
            .unwrap()
            .contains("removed from its end"),
        "{journal}"
    );
}

#[test]
fn kubernetes_manifests_load_as_principals_roles_and_bindings() {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "k8s-docs-role-pod-reader.yaml",
        "k8s-docs-rolebinding-read-pods.yaml",
        "k8s-docs-clusterrole-secret-reader.yaml",
        "k8s-docs-clusterrolebinding-read-secrets-global.yaml",
    ] {
        std::fs::copy(fixtures().join("kubernetes").join(f), dir.path().join(f)).unwrap();
    }
    let ws = tempfile::tempdir().unwrap();
    let url = format!("file://{}/", dir.path().display());
    let (code, _, err) = cli(
        ws.path(),
        &[
            "backend",
            "add",
            "k8s",
            "--kind",
            "kubernetes",
            "--url",
            &url,
            "--no-credential",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, sync, err) = cli(ws.path(), &["sync", "k8s"]);
    assert_eq!(code, 0, "{sync} {err}");
    assert!(sync[0]["counts"]["roles"].as_u64().unwrap() >= 2, "{sync}");
    let (_, principals, _) = cli(ws.path(), &["principals", "--backend", "k8s"]);
    let names: Vec<&str> = principals
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        names.iter().any(|n| n.contains("jane")),
        "jane is bound by read-pods: {names:?}"
    );
    assert!(
        names.iter().any(|n| n.contains("manager")),
        "group manager is bound by read-secrets-global: {names:?}"
    );
}

/// A Kong the console reaches but may not read consumers on is a failed check (exit 1), while a
/// plugin that is simply not loaded (404 on its collection) is reported and does not fail it.
#[tokio::test(flavor = "multi_thread")]
async fn kong_check_fails_when_a_needed_right_is_missing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": "3.4.2"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/consumers"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"message": "no"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/jwts"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not found"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [], "next": null})))
        .mount(&server)
        .await;
    let ws = tempfile::tempdir().unwrap();
    let add = [
        "backend",
        "add",
        "kong",
        "--kind",
        "kong",
        "--url",
        &server.uri(),
        "--credential-env",
        "T_KONG_TOKEN",
    ];
    let (code, _, err) = cli(ws.path(), &add);
    assert_eq!(code, 0, "{err}");
    let (code, report, err) = cli(ws.path(), &["backend", "check", "kong"]);
    assert_eq!(code, 1, "{report} {err}");
    assert_eq!(report["ok"], false, "{report}");
    let right = |r: &str| {
        report["rights"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["right"] == r)
            .unwrap_or_else(|| panic!("{r} not reported: {report}"))
            .clone()
    };
    assert_eq!(right("GET /consumers")["granted"], false);
    assert_eq!(right("GET /consumers")["optional"], false);
    assert_eq!(right("GET /jwts")["optional"], true);
    assert_eq!(right("GET /plugins")["granted"], true);
}

fn principals_of(answer: &Value) -> std::collections::BTreeSet<String> {
    answer["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["principal"]["external_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn keycloak_roles_are_asked_by_name_and_sessions_selected_by_address() {
    use keycloak_support::*;
    let mut kc = Kc::start().await;
    kc.page = 100;
    kc.mount_realm().await;
    kc.get(
        "/events/config",
        json!({"eventsEnabled": false, "adminEventsEnabled": false}),
    )
    .await;
    let ws = tempfile::tempdir().unwrap();
    let (code, _, err) = cli(
        ws.path(),
        &[
            "backend",
            "add",
            "kc",
            "--kind",
            "keycloak",
            "--url",
            &kc.url(),
            "--credential-env",
            "T_KC_SECRET",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, sync, err) = cli(ws.path(), &["sync"]);
    assert_eq!(code, 0, "{sync} {err}");

    // A client role, asked as the output names it: by role on its client, or the whole right.
    let sre = format!("group:{G_SRE}");
    let holders: std::collections::BTreeSet<String> =
        [ALICE.to_string(), SA.to_string(), sre].into();
    let (code, by_role, err) = cli(ws.path(), &["who-can", "uma_protection", "realm-b-client"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(principals_of(&by_role), holders, "{by_role}");
    let (_, whole, _) = cli(
        ws.path(),
        &["who-can", "any", "client realm-b-client: uma_protection"],
    );
    assert_eq!(principals_of(&whole), holders);
    // A realm role, through three levels of groups.
    let (_, realm, _) = cli(ws.path(), &["who-can", "user-b", "realm"]);
    assert!(principals_of(&realm).contains(ALICE), "{realm}");

    let (code, explained, err) = cli(ws.path(), &["explain", "alice"]);
    assert_eq!(code, 0, "{err}");
    let labels: Vec<&str> = explained["subjects"][0]["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["permission"]["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"client realm-b-client: uma_protection"),
        "{labels:?}"
    );
    assert!(labels.contains(&"realm realm-b: user-b"), "{labels:?}");

    // Sessions opened from an address block (Keycloak's ipAddress), and through a client.
    let (code, plan, err) = cli(
        ws.path(),
        &["revoke", "--select", "source=192.0.2.0/24", "--dry-run"],
    );
    assert_eq!(code, 0, "{err}");
    let keys: std::collections::BTreeSet<String> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_string())
        .collect();
    let online = format!("kc:session:{JDOE}/{S_JDOE}");
    let offline = format!("kc:session:offline/{JDOE}/{REALM_B_CLIENT}/{S_JDOE}");
    assert_eq!(keys, [online.clone(), offline.clone()].into(), "{plan}");
    let (_, plan, _) = cli(
        ws.path(),
        &[
            "revoke",
            "--select",
            "client=realm-b-client backend=kc",
            "--dry-run",
        ],
    );
    let keys: Vec<&str> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&online.as_str()),
        "a session of two clients: {keys:?}"
    );
}

/// GitLab: a local mock (wiremock) serving the example answers of GitLab's API documentation
/// (crates/connectors/tests/fixtures/gitlab, see PROVENANCE.md). Hand-made on top, and said so:
/// a second token for john_smith with scope read_api (the listing's example with another id,
/// user and scope), and the revoked answer after the DELETE.
async fn mock_gitlab() -> (MockServer, Value) {
    let server = MockServer::start().await;
    let token = || header("PRIVATE-TOKEN", "gitlab-token");
    let get = |p: &str, body: Value| {
        Mock::given(method("GET"))
            .and(path(format!("/api/v4{p}")))
            .and(token())
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
    };
    let listed = fixture("gitlab/personal_access_tokens.list.json");
    let mut read_only = listed[0].clone();
    read_only["id"] = json!(5);
    read_only["user_id"] = json!(1);
    read_only["scopes"] = json!(["read_api"]);
    let tokens = json!([listed[0], read_only]);
    for (p, body) in [
        (
            "/user",
            fixture("gitlab/user.current-as-administrator.json"),
        ),
        ("/personal_access_tokens/self", listed[0].clone()),
        ("/users", fixture("gitlab/users.list-as-administrator.json")),
        ("/groups", fixture("gitlab/groups.list.json")),
        (
            "/groups/1/members",
            fixture("gitlab/members.list-direct.json"),
        ),
        ("/projects", json!([])),
        ("/personal_access_tokens", tokens),
        (
            "/audit_events",
            fixture("gitlab/audit_events.instance-list.json"),
        ),
    ] {
        get(p, body).mount(&server).await;
    }
    // The DELETE must be sent once (checked when the server drops); after it token 4 reads
    // back revoked.
    Mock::given(method("DELETE"))
        .and(path("/api/v4/personal_access_tokens/4"))
        .and(token())
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let mut revoked = listed[0].clone();
    revoked["revoked"] = json!(true);
    revoked["active"] = json!(false);
    get("/personal_access_tokens/4", revoked)
        .mount(&server)
        .await;
    (server, listed)
}

#[tokio::test(flavor = "multi_thread")]
async fn gitlab_tokens_are_reviewed_asked_about_and_revoked_with_proof() {
    let (server, _) = mock_gitlab().await;
    let ws = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| cli(ws.path(), args);
    let uri = server.uri();
    let add = [
        "backend",
        "add",
        "gl",
        "--kind",
        "gitlab",
        "--url",
        &uri,
        "--credential-env",
        "T_GL_TOKEN",
    ];
    let (code, _, err) = run(&add);
    assert_eq!(code, 0, "{err}");
    let (code, report, err) = run(&["backend", "check", "gl"]);
    assert_eq!(code, 0, "{report} {err}");
    let (code, sync, err) = run(&["sync"]);
    assert_eq!(code, 0, "{sync} {err}");

    // Both members are Developers of foo-bar, so both may write to a project under it; only
    // john_smith's api token (his read_api one does not write) is listed, and jack_smith, blocked,
    // has no live token.
    let (code, who, err) = run(&["who-can", "write", "foo-bar/web"]);
    assert_eq!(code, 0, "{who} {err}");
    let names: Vec<&str> = who["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["principal"]["label"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["jack_smith", "john_smith"], "{who}");
    let (code, readers, _) = run(&["who-can", "read", "foo-bar/web"]);
    assert_eq!(code, 0);
    let john = readers["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["principal"]["label"] == "john_smith")
        .unwrap();
    assert_eq!(
        john["credentials"].as_array().map(Vec::len),
        Some(1),
        "{john}"
    );
    assert_eq!(
        john["credentials"][0]["external_id"], "5",
        "the read_api token reads"
    );
    let writers = who["allowed"].as_array().unwrap();
    assert!(
        writers
            .iter()
            .all(|e| e["credentials"].as_array().is_none_or(|c| c.is_empty())),
        "{who}"
    );

    // The review sees the documented token that never expires.
    let (_, review, err) = run(&["review", "run"]);
    let findings = review["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{review} {err}"));
    assert!(
        findings
            .iter()
            .any(|f| f["rule"] == "never-expiring-credential" && f.to_string().contains("\"4\"")),
        "{review}"
    );

    // The audit trail came in with the sync. Its author (user 1) is the console's own user
    // (GET /user answers john_smith, id 1), so the event is hidden until the query asks.
    let (code, events, err) = run(&["audit", "search", "resource:flightjs"]);
    assert_eq!(code, 0, "{events} {err}");
    assert_eq!(events["total"]["count"], 0, "{events}");
    let (code, events, err) = run(&["audit", "search", "resource:flightjs console:show"]);
    assert_eq!(code, 0, "{events} {err}");
    let found = events["events"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{events}");
    assert_eq!(
        (found[0]["backend"].as_str(), found[0]["action"].as_str()),
        (Some("gl"), Some("add group"))
    );

    // One-click revocation of the token, proved by GitLab's answer.
    revoke_proved(ws.path(), "gl", "4", &[], "revoked=true");
}

/// GitHub: a local mock (wiremock) serving the example answers of GitHub's REST API description
/// (crates/connectors/tests/fixtures/github, see PROVENANCE.md). Hand-made on top, and said so:
/// a second, live PAT grant for octocat (the listing's example with another id, no expiry and
/// `contents: write`), and the listing after the revocation (the documented example alone).
async fn mock_github() -> MockServer {
    let server = MockServer::start().await;
    let org = "/orgs/octo-org";
    let auth = || header("authorization", "Bearer ghs_clitesttoken");
    let listing = |p: &str, per_page: &str, body: Value| {
        Mock::given(method("GET"))
            .and(path(format!("{org}{p}")))
            .and(auth())
            .and(wiremock::matchers::query_param("per_page", per_page))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
    };
    let documented = fixture("github/personal-access-tokens.list-pat-grants.json");
    let mut live = documented[0].clone();
    live["id"] = json!(25382);
    live["token_id"] = json!(98717);
    live["token_expires_at"] = Value::Null;
    live["permissions"]["repository"] = json!({"contents": "write"});
    // The sync reads both grants once; after the revocation only the documented one is left.
    listing(
        "/personal-access-tokens",
        "100",
        json!([documented[0], live]),
    )
    .up_to_n_times(1)
    .mount(&server)
    .await;
    listing("/personal-access-tokens", "100", documented)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{org}/personal-access-tokens")))
        .and(auth())
        .and(wiremock::matchers::body_json(
            json!({"action": "revoke", "pat_ids": [25382]}),
        ))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(org))
        .and(auth())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"login": "octo-org"})))
        .mount(&server)
        .await;
    let members = fixture("github/members.simple-user-items.json");
    for (p, body) in [
        ("/members", members.clone()),
        (
            "/personal-access-token-requests",
            fixture("github/personal-access-token-requests.list-pat-grant-requests.json"),
        ),
        (
            "/credential-authorizations",
            fixture("github/credential-authorizations.list-saml-sso-authorizations.json"),
        ),
        (
            "/installations",
            fixture("github/installations.list-app-installations.json"),
        ),
        ("/audit-log", fixture("github/audit-log.get-audit-log.json")),
    ] {
        listing(p, "100", body).mount(&server).await;
    }
    for p in [
        "/members",
        "/personal-access-tokens",
        "/installations",
        "/credential-authorizations",
        "/audit-log",
    ] {
        listing(p, "1", json!([])).mount(&server).await;
    }
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn github_grants_are_reviewed_asked_about_and_revoked_with_proof() {
    let server = mock_github().await;
    let ws = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| cli(ws.path(), args);
    let url = format!("{}/orgs/octo-org", server.uri());
    let add = [
        "backend",
        "add",
        "gh",
        "--kind",
        "github",
        "--url",
        &url,
        "--credential-env",
        "T_GH_TOKEN",
    ];
    let (code, _, err) = run(&add);
    assert_eq!(code, 0, "{err}");
    let (_, report, err) = run(&["backend", "check", "gh"]);
    let rights = report["rights"]
        .as_array()
        .unwrap_or_else(|| panic!("{report} {err}"));
    assert!(
        rights.iter().any(
            |r| r["right"].as_str().unwrap_or("").contains("Members: read") && r["granted"] == true
        ),
        "{report}"
    );
    let (code, sync, err) = run(&["sync"]);
    assert_eq!(code, 0, "{sync} {err}");

    // octocat owns the organisation: the live grant with contents: write writes to a
    // repository; the documented grant (expired in 2023) carries nothing.
    let (code, who, err) = run(&["who-can", "write", "octo-org/octo-repo"]);
    assert_eq!(code, 0, "{who} {err}");
    let octocat = who["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["principal"]["label"] == "octocat")
        .unwrap_or_else(|| panic!("{who}"));
    let creds: Vec<&str> = octocat["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["external_id"].as_str())
        .collect();
    assert!(creds.contains(&"pat-grant:25382"), "{who}");
    assert!(!creds.contains(&"pat-grant:25381"), "{who}");

    // The review sees the grant whose token never expires.
    let (_, review, err) = run(&["review", "run"]);
    let findings = review["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{review} {err}"));
    assert!(
        findings
            .iter()
            .any(|f| f["rule"] == "never-expiring-credential"
                && f.to_string().contains("pat-grant:25382")),
        "{review}"
    );

    // The audit log came in with the sync.
    let (code, events, err) = run(&["audit", "search", "repo.destroy"]);
    assert_eq!(code, 0, "{events} {err}");
    let found = events["events"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{events}");
    assert_eq!(found[0]["backend"], "gh", "{events}");

    // One-click revocation of the grant, proved by GitHub's listing.
    revoke_proved(
        ws.path(),
        "gh",
        "pat-grant:25382",
        &[],
        "no longer lists 25382",
    );
}

/// hoop.dev: a local mock (wiremock) serving instances of hoop's published OpenAPI description
/// (crates/connectors/tests/fixtures/hoop, held to the schema by the connectors' contract test;
/// see PROVENANCE.md). The sessions' dates are moved to the last hour, so the sync's first
/// window (the last 90 days) takes them in; after the kill the session reads back `done`.
async fn mock_hoop() -> MockServer {
    let server = MockServer::start().await;
    let key = || header("Authorization", "Bearer hpk_test-key-of-the-console");
    let get = |p: &str, body: Value| {
        Mock::given(method("GET"))
            .and(path(format!("/api{p}")))
            .and(key())
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
    };
    for (p, file) in [
        ("/userinfo", "userinfo.json"),
        ("/users", "users.json"),
        ("/serviceaccounts", "serviceaccounts.json"),
        ("/api-keys", "api-keys.json"),
        ("/ai-agents", "ai-agents.json"),
        ("/connections", "connections.json"),
        ("/plugins/access_control", "plugin.access_control.json"),
        ("/access-requests/rules", "access-requests.rules.json"),
        ("/attributes", "attributes.json"),
        ("/audit/logs", "audit.logs.json"),
    ] {
        get(p, fixture(&format!("hoop/{file}")))
            .mount(&server)
            .await;
    }
    let recent = |mut page: Value| {
        let now = chrono::Utc::now();
        for (i, s) in page["data"].as_array_mut().unwrap().iter_mut().enumerate() {
            let at = now - chrono::Duration::minutes(50 - i as i64 * 10);
            s["start_date"] = json!(at.to_rfc3339());
        }
        page
    };
    for (offset, file) in [("0", "sessions.page-1.json"), ("2", "sessions.page-2.json")] {
        Mock::given(method("GET"))
            .and(path("/api/sessions"))
            .and(wiremock::matchers::query_param("offset", offset))
            .and(key())
            .respond_with(
                ResponseTemplate::new(200).set_body_json(recent(fixture(&format!("hoop/{file}")))),
            )
            .mount(&server)
            .await;
    }
    let session = "2DCD9EC6-0C09-4304-9F46-60B7FFB51318";
    Mock::given(method("POST"))
        .and(path(format!("/api/sessions/{session}/kill")))
        .and(key())
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let mut done = fixture("hoop/sessions.page-1.json")["data"][1].clone();
    done["status"] = json!("done");
    get(&format!("/sessions/{session}"), done)
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn hoop_connections_are_asked_about_and_an_open_session_is_killed_with_proof() {
    let server = mock_hoop().await;
    let ws = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| cli(ws.path(), args);
    let uri = server.uri();
    let add = [
        "backend",
        "add",
        "hoop",
        "--kind",
        "hoop",
        "--url",
        &uri,
        "--credential-env",
        "T_HOOP_KEY",
    ];
    let (code, _, err) = run(&add);
    assert_eq!(code, 0, "{err}");
    let (code, report, err) = run(&["backend", "check", "hoop"]);
    assert_eq!(code, 0, "{report} {err}");
    let (code, sync, err) = run(&["sync"]);
    assert_eq!(code, 0, "{sync} {err}");

    // pgdemo's port forwarding: dba (John, by the access_control plugin) and the admin group
    // (a person and the console's own key). John's open session carries that right.
    let (code, who, err) = run(&["who-can", "connect", "pgdemo"]);
    assert_eq!(code, 0, "{who} {err}");
    let allowed = who["allowed"].as_array().unwrap();
    let mut names: Vec<&str> = allowed
        .iter()
        .map(|e| e["principal"]["label"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["admin@example.com", "john.wick@bad.org", "portcullis"],
        "{who}"
    );
    let john = allowed
        .iter()
        .find(|e| e["principal"]["label"] == "john.wick@bad.org")
        .unwrap();
    assert!(
        john["credentials"].to_string().contains("session:2DCD9EC6"),
        "{john}"
    );
    // Ad hoc execution on bash: the engineering group's key, AI agent and service account, sre.
    let (_, who, _) = run(&["who-can", "exec", "bash"]);
    let mut names: Vec<&str> = who["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["principal"]["label"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "admin@example.com",
            "bob-the-bot",
            "claude-ops",
            "john.wick@bad.org",
            "portcullis",
            "system-automation"
        ],
        "{who}"
    );

    // hoop's keys never expire: the review says so of the active ones, not the revoked one.
    let (_, review, err) = run(&["review", "run"]);
    let findings = review["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{review} {err}"));
    let never: Vec<String> = findings
        .iter()
        .filter(|f| f["rule"] == "never-expiring-credential")
        .map(|f| f.to_string())
        .collect();
    assert!(
        never.iter().any(|f| f.contains("api-key:6F0A3C52")),
        "{review}"
    );
    assert!(
        !never.iter().any(|f| f.contains("api-key:7A1B4D63")),
        "{review}"
    );

    // The sessions came in with the sync: two on pgdemo, none of their input.
    let (code, events, err) = run(&["audit", "search", "resource:pgdemo"]);
    assert_eq!(code, 0, "{events} {err}");
    assert_eq!(events["total"]["count"], 2, "{events}");
    assert!(!events.to_string().contains("SELECT NOW()"));

    // The open session is killed in one click, and hoop reads it back done.
    let reason = "INC-9 session left open on pgdemo";
    revoke_proved(
        ws.path(),
        "hoop",
        "session:2DCD9EC6-0C09-4304-9F46-60B7FFB51318",
        &["--reason", reason],
        "done",
    );
    // The reason is journalled with the action.
    let (code, journal, err) = run(&["journal"]);
    assert_eq!(code, 0, "{err}");
    assert!(journal.to_string().contains(reason), "{journal}");
}
