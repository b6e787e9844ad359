//! Keycloak audit: user events and admin events, read incrementally by time.
//!
//! Keycloak cannot run here, and no authentic JSON sample of `EventRepresentation` or
//! `AdminEventRepresentation` exists: the events served by the mock HTTP server are hand-written
//! from the representation fields (`*.handwritten-from-representation.json`); the LOGIN_ERROR
//! among them carries the fields of the authentic jboss-logging listener line in
//! `keycloak-jboss-logging-event-listener.LOGIN_ERROR.txt`.

mod keycloak_support;

use keycloak_support::*;
use portcullis_connectors::{Connector, VecAuditSink};
use portcullis_model::{ErrorCode, Outcome};
use serde_json::{json, Value};

const T: i64 = 1_700_000_000_000;

async fn realm_with_events(kc: &Kc, config: Value, events: &[Value], admin_events: &[Value]) {
    kc.get("/events/config", config).await;
    kc.paged("/events", events, &[]).await;
    kc.paged("/admin-events", admin_events, &[]).await;
}

fn events() -> Vec<Value> {
    as_list(hw("keycloak-events"))
}

fn admin_events() -> Vec<Value> {
    as_list(hw("keycloak-admin-events"))
}

#[tokio::test]
async fn a_first_sync_imports_everything_oldest_first() {
    let kc = Kc::start().await;
    realm_with_events(
        &kc,
        hw("keycloak-events-config"),
        &events(),
        &admin_events(),
    )
    .await;
    let mut sink = VecAuditSink::default();
    let cursor = kc
        .connector()
        .audit(None, &mut sink)
        .await
        .unwrap()
        .unwrap();
    let actions: Vec<&str> = sink.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "LOGIN_ERROR",
            // LOGIN and CODE_TO_TOKEN share a millisecond; their order is by key.
            sink.events[1].action.as_str(),
            sink.events[2].action.as_str(),
            "REFRESH_TOKEN",
            "LOGOUT",
            "admin CREATE REALM_ROLE_MAPPING",
            "admin CREATE CLIENT",
        ]
    );
    let mut same_ms = [actions[1], actions[2]];
    same_ms.sort();
    assert_eq!(same_ms, ["CODE_TO_TOKEN", "LOGIN"]);
    let c: Value = serde_json::from_str(&cursor).unwrap();
    assert_eq!(c["events"]["time"], T + 120_000);
    assert_eq!(c["admin"]["time"], T + 180_000);
    assert_eq!(
        c["admin"]["keys"],
        json!(["admin-event:ae000000-0000-4000-8000-0000000ad002"])
    );
    // No dateFrom on a first sync; pages to the end (5 events in pages of 2).
    let requests = kc.requests().await;
    assert!(requests.contains(&format!("GET {}?first=4&max=2", admin("/events"))));
    assert!(!requests.iter().any(|r| r.contains("dateFrom")));
}

#[tokio::test]
async fn events_are_normalised() {
    let kc = Kc::start().await;
    realm_with_events(
        &kc,
        hw("keycloak-events-config"),
        &events(),
        &admin_events(),
    )
    .await;
    let mut sink = VecAuditSink::default();
    kc.connector().audit(None, &mut sink).await.unwrap();
    let by = |a: &str| sink.events.iter().find(|e| e.action == a).unwrap();
    let error = by("LOGIN_ERROR");
    assert_eq!(error.outcome, Outcome::Deny);
    assert_eq!(error.actor.as_deref(), Some(ADMIN));
    assert_eq!(error.source_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(error.resource.as_deref(), Some("client:myapp"));
    assert_eq!(error.at.timestamp_millis(), T);
    assert_eq!(error.raw["error"], "invalid_user_credentials");
    assert!(error.dedup_key.starts_with("event:"));
    let login = by("LOGIN");
    assert_eq!(login.outcome, Outcome::Allow);
    assert_eq!(
        login.credential.as_deref(),
        Some(format!("{JDOE}/{S_JDOE}").as_str()),
        "the session's credential id, as the inventory names it"
    );
    let created = by("admin CREATE CLIENT");
    assert_eq!(created.actor.as_deref(), Some(ADMIN));
    assert_eq!(created.source_ip.as_deref(), Some("198.51.100.7"));
    assert_eq!(
        created.resource.as_deref(),
        Some("clients/aaaaaaaa-0000-4000-8000-0000000000c9")
    );
    assert_eq!(created.raw["representation"]["clientId"], "new-app");
    assert_eq!(created.raw["representation"]["secret"], "redacted");
    let all = serde_json::to_string(&sink.events).unwrap();
    assert!(!all.contains("handwritten-dummy-secret-in-an-admin-event"));
}

#[tokio::test]
async fn the_next_sync_asks_from_the_day_before_and_imports_only_new_events() {
    let kc = Kc::start().await;
    realm_with_events(
        &kc,
        hw("keycloak-events-config"),
        &events(),
        &admin_events(),
    )
    .await;
    let mut sink = VecAuditSink::default();
    let cursor = kc.connector().audit(None, &mut sink).await.unwrap();

    let kc = Kc::start().await;
    let mut newer = events();
    newer.insert(
        0,
        json!({"time": T + 200_000, "type": "LOGIN", "realmId": "realm-b", "clientId": "account-console",
               "userId": ALICE, "sessionId": "c9c9c9c9-0000-4000-8000-00000000a5e5", "ipAddress": "10.0.0.5"}),
    );
    kc.get("/events/config", hw("keycloak-events-config")).await;
    // The cursor's newest user event is 2023-11-14T22:15:20Z: ask from 2023-11-13.
    kc.paged("/events", &newer, &[("dateFrom", "2023-11-13")])
        .await;
    kc.paged(
        "/admin-events",
        &admin_events(),
        &[("dateFrom", "2023-11-13")],
    )
    .await;
    let mut sink = VecAuditSink::default();
    let next = kc
        .connector()
        .audit(cursor, &mut sink)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sink.events.len(), 1, "{:#?}", sink.events);
    assert_eq!(sink.events[0].at.timestamp_millis(), T + 200_000);
    let c: Value = serde_json::from_str(&next).unwrap();
    assert_eq!(c["events"]["time"], T + 200_000);
    assert_eq!(c["admin"]["time"], T + 180_000, "admin position unchanged");
}

#[tokio::test]
async fn events_at_the_cursor_s_millisecond_are_not_lost_or_repeated() {
    let kc = Kc::start().await;
    realm_with_events(&kc, hw("keycloak-events-config"), &events(), &[]).await;
    // First sync, then pretend it stopped after LOGIN at T+1000 (same ms as CODE_TO_TOKEN).
    let mut sink = VecAuditSink::default();
    kc.connector().audit(None, &mut sink).await.unwrap();
    let login = sink.events.iter().find(|e| e.action == "LOGIN").unwrap();
    let cursor = json!({"events": {"time": T + 1000, "keys": [login.dedup_key]}}).to_string();

    let kc = Kc::start().await;
    realm_with_events(&kc, hw("keycloak-events-config"), &events(), &[]).await;
    let mut sink = VecAuditSink::default();
    kc.connector().audit(Some(cursor), &mut sink).await.unwrap();
    let actions: Vec<&str> = sink.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["CODE_TO_TOKEN", "REFRESH_TOKEN", "LOGOUT"]);
}

#[tokio::test]
async fn each_batch_carries_the_cursor_that_follows_it() {
    struct Batches(Vec<(usize, String)>);
    #[async_trait::async_trait]
    impl portcullis_connectors::AuditSink for Batches {
        async fn batch(
            &mut self,
            events: Vec<portcullis_model::AuditEvent>,
            cursor: String,
        ) -> Result<(), portcullis_connectors::SinkError> {
            self.0.push((events.len(), cursor));
            Ok(())
        }
    }
    let kc = Kc::start().await;
    realm_with_events(
        &kc,
        hw("keycloak-events-config"),
        &events(),
        &admin_events(),
    )
    .await;
    let mut sink = Batches(Vec::new());
    kc.connector().audit(None, &mut sink).await.unwrap();
    assert_eq!(sink.0.len(), 2);
    assert_eq!(sink.0[0].0, 5);
    let first: Value = serde_json::from_str(&sink.0[0].1).unwrap();
    assert!(
        first.get("admin").is_none(),
        "admin events not yet imported"
    );
    let second: Value = serde_json::from_str(&sink.0[1].1).unwrap();
    assert_eq!(second["events"], first["events"]);
    assert_eq!(second["admin"]["time"], T + 180_000);
}

#[tokio::test]
async fn a_realm_that_saves_no_events_yields_nothing_and_no_cursor() {
    let kc = Kc::start().await;
    kc.get(
        "/events/config",
        json!({"eventsEnabled": false, "eventsListeners": ["jboss-logging"], "adminEventsEnabled": false}),
    )
    .await;
    let mut sink = VecAuditSink::default();
    assert_eq!(kc.connector().audit(None, &mut sink).await.unwrap(), None);
    assert!(sink.events.is_empty());
    // A cursor from earlier syncs is kept, not reset.
    let earlier = json!({"events": {"time": T, "keys": []}}).to_string();
    let back = kc
        .connector()
        .audit(Some(earlier.clone()), &mut sink)
        .await
        .unwrap();
    assert_eq!(back, Some(earlier));
    assert!(!kc.requests().await.iter().any(|r| r.contains("/events?")));
}

#[tokio::test]
async fn only_the_saved_kind_of_events_is_read() {
    let kc = Kc::start().await;
    kc.get(
        "/events/config",
        json!({"eventsEnabled": false, "adminEventsEnabled": true}),
    )
    .await;
    kc.paged("/admin-events", &admin_events(), &[]).await;
    let mut sink = VecAuditSink::default();
    kc.connector().audit(None, &mut sink).await.unwrap();
    assert_eq!(sink.events.len(), 2);
    assert!(!kc.requests().await.iter().any(|r| r.contains("/events?")));
}

#[tokio::test]
async fn malformed_events_and_cursors_are_errors_not_panics() {
    for bad in [
        json!([{"type": "LOGIN"}]),
        json!([{"time": "yesterday"}]),
        json!({"events": []}),
    ] {
        let kc = Kc::start().await;
        kc.get("/events/config", hw("keycloak-events-config")).await;
        kc.get("/events", bad.clone()).await;
        let mut sink = VecAuditSink::default();
        let err = kc.connector().audit(None, &mut sink).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Malformed, "{bad}: {err}");
    }
    let kc = Kc::start().await;
    let mut sink = VecAuditSink::default();
    let err = kc
        .connector()
        .audit(Some("42 bytes into the log".into()), &mut sink)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput, "{err}");
}

#[tokio::test]
async fn events_arriving_while_pages_are_read_do_not_hide_older_ones() {
    // Newest first: two events arrive after the first page, so the second page repeats it.
    let e = events();
    let kc = Kc::start().await;
    kc.get(
        "/events/config",
        json!({"eventsEnabled": true, "adminEventsEnabled": false}),
    )
    .await;
    for (first, page) in [
        ("0", json!([e[0], e[1]])),
        ("2", json!([e[0], e[1]])),
        ("4", json!([e[2], e[3]])),
        ("6", json!([e[4]])),
    ] {
        wiremock::Mock::given(wiremock::matchers::method("GET"))
            .and(wiremock::matchers::path(admin("/events")))
            .and(wiremock::matchers::query_param("first", first))
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(page))
            .mount(&kc.server)
            .await;
    }
    let mut sink = VecAuditSink::default();
    kc.connector().audit(None, &mut sink).await.unwrap();
    assert_eq!(sink.events.len(), 5, "{:#?}", sink.events);
}
