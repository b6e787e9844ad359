//! Scenario tests of planning and execution: a cache filled from fixture inventories, and fake
//! Vault servers (wiremock with state) that count every send, so "never sent twice" is checked,
//! not assumed.

use portcullis_model::{
    BackendKind, Credential, CredentialKind, CredentialRef, CredentialStatus, ErrorCode, Grant,
    Inventory, ItemState, JournalState, NodeKind, Principal, PrincipalKind, Readiness,
    RevocationConfirmation, RevocationOptions, RevocationSelector, RevocationTarget,
};
use portcullis_store::NewJournalEntry;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::spec::TargetSpec;
use crate::Workspace;

const ENV: &str = "PORTCULLIS_TEST_REVOKE_TOKEN";

fn principal(id: &str, name: &str, kind: PrincipalKind) -> Principal {
    Principal {
        external_id: id.into(),
        kind,
        name: name.into(),
        enabled: true,
        attrs: json!({}),
    }
}

fn credential(id: &str, kind: CredentialKind, who: &str) -> Credential {
    Credential {
        external_id: id.into(),
        kind,
        principal_external_id: Some(who.into()),
        client: None,
        scopes: vec![],
        issued_at: Some(chrono::Utc::now()),
        expires_at: None,
        last_used_at: None,
        status: CredentialStatus::Active,
        attrs: json!({}),
    }
}

fn grant(from: &str, to_kind: NodeKind, to: &str) -> Grant {
    Grant {
        from_kind: NodeKind::Principal,
        from_id: from.into(),
        to_kind,
        to_id: to.into(),
    }
}

async fn workspace() -> (tempfile::TempDir, Workspace) {
    std::env::set_var(ENV, "console-token");
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(dir.path()).await.unwrap();
    (dir, ws)
}

async fn add(ws: &Workspace, name: &str, kind: BackendKind, url: &str, inv: Inventory) -> i64 {
    let row = ws
        .store()
        .insert_backend(
            name,
            kind,
            url,
            &CredentialRef::Env { var: ENV.into() },
            &json!({}),
        )
        .await
        .unwrap();
    ws.store().replace_inventory(row.id, &inv).await.unwrap();
    row.id
}

/// Alice in three backends, as sync would leave her.
async fn alice_everywhere(ws: &Workspace) {
    let mut bao = Inventory::default();
    bao.principals
        .push(principal("ent-1", "alice", PrincipalKind::User));
    bao.principals.push(principal(
        "userpass:userpass:alice",
        "alice",
        PrincipalKind::User,
    ));
    bao.credentials
        .push(credential("acc-alice", CredentialKind::Accessor, "ent-1"));
    bao.credentials
        .push(credential("acc-bob", CredentialKind::Accessor, "ent-2"));
    add(ws, "bao", BackendKind::Vault, "http://127.0.0.1:1", bao).await;

    let mut pg = Inventory::default();
    pg.principals
        .push(principal("alice", "alice", PrincipalKind::User));
    pg.principals
        .push(principal("portcullis", "portcullis", PrincipalKind::User));
    pg.grants
        .push(grant("alice", NodeKind::Principal, "billing_write"));
    pg.credentials
        .push(credential("login:alice", CredentialKind::Login, "alice"));
    pg.credentials.push(credential(
        "session:42:1700000000",
        CredentialKind::Session,
        "alice",
    ));
    pg.credentials.push(credential(
        "login:portcullis",
        CredentialKind::Login,
        "portcullis",
    ));
    add(
        ws,
        "pg",
        BackendKind::Postgres,
        "postgres://portcullis@127.0.0.1:1/acme",
        pg,
    )
    .await;

    let mut oidc = Inventory::default();
    oidc.principals
        .push(principal("account:alice", "alice", PrincipalKind::User));
    let mut refresh = credential(
        &"a".repeat(64),
        CredentialKind::RefreshToken,
        "account:alice",
    );
    refresh.attrs = json!({"grant_id": "g1"});
    refresh.client = Some("dashboard".into());
    let mut access = credential(
        &"b".repeat(64),
        CredentialKind::AccessToken,
        "account:alice",
    );
    access.attrs = json!({"grant_id": "g1"});
    access.client = Some("dashboard".into());
    oidc.credentials.push(refresh);
    oidc.credentials.push(access);
    add(
        ws,
        "oidc",
        BackendKind::Oauth2,
        "http://console@127.0.0.1:1",
        oidc,
    )
    .await;
}

fn select(text: &str) -> RevocationSelector {
    RevocationSelector::parse(
        text,
        chrono::Utc::now(),
        chrono::FixedOffset::east_opt(0).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn everything_alice_holds_across_backends() {
    let (_d, ws) = workspace().await;
    alice_everywhere(&ws).await;
    let plan = ws
        .plan_incident(&select("principal=alice"), &[])
        .await
        .unwrap();
    let by_key: HashMap<&str, _> = plan.items.iter().map(|i| (i.key.as_str(), i)).collect();
    let readiness = |k: &str| by_key.get(k).map(|i| i.readiness);

    assert_eq!(readiness("bao:accessor:acc-alice"), Some(Readiness::Ready));
    assert_eq!(
        readiness("bao:accessor:acc-bob"),
        None,
        "bob is not selected"
    );
    assert_eq!(readiness("pg:login:alice"), Some(Readiness::Ready));
    assert_eq!(
        readiness("pg:session:42:1700000000"),
        Some(Readiness::Ready)
    );
    // Memberships stay unless asked for.
    assert!(!plan.items.iter().any(|i| i.key.contains(":grant:")));
    // The OAuth 2.0 tokens need their values; the refresh token names its collateral.
    let refresh = by_key[format!("oidc:refresh_token:{}", "a".repeat(64)).as_str()];
    assert_eq!(refresh.readiness, Readiness::NeedsTokenValue);
    assert_eq!(refresh.collateral.len(), 1);
    // Logins no API can end are listed as such, once per backend.
    let login = by_key["bao:login:alice"];
    assert_eq!(login.readiness, Readiness::Unsupported);
    assert!(!login.alternatives.is_empty());
    assert_eq!(readiness("oidc:login:alice"), Some(Readiness::Unsupported));
    assert_eq!(plan.ready, 3);
    assert_eq!(plan.confirm_phrase, "revoke 3");
    assert!(plan.notes.iter().any(|n| n.contains("--tokens-from")));

    // With the refresh token's value, it is ready and covers the access token of its grant.
    let value = secrecy::SecretString::from("refresh-value".to_string());
    let fp = portcullis_connectors::fingerprint("refresh-value");
    let mut inv = Inventory::default();
    let mut refresh = credential(&fp, CredentialKind::RefreshToken, "account:alice");
    refresh.attrs = json!({"grant_id": "g2"});
    let mut access = credential(
        &"c".repeat(64),
        CredentialKind::AccessToken,
        "account:alice",
    );
    access.attrs = json!({"grant_id": "g2"});
    inv.principals
        .push(principal("account:alice", "alice", PrincipalKind::User));
    inv.credentials.extend([refresh, access]);
    add(
        &ws,
        "oidc2",
        BackendKind::Oauth2,
        "http://console@127.0.0.1:1",
        inv,
    )
    .await;
    let plan = ws
        .plan_incident(&select("principal=alice backend=oidc2"), &[value])
        .await
        .unwrap();
    let refresh = plan.items.iter().find(|i| i.key.contains(&fp)).unwrap();
    assert_eq!(refresh.readiness, Readiness::Ready);
    let access = plan
        .items
        .iter()
        .find(|i| i.key.contains(&"c".repeat(64)))
        .unwrap();
    assert_eq!(access.readiness, Readiness::Covered);
    assert_eq!(access.covered_by.as_deref(), Some(refresh.key.as_str()));

    // grants=yes adds her direct memberships.
    let plan = ws
        .plan_incident(&select("principal=alice backend=pg grants=yes"), &[])
        .await
        .unwrap();
    assert!(plan
        .items
        .iter()
        .any(|i| i.key == "pg:grant:alice>billing_write" && i.is_ready()));
}

#[tokio::test]
async fn the_consoles_own_access_is_protected_and_selections_narrow() {
    let (_d, ws) = workspace().await;
    alice_everywhere(&ws).await;
    let plan = ws.plan_incident(&select("backend=pg"), &[]).await.unwrap();
    let own = plan
        .items
        .iter()
        .find(|i| i.key == "pg:login:portcullis")
        .unwrap();
    assert_eq!(own.readiness, Readiness::Protected);
    // On Vault the URL names nobody: the accessor the last sync recorded as the console's own
    // protects that token, and only it.
    let bao = ws.store().backend_by_name("bao").await.unwrap();
    let plan = ws.plan_incident(&select("backend=bao"), &[]).await.unwrap();
    assert!(plan
        .items
        .iter()
        .all(|i| i.readiness != Readiness::Protected));
    ws.store()
        .set_console_identity(bao.id, &["acc-bob".to_string()])
        .await
        .unwrap();
    let plan = ws.plan_incident(&select("backend=bao"), &[]).await.unwrap();
    let readiness = |key: &str| {
        plan.items
            .iter()
            .find(|i| i.key.ends_with(key))
            .map(|i| i.readiness)
    };
    assert_eq!(readiness(":acc-bob"), Some(Readiness::Protected));
    assert_eq!(readiness(":acc-alice"), Some(Readiness::Ready));
    let plan = ws
        .plan_incident(&select("client=dashboard backend=oidc"), &[])
        .await
        .unwrap();
    assert_eq!(plan.items.len(), 2);
    let plan = ws
        .plan_incident(&select(&format!("fingerprint={}", &"b".repeat(10))), &[])
        .await
        .unwrap();
    assert_eq!(plan.items.len(), 1);
    let future = select("since=2099-01-01");
    assert!(ws
        .plan_incident(&future, &[])
        .await
        .unwrap()
        .items
        .is_empty());
    let err = ws
        .plan_incident(&select("backend=nope"), &[])
        .await
        .unwrap_err();
    assert_eq!(
        portcullis_model::IpcError::from(err).code,
        ErrorCode::InvalidInput
    );
    // A single preview says what will and will not happen.
    let id = ws
        .credentials(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.external_id == "login:alice")
        .unwrap()
        .id;
    let item = ws
        .preview_revocation(&RevocationTarget::Credential { id })
        .await
        .unwrap();
    assert_eq!(item.action, "ALTER ROLE alice NOLOGIN");
    assert!(item
        .will_not
        .iter()
        .any(|w| w.contains("sessions already open")));
}

/// A Vault that knows which accessors are alive, answers `fail_first[a]` 503s to the first
/// revocations of `a`, and counts every revoke-accessor that reached it.
#[derive(Clone, Default)]
struct FakeVault {
    live: Arc<Mutex<HashSet<String>>>,
    sends: Arc<Mutex<HashMap<String, u32>>>,
    fail_first: Arc<Mutex<HashMap<String, u32>>>,
    always_503: bool,
    /// LIST auth/token/accessors calls answered.
    lists: Arc<Mutex<u32>>,
}

fn accessor_of(req: &Request) -> String {
    serde_json::from_slice::<serde_json::Value>(&req.body)
        .ok()
        .and_then(|v| {
            v.get("accessor")
                .and_then(|a| a.as_str())
                .map(str::to_string)
        })
        .unwrap_or_default()
}

impl FakeVault {
    async fn start(&self) -> MockServer {
        let server = MockServer::start().await;
        let me = self.clone();
        Mock::given(method("POST"))
            .and(path("/v1/auth/token/revoke-accessor"))
            .respond_with(move |req: &Request| {
                if me.always_503 {
                    return ResponseTemplate::new(503);
                }
                let a = accessor_of(req);
                if let Some(n) = me.fail_first.lock().unwrap().get_mut(&a) {
                    if *n > 0 {
                        *n -= 1;
                        return ResponseTemplate::new(503);
                    }
                }
                *me.sends.lock().unwrap().entry(a.clone()).or_default() += 1;
                if me.live.lock().unwrap().remove(&a) {
                    ResponseTemplate::new(204)
                } else {
                    ResponseTemplate::new(400)
                        .set_body_json(json!({"errors": ["invalid accessor"]}))
                }
            })
            .mount(&server)
            .await;
        let me = self.clone();
        Mock::given(method("POST"))
            .and(path("/v1/auth/token/lookup-accessor"))
            .respond_with(move |req: &Request| {
                if me.always_503 {
                    return ResponseTemplate::new(503);
                }
                let a = accessor_of(req);
                if me.live.lock().unwrap().contains(&a) {
                    ResponseTemplate::new(200).set_body_json(json!({"data": {"accessor": a}}))
                } else {
                    ResponseTemplate::new(400)
                        .set_body_json(json!({"errors": ["invalid accessor"]}))
                }
            })
            .mount(&server)
            .await;
        let me = self.clone();
        Mock::given(method("GET"))
            .and(path("/v1/auth/token/accessors"))
            .respond_with(move |_: &Request| {
                *me.lists.lock().unwrap() += 1;
                let keys: Vec<String> = me.live.lock().unwrap().iter().cloned().collect();
                ResponseTemplate::new(200).set_body_json(json!({"data": {"keys": keys}}))
            })
            .mount(&server)
            .await;
        // The console's own token: looked up by value at the start of a run.
        Mock::given(method("POST"))
            .and(path("/v1/auth/token/lookup"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"data": {"accessor": "own"}})),
            )
            .mount(&server)
            .await;
        server
    }

    fn sends(&self, a: &str) -> u32 {
        self.sends.lock().unwrap().get(a).copied().unwrap_or(0)
    }
}

async fn vault_backend(ws: &Workspace, name: &str, uri: &str, accessors: &[String]) {
    let mut inv = Inventory::default();
    for a in accessors {
        inv.credentials
            .push(credential(a, CredentialKind::Accessor, "svc"));
    }
    add(ws, name, BackendKind::Vault, uri, inv).await;
}

fn quick() -> RevocationOptions {
    RevocationOptions {
        concurrency: 4,
        max_attempts: 3,
        backoff_ms: 5,
        give_up_after: 3,
    }
}

#[tokio::test]
async fn a_bulk_run_journals_every_step_retries_transient_failures_and_spares_the_console() {
    let (_d, ws) = workspace().await;
    let fake = FakeVault::default();
    let mut accessors: Vec<String> = (0..12).map(|i| format!("acc{i}")).collect();
    fake.live.lock().unwrap().extend(accessors.iter().cloned());
    // acc3 fails 4 times: the connector's own 3 attempts, then the engine's retry succeeds.
    fake.fail_first.lock().unwrap().insert("acc3".into(), 4);
    let server = fake.start().await;
    accessors.push("own".into());
    fake.live.lock().unwrap().insert("own".into());
    vault_backend(&ws, "bao", &server.uri(), &accessors).await;

    let plan = ws.plan_incident(&select("backend=bao"), &[]).await.unwrap();
    assert_eq!(plan.ready, 13);
    let wrong = ws
        .execute_revocation(
            &plan,
            RevocationConfirmation::new(12),
            &[],
            &quick(),
            &CancellationToken::new(),
            &|_| {},
        )
        .await
        .unwrap_err();
    assert_eq!(
        portcullis_model::IpcError::from(wrong).code,
        ErrorCode::InvalidInput
    );
    assert!(
        ws.journal(0, 10).await.unwrap().is_empty(),
        "nothing journalled, nothing sent"
    );

    let events = Mutex::new(Vec::new());
    let report = ws
        .execute_revocation(
            &plan,
            RevocationConfirmation::new(13),
            &[],
            &quick(),
            &CancellationToken::new(),
            &|e| events.lock().unwrap().push(e),
        )
        .await
        .unwrap();
    assert_eq!(report.verified, 12, "{report:#?}");
    assert_eq!(report.failed, 1);
    let own = report
        .items
        .iter()
        .find(|i| i.key == "bao:accessor:own")
        .unwrap();
    assert!(own
        .error
        .as_ref()
        .unwrap()
        .message
        .contains("console's own token"));
    assert_eq!(fake.sends("own"), 0);
    assert!(fake.live.lock().unwrap().contains("own"));
    for a in accessors.iter().filter(|a| *a != "own") {
        assert_eq!(fake.sends(a), 1, "{a} reached the backend once");
    }
    let acc3 = report
        .items
        .iter()
        .find(|i| i.key == "bao:accessor:acc3")
        .unwrap();
    assert_eq!(
        acc3.sends, 2,
        "one engine retry after the connector's own retries"
    );

    // Journal: incident planned+confirmed+closed; per item planned → sent (→ sent) → confirmed → verified.
    let journal = ws.journal(0, 1000).await.unwrap();
    let incident = &journal[0];
    assert_eq!(
        (incident.action.as_str(), incident.state),
        ("incident", JournalState::Planned)
    );
    assert_eq!(incident.detail["count"], 13);
    let states = |seq: i64| -> Vec<JournalState> {
        journal
            .iter()
            .filter(|e| e.seq == seq || e.action_seq == Some(seq))
            .map(|e| e.state)
            .collect()
    };
    use JournalState::*;
    assert_eq!(
        states(incident.seq),
        vec![Planned, Confirmed, Failed],
        "one item failed"
    );
    assert_eq!(
        states(acc3.journal_seq.unwrap()),
        vec![Planned, Sent, Sent, Confirmed, Verified]
    );
    assert_eq!(states(own.journal_seq.unwrap()), vec![Planned, Failed]);
    assert!(ws.journal_verify().await.unwrap().ok);
    assert!(ws.unfinished_revocations().await.unwrap().is_empty());
    // The cache knows what was proven dead.
    let revoked = ws
        .credentials(&portcullis_model::CredentialFilter {
            status: Some(CredentialStatus::Revoked),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(revoked.len(), 12);
    assert!(events
        .lock()
        .unwrap()
        .iter()
        .any(|e| e.state == Verified && e.total == 13));
}

#[tokio::test]
async fn resuming_asks_first_and_sends_only_what_is_still_alive() {
    let (_d, ws) = workspace().await;
    let fake = FakeVault::default();
    fake.live
        .lock()
        .unwrap()
        .extend(["alive-sent".to_string(), "never-sent".to_string()]);
    let server = fake.start().await;
    vault_backend(
        &ws,
        "bao",
        &server.uri(),
        &["landed".into(), "alive-sent".into(), "never-sent".into()],
    )
    .await;

    // What a kill -9 leaves: an incident, one item sent and landed, one sent and lost, one only planned.
    let entry = |action, target: String, state, action_seq, detail| NewJournalEntry {
        actor: "t",
        action,
        target: Box::leak(target.into_boxed_str()),
        state,
        action_seq,
        detail,
    };
    let incident = ws
        .store()
        .journal_append(entry(
            "incident",
            "backend=bao".into(),
            JournalState::Planned,
            None,
            json!({}),
        ))
        .await
        .unwrap();
    let mut seqs = Vec::new();
    for (acc, sent) in [
        ("landed", true),
        ("alive-sent", true),
        ("never-sent", false),
    ] {
        let spec = TargetSpec::Credential {
            kind: CredentialKind::Accessor,
            external_id: acc.into(),
        };
        let planned = ws
            .store()
            .journal_append(entry(
                "revoke",
                format!("bao {}", spec.describe()),
                JournalState::Planned,
                None,
                json!({"key": format!("bao:accessor:{acc}"), "backend": "bao", "spec": spec,
                       "resend": "idempotent", "incident": incident.seq}),
            ))
            .await
            .unwrap();
        if sent {
            ws.store()
                .journal_append(entry(
                    "revoke",
                    "x".into(),
                    JournalState::Sent,
                    Some(planned.seq),
                    json!({}),
                ))
                .await
                .unwrap();
        }
        seqs.push(planned.seq);
    }
    // An incident killed before its items were planned: nothing was sent.
    let empty = ws
        .store()
        .journal_append(entry(
            "incident",
            "backend=none".into(),
            JournalState::Planned,
            None,
            json!({}),
        ))
        .await
        .unwrap();
    let open = ws.unfinished_revocations().await.unwrap();
    assert_eq!(open.len(), 5);
    assert!(open.iter().all(|u| u.resumable));

    let report = ws
        .resume_revocations(&[], &quick(), &CancellationToken::new(), &|_| {})
        .await
        .unwrap();
    assert_eq!(report.verified, 3, "{report:#?}");
    assert_eq!(fake.sends("landed"), 0, "found dead: not sent again");
    assert_eq!(fake.sends("alive-sent"), 1);
    assert_eq!(fake.sends("never-sent"), 1);
    let landed = report
        .items
        .iter()
        .find(|i| i.key == "bao:accessor:landed")
        .unwrap();
    assert!(landed.resumed && landed.sends == 0);
    assert!(ws.unfinished_revocations().await.unwrap().is_empty());
    let journal = ws.journal(0, 1000).await.unwrap();
    let closing = |seq: i64| {
        journal
            .iter()
            .rev()
            .find(|e| e.action_seq == Some(seq))
            .map(|e| e.state)
    };
    assert_eq!(closing(incident.seq), Some(JournalState::Verified));
    assert_eq!(closing(empty.seq), Some(JournalState::Failed));
    assert!(ws.journal_verify().await.unwrap().ok);
    // A second resume finds nothing to do.
    let again = ws
        .resume_revocations(&[], &quick(), &CancellationToken::new(), &|_| {})
        .await
        .unwrap();
    assert!(again.items.is_empty());
}

#[tokio::test]
async fn a_failing_backend_is_given_up_with_reasons_while_the_others_finish() {
    let (_d, ws) = workspace().await;
    let good = FakeVault::default();
    let good_acc: Vec<String> = (0..6).map(|i| format!("g{i}")).collect();
    good.live.lock().unwrap().extend(good_acc.iter().cloned());
    let good_server = good.start().await;
    vault_backend(&ws, "good", &good_server.uri(), &good_acc).await;
    let bad = FakeVault {
        always_503: true,
        ..Default::default()
    };
    let bad_server = bad.start().await;
    let bad_acc: Vec<String> = (0..10).map(|i| format!("b{i}")).collect();
    vault_backend(&ws, "bad", &bad_server.uri(), &bad_acc).await;

    let plan = ws
        .plan_incident(&select("backend=good,bad"), &[])
        .await
        .unwrap();
    let opts = RevocationOptions {
        concurrency: 2,
        max_attempts: 1,
        backoff_ms: 5,
        give_up_after: 2,
    };
    let report = ws
        .execute_revocation(
            &plan,
            RevocationConfirmation::new(plan.ready),
            &[],
            &opts,
            &CancellationToken::new(),
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!(report.verified, 6);
    assert_eq!(report.failed, 10);
    for item in report.items.iter().filter(|i| i.backend == "bad") {
        assert_eq!(item.state, ItemState::Failed);
        let e = item.error.as_ref().unwrap();
        assert_eq!(e.code, ErrorCode::BackendError, "{e}");
        assert!(
            e.message.contains("503") || e.message.contains("not sent"),
            "{e}"
        );
    }
    let unsent = report
        .items
        .iter()
        .filter(|i| i.backend == "bad" && i.sends == 0)
        .count();
    assert!(
        unsent >= 6,
        "after 2 failures in a row the rest is not sent ({unsent} unsent)"
    );
    assert!(ws.unfinished_revocations().await.unwrap().is_empty());
    assert!(ws.journal_verify().await.unwrap().ok);
}

#[tokio::test]
async fn a_big_run_is_proved_by_one_listing_and_a_cancel_stops_the_sending() {
    let (_d, ws) = workspace().await;
    let fake = FakeVault::default();
    let accessors: Vec<String> = (0..40).map(|i| format!("acc{i:02}")).collect();
    fake.live.lock().unwrap().extend(accessors.iter().cloned());
    fake.live.lock().unwrap().insert("own".into());
    let server = fake.start().await;
    vault_backend(&ws, "bao", &server.uri(), &accessors).await;
    let plan = ws.plan_incident(&select("backend=bao"), &[]).await.unwrap();
    assert_eq!(plan.ready, 40);

    // Cancelled as soon as the first item is confirmed: what is in flight finishes and is
    // proved, nothing more is sent, and every item ends with a final state.
    let cancel = CancellationToken::new();
    let report = ws
        .execute_revocation(
            &plan,
            RevocationConfirmation::new(40),
            &[],
            &quick(),
            &cancel,
            &|e| {
                if e.state == JournalState::Confirmed {
                    cancel.cancel();
                }
            },
        )
        .await
        .unwrap();
    let sent: u32 = accessors.iter().map(|a| fake.sends(a)).sum();
    assert!(report.verified >= 1 && report.verified < 40, "{report:#?}");
    assert_eq!(sent, report.verified, "only what was sent is verified");
    for item in &report.items {
        match item.state {
            ItemState::Verified => assert_eq!(item.sends, 1),
            _ => {
                assert_eq!(item.sends, 0, "{item:?}");
                assert_eq!(item.error.as_ref().unwrap().code, ErrorCode::Cancelled);
            }
        }
    }
    assert!(ws.unfinished_revocations().await.unwrap().is_empty());
    assert!(ws.journal_verify().await.unwrap().ok);

    // The rest, in one run: 30+ tokens on a backend of ~40 are proved by one listing, not by
    // a lookup each.
    let rest = ws.plan_incident(&select("backend=bao"), &[]).await.unwrap();
    let lists_before = *fake.lists.lock().unwrap();
    let count = rest.ready;
    let report = ws
        .execute_revocation(
            &rest,
            RevocationConfirmation::new(count),
            &[],
            &quick(),
            &CancellationToken::new(),
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!(report.verified, count, "{report:#?}");
    assert_eq!(*fake.lists.lock().unwrap(), lists_before + 1);
    let proved: Vec<_> = report
        .items
        .iter()
        .filter(|i| i.state == ItemState::Verified)
        .collect();
    assert_eq!(proved.len() as u32, count);
    assert!(proved.iter().all(|i| i
        .verification
        .as_ref()
        .is_some_and(|v| v.evidence.contains("no longer lists"))));
    for a in &accessors {
        assert_eq!(fake.sends(a), 1, "{a} was sent once over both runs");
    }
}

/// The journal's actor: an explicit `PORTCULLIS_ACTOR`, then the login environment, then the
/// OS account (a session or a unit with no `$USER` used to journal "unknown").
#[test]
fn the_actor_falls_back_to_the_os_account() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    let account = || Some("svc-review".to_string());
    assert_eq!(super::actor_from(env(&[]), account), "svc-review");
    assert_eq!(
        super::actor_from(env(&[("USER", " ")]), account),
        "svc-review"
    );
    assert_eq!(super::actor_from(env(&[("USER", "ana")]), account), "ana");
    assert_eq!(
        super::actor_from(
            env(&[("USER", "ana"), ("PORTCULLIS_ACTOR", "ir-team")]),
            account
        ),
        "ir-team"
    );
    assert_eq!(super::actor_from(env(&[]), || None), "unknown");
    assert!(!super::current_actor().is_empty());
}

/// A Keycloak realm's session as the connector writes it (`map.rs` `session_credential`).
fn kc_session(user: &str, sid: &str, ip: &str, clients: &[&str], issued: i64) -> Credential {
    let mut c = credential(&format!("{user}/{sid}"), CredentialKind::Session, user);
    c.client = (clients.len() == 1).then(|| clients[0].to_string());
    c.issued_at = chrono::DateTime::from_timestamp(issued, 0);
    c.attrs = json!({"session_id": sid, "ip_address": ip, "clients": clients});
    c
}

/// A tiny deterministic generator (xorshift), so the names and addresses are not the seed's.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn name(&mut self) -> String {
        (0..7)
            .map(|_| (b'a' + (self.next() % 26) as u8) as char)
            .collect()
    }
}

async fn selected(ws: &Workspace, text: &str) -> HashSet<String> {
    ws.plan_incident(&select(text), &[])
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|i| i.credential_id.is_some())
        .map(|i| i.key)
        .collect()
}

#[tokio::test]
async fn source_client_and_issue_time_select_on_what_each_credential_records() {
    let (_d, ws) = workspace().await;
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let mut kc = Inventory::default();
    let mut pg = Inventory::default();
    let (mut in_block, mut via_b, mut recent) = (HashSet::new(), HashSet::new(), HashSet::new());
    let t0 = 1_790_000_000;
    for i in 0..24u64 {
        let user = format!("{}-{i}", g.name());
        kc.principals
            .push(principal(&user, &user, PrincipalKind::User));
        let inside = g.next().is_multiple_of(2);
        let ip = if inside {
            format!("10.9.{}.{}", g.next() % 256, g.next() % 256)
        } else {
            format!("192.0.2.{}", g.next() % 256)
        };
        let clients: Vec<String> = (0..1 + g.next() % 3).map(|_| g.name()).collect();
        let refs: Vec<&str> = clients.iter().map(String::as_str).collect();
        let issued = t0 + (g.next() % 1000) as i64;
        let sid = g.name();
        kc.credentials
            .push(kc_session(&user, &sid, &ip, &refs, issued));
        let key = format!("kc:session:{user}/{sid}");
        if inside {
            in_block.insert(key.clone());
        }
        if clients.len() > 1 {
            via_b.insert((clients[1].clone(), key.clone()));
        }
        if issued >= t0 + 500 {
            recent.insert(key.clone());
        }
        // A PostgreSQL session of the same person, with the address pg_stat_activity records.
        let mut s = credential(&format!("session:{i}:1"), CredentialKind::Session, &user);
        s.attrs = json!({"client_addr": ip});
        s.issued_at = chrono::DateTime::from_timestamp(issued, 0);
        pg.principals
            .push(principal(&user, &user, PrincipalKind::User));
        pg.credentials.push(s);
        if inside {
            in_block.insert(format!("pg:session:{i}:1"));
        }
        if issued >= t0 + 500 {
            recent.insert(format!("pg:session:{i}:1"));
        }
    }
    add(
        &ws,
        "kc",
        BackendKind::Keycloak,
        "https://console@kc.example/realms/r",
        kc,
    )
    .await;
    add(
        &ws,
        "pg",
        BackendKind::Postgres,
        "postgres://console@127.0.0.1:1/x",
        pg,
    )
    .await;

    assert!(!in_block.is_empty());
    assert_eq!(selected(&ws, "source=10.9.0.0/16").await, in_block);
    assert_eq!(
        selected(&ws, "source=10.9.0.0/16 backend=keycloak").await,
        in_block
            .iter()
            .filter(|k| k.starts_with("kc:"))
            .cloned()
            .collect()
    );
    // A session opened through several clients is selected by any of them.
    let (client, key) = via_b.iter().next().unwrap().clone();
    assert!(selected(&ws, &format!("client={client}"))
        .await
        .contains(&key));
    // since: issue time, on every kind that records it.
    let since = chrono::DateTime::from_timestamp(t0 + 500, 0).unwrap();
    assert_eq!(
        selected(&ws, &format!("since={}", since.to_rfc3339())).await,
        recent
    );
}

/// A realm where `who` reach roles through groups and composites, each role carrying its right
/// as the Keycloak connector writes it.
#[tokio::test]
async fn permission_selects_the_holders_the_access_model_names() {
    let (_d, ws) = workspace().await;
    let mut g = Gen(0x2545_f491_4f6c_dd1d);
    let (kim, lee, ola) = (g.name(), g.name(), g.name());
    let group = format!("group:{}", g.name());
    let mut kc = Inventory::default();
    for u in [&kim, &lee, &ola] {
        kc.principals.push(principal(u, u, PrincipalKind::User));
        kc.credentials.push(kc_session(
            u,
            &g.name(),
            "10.0.0.1",
            &["portal"],
            1_790_000_000,
        ));
    }
    kc.principals
        .push(principal(&group, "sales", PrincipalKind::Group));
    let right = |role: &str| Grant {
        from_kind: NodeKind::Role,
        from_id: role.into(),
        to_kind: NodeKind::Permission,
        to_id: format!("{role}-right"),
    };
    kc.permissions = ["realm:auditor", "client:portal:viewer"]
        .iter()
        .map(|r| portcullis_model::Permission {
            external_id: format!("{r}-right"),
            name: format!("right-of-{r}"),
            resource: "realm r".into(),
            action: portcullis_model::Action::Other,
            raw: json!({"role": r}),
        })
        .collect();
    kc.grants = vec![
        grant(&kim, NodeKind::Principal, &group),
        Grant {
            from_kind: NodeKind::Principal,
            from_id: group.clone(),
            to_kind: NodeKind::Role,
            to_id: "realm:auditor".into(),
        },
        Grant {
            from_kind: NodeKind::Role,
            from_id: "realm:auditor".into(),
            to_kind: NodeKind::Role,
            to_id: "client:portal:viewer".into(),
        },
        grant(&lee, NodeKind::Role, "client:portal:viewer"),
        right("realm:auditor"),
        right("client:portal:viewer"),
    ];
    add(
        &ws,
        "kc",
        BackendKind::Keycloak,
        "https://console@kc.example/realms/r",
        kc,
    )
    .await;
    let whose = |keys: HashSet<String>| -> HashSet<String> {
        keys.into_iter()
            .map(|k| k.split(['/', ':']).nth(2).unwrap_or_default().to_string())
            .collect()
    };
    let both: HashSet<String> = [kim.clone(), lee.clone()].into();
    // By the right's id, by its name, and by the role itself (a composite through a group).
    assert_eq!(
        whose(selected(&ws, "permission=client:portal:viewer-right").await),
        both
    );
    assert_eq!(
        whose(selected(&ws, "permission=right-of-client:portal:viewer").await),
        both
    );
    assert_eq!(
        whose(selected(&ws, "permission=client:portal:viewer").await),
        both
    );
    assert_eq!(
        whose(selected(&ws, "permission=realm:auditor-right").await),
        [kim.clone()].into()
    );
    assert!(selected(&ws, "permission=nothing-of-that-name")
        .await
        .is_empty());
    // A name resolves as explain resolves it: the group by its name holds no session.
    assert!(selected(&ws, "principal=sales").await.is_empty());
    assert_eq!(
        whose(selected(&ws, &format!("principal={ola}")).await),
        [ola.clone()].into()
    );
}

mod agreement {
    //! Property: on generated caches the planner selects what the access model says —
    //! `principal=X` exactly X's live credentials, `permission=P` exactly the live credentials
    //! of the principals `explain` lists P for.

    use super::*;
    use portcullis_model::{Action, ExplainQuery, Permission};
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    struct Org {
        users: Vec<String>,
        groups: usize,
        perms: usize,
        /// (user, group), (group, parent group), (principal index, role), (role, role), (role, perm).
        member: Vec<(usize, usize)>,
        nest: Vec<(usize, usize)>,
        holds: Vec<(usize, usize)>,
        composite: Vec<(usize, usize)>,
        rights: Vec<(usize, usize)>,
        /// (user, live, roles its scopes name) per credential.
        creds: Vec<(usize, bool, Vec<usize>)>,
        roles: usize,
    }

    fn org() -> impl Strategy<Value = Org> {
        (
            proptest::collection::btree_set("[a-z]{4,9}", 1..7),
            0usize..4,
            1usize..6,
            1usize..6,
        )
            .prop_flat_map(|(names, groups, roles, perms)| {
                let users: Vec<String> = names.into_iter().collect();
                let n = users.len();
                let pairs = |a: usize, b: usize, max: usize| {
                    proptest::collection::vec((0..a.max(1), 0..b.max(1)), 0..max)
                };
                (
                    Just(users),
                    Just(groups),
                    Just(roles),
                    Just(perms),
                    pairs(n, groups, 8),
                    pairs(groups, groups, 4),
                    pairs(n + groups, roles, 10),
                    pairs(roles, roles, 6),
                    pairs(roles, perms, 10),
                    proptest::collection::vec(
                        (
                            0..n,
                            any::<bool>(),
                            proptest::collection::vec(0..roles, 0..3),
                        ),
                        0..12,
                    ),
                )
            })
            .prop_map(
                |(users, groups, roles, perms, member, nest, holds, composite, rights, creds)| {
                    Org {
                        users,
                        groups,
                        perms,
                        member: if groups == 0 { vec![] } else { member },
                        nest: if groups == 0 { vec![] } else { nest },
                        holds,
                        composite,
                        rights,
                        creds,
                        roles,
                    }
                },
            )
    }

    /// The inventory of `o`; with `scoped`, credentials carry their roles as scopes (Vault
    /// tokens and their policies).
    fn inventory(o: &Org, scoped: bool) -> Inventory {
        let group = |g: usize| format!("group:g{g}");
        let principal_id = |p: usize| {
            if p < o.users.len() {
                o.users[p].clone()
            } else {
                group(p - o.users.len())
            }
        };
        let mut inv = Inventory::default();
        for u in &o.users {
            inv.principals.push(principal(u, u, PrincipalKind::User));
        }
        for g in 0..o.groups {
            inv.principals.push(principal(
                &group(g),
                &format!("grp{g}"),
                PrincipalKind::Group,
            ));
        }
        for p in 0..o.perms {
            inv.permissions.push(Permission {
                external_id: format!("perm-{p}"),
                name: format!("perm-{p}"),
                resource: format!("res{p}"),
                action: Action::Read,
                raw: json!({}),
            });
        }
        let edge = |fk, fi: String, tk, ti: String| Grant {
            from_kind: fk,
            from_id: fi,
            to_kind: tk,
            to_id: ti,
        };
        use NodeKind::{Permission as Pm, Principal as P, Role as R};
        for &(u, g) in &o.member {
            inv.grants.push(edge(P, o.users[u].clone(), P, group(g)));
        }
        for &(a, b) in &o.nest {
            inv.grants.push(edge(P, group(a), P, group(b)));
        }
        for &(p, r) in &o.holds {
            if p < o.users.len() + o.groups {
                inv.grants
                    .push(edge(P, principal_id(p), R, format!("role-{r}")));
            }
        }
        for &(a, b) in &o.composite {
            inv.grants
                .push(edge(R, format!("role-{a}"), R, format!("role-{b}")));
        }
        for &(r, p) in &o.rights {
            if p < o.perms {
                inv.grants
                    .push(edge(R, format!("role-{r}"), Pm, format!("perm-{p}")));
            }
        }
        for r in 0..o.roles {
            inv.roles.push(portcullis_model::Role {
                external_id: format!("role-{r}"),
                name: format!("role-{r}"),
                description: None,
            });
        }
        for (i, (u, live, roles)) in o.creds.iter().enumerate() {
            let mut c = credential(&format!("s{i}"), CredentialKind::Session, &o.users[*u]);
            if !live {
                c.status = CredentialStatus::Revoked;
            }
            if scoped {
                c.scopes = roles.iter().map(|r| format!("role-{r}")).collect();
            }
            inv.credentials.push(c);
        }
        inv.grants
            .sort_by(|a, b| (&a.from_id, &a.to_id).cmp(&(&b.from_id, &b.to_id)));
        inv.grants.dedup();
        inv
    }

    /// Live credentials selected (keys of items a run would send).
    async fn live_selected(ws: &Workspace, text: &str) -> HashSet<String> {
        ws.plan_incident(&select(text), &[])
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|i| i.credential_id.is_some() && i.readiness != Readiness::AlreadyInactive)
            .map(|i| i.key)
            .collect()
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

        #[test]
        fn the_planner_selects_what_explain_says(o in org()) {
            runtime().block_on(async {
                let (_d, ws) = workspace().await;
                add(&ws, "kc", BackendKind::Keycloak, "https://console@kc.example/realms/r", inventory(&o, false)).await;
                let live_of = |users: &HashSet<String>| -> HashSet<String> {
                    o.creds.iter().enumerate()
                        .filter(|(_, (u, live, _))| *live && users.contains(&o.users[*u]))
                        .map(|(i, _)| format!("kc:session:s{i}"))
                        .collect()
                };
                for u in &o.users {
                    let got = live_selected(&ws, &format!("principal={u}")).await;
                    assert_eq!(got, live_of(&HashSet::from([u.clone()])), "principal={u}");
                }
                for p in 0..o.perms {
                    let perm = format!("perm-{p}");
                    let mut holders = HashSet::new();
                    for u in &o.users {
                        let e = ws.access_explain(&ExplainQuery {
                            subject: u.clone(),
                            ..ExplainQuery::default()
                        }).await.unwrap();
                        if e.subjects.iter().any(|s| s.permissions.iter().any(|x| x.permission.external_id == perm)) {
                            holders.insert(u.clone());
                        }
                    }
                    let got = live_selected(&ws, &format!("permission={perm}")).await;
                    assert_eq!(got, live_of(&holders), "permission={perm} in {o:?}");
                }
            });
        }
    }

    /// Roles reachable from `start` through composites.
    fn closure(o: &Org, start: impl IntoIterator<Item = usize>) -> HashSet<usize> {
        let mut seen: HashSet<usize> = start.into_iter().collect();
        let mut todo: Vec<usize> = seen.iter().copied().collect();
        while let Some(r) = todo.pop() {
            for &(a, b) in &o.composite {
                if a == r && seen.insert(b) {
                    todo.push(b);
                }
            }
        }
        seen
    }

    /// The roles user `u` holds through its memberships (groups, nested) and direct grants.
    fn roles_of_user(o: &Org, u: usize) -> HashSet<usize> {
        let mut groups: HashSet<usize> = o
            .member
            .iter()
            .filter(|(x, _)| *x == u)
            .map(|(_, g)| *g)
            .collect();
        let mut todo: Vec<usize> = groups.iter().copied().collect();
        while let Some(g) = todo.pop() {
            for &(a, b) in &o.nest {
                if a == g && groups.insert(b) {
                    todo.push(b);
                }
            }
        }
        let n = o.users.len();
        let direct = o.holds.iter().filter(|(p, _)| {
            *p == u || (*p >= n && *p < n + o.groups && groups.contains(&(p - n)))
        });
        closure(o, direct.map(|(_, r)| *r))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

        /// `permission=ROLE` against reachability computed here from the generated edges: a
        /// credential is selected when its principal holds the role (through groups, nesting,
        /// composites, or a live token whose policies reach it) or it does itself.
        #[test]
        fn a_role_selects_what_reaches_it(o in org(), scoped in any::<bool>()) {
            runtime().block_on(async {
                let (_d, ws) = workspace().await;
                let (kind, url) = if scoped {
                    (BackendKind::Vault, "http://127.0.0.1:1")
                } else {
                    (BackendKind::Keycloak, "https://console@kc.example/realms/r")
                };
                add(&ws, "b", kind, url, inventory(&o, scoped)).await;
                let token_roles = |i: usize| -> Option<HashSet<usize>> {
                    let (_, _, roles) = &o.creds[i];
                    (scoped && !roles.is_empty()).then(|| closure(&o, roles.iter().copied()))
                };
                for r in 0..o.roles {
                    let user_holds = |u: usize| {
                        roles_of_user(&o, u).contains(&r)
                            || o.creds.iter().enumerate().any(|(i, (x, live, _))| {
                                *x == u && *live && token_roles(i).is_some_and(|t| t.contains(&r))
                            })
                    };
                    let want: HashSet<String> = o.creds.iter().enumerate()
                        .filter(|(i, (u, live, _))| {
                            let own = match token_roles(*i) {
                                Some(t) => t.contains(&r),
                                None => roles_of_user(&o, *u).contains(&r),
                            };
                            *live && (user_holds(*u) || own)
                        })
                        .map(|(i, _)| format!("b:session:s{i}"))
                        .collect();
                    let got = live_selected(&ws, &format!("permission=role-{r}")).await;
                    assert_eq!(got, want, "permission=role-{r} (scoped: {scoped}) in {o:?}");
                }
            });
        }
    }
}

#[tokio::test]
async fn a_credential_the_backend_no_longer_lists_is_not_sent() {
    let (_d, ws) = workspace().await;
    let mut bao = Inventory::default();
    bao.principals
        .push(principal("ent-1", "alice", PrincipalKind::User));
    let mut gone = credential("acc-gone", CredentialKind::Accessor, "ent-1");
    gone.status = CredentialStatus::Deleted;
    bao.credentials.push(gone);
    bao.credentials
        .push(credential("acc-live", CredentialKind::Accessor, "ent-1"));
    add(&ws, "bao", BackendKind::Vault, "http://127.0.0.1:1", bao).await;
    let plan = ws
        .plan_incident(&select("principal=alice"), &[])
        .await
        .unwrap();
    let item = |k: &str| plan.items.iter().find(|i| i.key == k).unwrap();
    assert_eq!(
        item("bao:accessor:acc-gone").readiness,
        Readiness::AlreadyInactive
    );
    assert!(item("bao:accessor:acc-gone")
        .blocked_reason
        .as_deref()
        .is_some_and(|r| r.contains("no longer lists")));
    assert_eq!(item("bao:accessor:acc-live").readiness, Readiness::Ready);
    assert_eq!(plan.ready, 1);
}
