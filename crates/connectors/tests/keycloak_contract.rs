//! Contract of the Keycloak connector with the Admin REST API: methods, paths, query parameters,
//! the bearer token, paging to the end, and how failure statuses become error codes.
//!
//! Keycloak cannot run here: these tests serve authentic Keycloak payloads (extracted from a
//! real Keycloak 9 export) and, where no authentic sample exists, payloads hand-written from the
//! Admin REST API representation fields (files named `*.handwritten-from-representation.json`)
//! from a mock HTTP server.

mod keycloak_support;

use keycloak_support::*;
use portcullis_connectors::{Connector, RevokeTarget};
use portcullis_model::{CredentialKind, ErrorCode};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

fn count(requests: &[String], prefix: &str) -> usize {
    requests.iter().filter(|r| r.starts_with(prefix)).count()
}

/// A realm with nothing in it: the fewest calls an inventory makes.
async fn empty_realm(kc: &Kc) {
    for p in ["/clients", "/roles", "/users", "/groups"] {
        kc.paged(p, &[], &[]).await;
    }
    kc.get("/client-scopes", json!([])).await;
}

#[tokio::test]
async fn inventory_uses_every_documented_endpoint_with_the_bearer_token() {
    let kc = Kc::start().await;
    kc.mount_realm().await;
    kc.connector().inventory(&|_| {}).await.unwrap();
    let requests = kc.requests().await;
    let a = |p: &str| format!("GET {}", admin(p));
    for expected in [
        a("/clients?first=0&max=2"),
        a("/clients?first=6&max=2"),
        a("/roles?first=0&max=2"),
        a("/roles?first=2&max=2"),
        a(&format!("/clients/{REALM_MANAGEMENT}/roles?first=18&max=2")),
        a("/roles-by-id/3f5b36ff-1b6f-4cb5-a086-041a993ef59d/composites"),
        a("/client-scopes"),
        a("/client-scopes/27665018-b509-44a4-ae16-9aa549f5170a/scope-mappings"),
        a(&format!("/clients/{ACCOUNT_CONSOLE}/default-client-scopes")),
        a(&format!(
            "/clients/{ACCOUNT_CONSOLE}/optional-client-scopes"
        )),
        a(&format!("/clients/{REALM_B_CLIENT}/service-account-user")),
        a(&format!("/users/{SA}/role-mappings")),
        a("/users?briefRepresentation=true&first=0&max=2"),
        a(&format!("/users/{JDOE}/role-mappings")),
        a(&format!("/users/{JDOE}/consents")),
        a("/groups?briefRepresentation=true&first=0&max=2"),
        a(&format!(
            "/groups/{G_ENGINEERING}/children?briefRepresentation=true&first=0&max=2"
        )),
        a(&format!(
            "/groups/{G_SRE}/members?briefRepresentation=true&first=0&max=2"
        )),
        a(&format!("/groups/{G_SRE}/role-mappings")),
        a(&format!(
            "/clients/{ACCOUNT_CONSOLE}/user-sessions?first=0&max=2"
        )),
        a(&format!(
            "/clients/{REALM_B_CLIENT}/offline-sessions?first=0&max=2"
        )),
    ] {
        assert!(
            requests.contains(&expected),
            "missing {expected}\n{requests:#?}"
        );
    }
    // The token is fetched once and reused for every call.
    assert_eq!(count(&requests, &format!("POST {}", oidc("/token"))), 1);
    // Leaf groups (subGroupCount 0) are not asked for children.
    assert!(!requests
        .iter()
        .any(|r| r.contains(&format!("{G_SRE}/children"))));
}

#[tokio::test]
async fn users_are_paged_to_the_end_two_and_a_half_pages() {
    let kc = Kc::start().await;
    kc.mount_realm().await;
    let inv = kc.connector().inventory(&|_| {}).await.unwrap();
    let requests = kc.requests().await;
    let pages: Vec<&String> = requests
        .iter()
        .filter(|r| r.starts_with(&format!("GET {}?", admin("/users"))))
        .collect();
    assert_eq!(
        pages,
        [
            &format!(
                "GET {}?briefRepresentation=true&first=0&max=2",
                admin("/users")
            ),
            &format!(
                "GET {}?briefRepresentation=true&first=2&max=2",
                admin("/users")
            ),
            &format!(
                "GET {}?briefRepresentation=true&first=4&max=2",
                admin("/users")
            ),
        ]
    );
    for id in [JDOE, KOLO, ALICE, BOB, ADMIN] {
        assert!(inv.principals.iter().any(|p| p.external_id == id), "{id}");
    }
}

#[tokio::test]
async fn a_server_that_ignores_first_does_not_make_the_connector_loop() {
    let kc = Kc::start().await;
    for p in ["/clients", "/roles", "/groups"] {
        kc.paged(p, &[], &[]).await;
    }
    kc.get("/client-scopes", json!([])).await;
    let users = as_list(hw("keycloak-users.brief"));
    // Always the first two users, whatever `first` says.
    kc.get("/users", json!([users[0], users[1]])).await;
    for u in &users[..2] {
        let id = s(&u["id"]);
        kc.get(&format!("/users/{id}/role-mappings"), json!({}))
            .await;
        kc.get(&format!("/users/{id}/consents"), json!([])).await;
    }
    let inv = kc.connector().inventory(&|_| {}).await.unwrap();
    assert_eq!(inv.principals.len(), 2);
    // One page, then three that bring nothing new.
    assert_eq!(
        count(&kc.requests().await, &format!("GET {}?", admin("/users"))),
        4
    );
}

#[tokio::test]
async fn a_token_about_to_expire_is_fetched_again() {
    let kc = Kc::bare().await;
    let mut short = hw("keycloak-token-response.client-credentials");
    short["expires_in"] = json!(20); // < 30 s: never worth caching
    kc.token_endpoint(short).await;
    empty_realm(&kc).await;
    kc.connector().inventory(&|_| {}).await.unwrap();
    let requests = kc.requests().await;
    let admin_calls = count(&requests, "GET /admin/");
    assert_eq!(admin_calls, 5);
    assert_eq!(
        count(&requests, &format!("POST {}", oidc("/token"))),
        admin_calls
    );
}

#[tokio::test]
async fn a_401_from_the_admin_api_fetches_a_new_token_and_retries_once() {
    let kc = Kc::start().await;
    Mock::given(method("GET"))
        .and(path(admin("/clients")))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"error": "HTTP 401 Unauthorized"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&kc.server)
        .await;
    empty_realm(&kc).await;
    kc.connector().inventory(&|_| {}).await.unwrap();
    let requests = kc.requests().await;
    assert_eq!(count(&requests, &format!("POST {}", oidc("/token"))), 2);
    assert_eq!(count(&requests, &format!("GET {}", admin("/clients"))), 2);
}

#[tokio::test]
async fn the_token_endpoint_s_refusals_are_unauthorized_with_what_to_change() {
    for (status, body, hint) in [
        (
            401,
            json!({"error": "unauthorized_client", "error_description": "Invalid client or Invalid client credentials"}),
            "client id and secret",
        ),
        (
            400,
            json!({"error": "unauthorized_client", "error_description": "Client not enabled to retrieve service account"}),
            "Service accounts roles",
        ),
        (
            400,
            json!({"error": "invalid_client", "error_description": "Invalid client credentials"}),
            "client id and secret",
        ),
    ] {
        let kc = Kc::bare().await;
        Mock::given(method("POST"))
            .and(path(oidc("/token")))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&kc.server)
            .await;
        let err = kc.connector().check().await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Unauthorized, "{err}");
        assert!(err.to_string().contains(hint), "{err}");
        assert!(!err.to_string().contains(SECRET), "{err}");
    }
    let kc = Kc::bare().await;
    Mock::given(method("POST"))
        .and(path(oidc("/token")))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"error": "Realm does not exist"})),
        )
        .mount(&kc.server)
        .await;
    let err = kc.connector().check().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert!(err.to_string().contains("realm `realm-b`"), "{err}");

    let kc = Kc::bare().await;
    let err = kc.connector_with_secret(None).check().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unauthorized);
    assert!(kc.requests().await.is_empty(), "no secret, no request");
}

#[tokio::test]
async fn failure_statuses_map_to_error_codes() {
    for (status, code) in [
        (401, ErrorCode::Unauthorized),
        (403, ErrorCode::Forbidden),
        (404, ErrorCode::NotFound),
        (429, ErrorCode::RateLimited),
        (500, ErrorCode::BackendError),
    ] {
        let kc = Kc::start().await;
        Mock::given(method("GET"))
            .and(path(admin("/clients")))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("Retry-After", "120")
                    .set_body_json(json!({"error": "no"})),
            )
            .mount(&kc.server)
            .await;
        let err = kc.connector().inventory(&|_| {}).await.unwrap_err();
        assert_eq!(err.code(), code, "{status}: {err}");
        match status {
            403 => assert!(
                err.to_string()
                    .contains("realm-management role view-clients"),
                "{err}"
            ),
            404 => assert!(err.to_string().contains("client list"), "{err}"),
            429 => assert!(err.to_string().contains("120s"), "{err}"),
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_403_names_the_missing_realm_management_role() {
    let forbidden = json!({"error": "unknown_error"});
    // Users listing → view-users.
    let kc = Kc::start().await;
    for p in ["/clients", "/roles"] {
        kc.paged(p, &[], &[]).await;
    }
    kc.get("/client-scopes", json!([])).await;
    kc.get_status("/users", 403, forbidden.clone()).await;
    let err = kc.connector().inventory(&|_| {}).await.unwrap_err();
    assert!(
        err.to_string().contains("realm-management role view-users"),
        "{err}"
    );

    // Groups listing → query-groups.
    let kc = Kc::start().await;
    for p in ["/clients", "/roles", "/users"] {
        kc.paged(p, &[], &[]).await;
    }
    kc.get("/client-scopes", json!([])).await;
    kc.get_status("/groups", 403, forbidden.clone()).await;
    let err = kc.connector().inventory(&|_| {}).await.unwrap_err();
    assert!(err.to_string().contains("query-groups"), "{err}");

    // Events → view-events.
    let kc = Kc::start().await;
    kc.get_status("/events/config", 403, forbidden.clone())
        .await;
    let mut sink = portcullis_connectors::VecAuditSink::default();
    let err = kc.connector().audit(None, &mut sink).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden);
    assert!(
        err.to_string()
            .contains("realm-management role view-events"),
        "{err}"
    );

    // Deleting a session → manage-users.
    let kc = Kc::start().await;
    Mock::given(method("DELETE"))
        .and(path(admin(&format!("/sessions/{S_ALICE}"))))
        .respond_with(ResponseTemplate::new(403).set_body_json(forbidden.clone()))
        .mount(&kc.server)
        .await;
    let err = kc
        .connector()
        .revoke(&RevokeTarget::Credential {
            kind: CredentialKind::Session,
            external_id: format!("{ALICE}/{S_ALICE}"),
        })
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("realm-management role manage-users"),
        "{err}"
    );

    // Setting the realm's not-before → manage-realm.
    let kc = Kc::start().await;
    kc.get("", json!({"id": REALM, "realm": REALM, "notBefore": 0}))
        .await;
    Mock::given(method("PUT"))
        .and(path(admin("")))
        .respond_with(ResponseTemplate::new(403).set_body_json(forbidden))
        .mount(&kc.server)
        .await;
    let err = kc
        .connector()
        .revoke(&RevokeTarget::Login {
            principal: format!("realm:{REALM}"),
        })
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("realm-management role manage-realm"),
        "{err}"
    );
}

async fn mount_check(kc: &Kc, events_config: serde_json::Value) {
    for p in ["/users", "/groups", "/clients", "/roles"] {
        Mock::given(method("GET"))
            .and(path(admin(p)))
            .and(wiremock::matchers::query_param("max", "1"))
            .and(wiremock::matchers::bearer_token(TOKEN))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .mount(&kc.server)
            .await;
    }
    kc.get("/events/config", events_config).await;
    Mock::given(method("POST"))
        .and(path(oidc("/token/introspect")))
        .and(wiremock::matchers::basic_auth(CLIENT, SECRET))
        .and(wiremock::matchers::body_string_contains(format!(
            "token={}",
            TOKEN
        )))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(hw("keycloak-introspection.console-token")),
        )
        .mount(&kc.server)
        .await;
}

#[tokio::test]
async fn check_reports_identity_rights_and_whether_events_are_saved() {
    let kc = Kc::start().await;
    mount_check(&kc, hw("keycloak-events-config")).await;
    let report = kc.connector().check().await.unwrap();
    assert!(report.ok);
    let identity = report.identity.unwrap();
    assert!(identity.contains("client `portcullis`"), "{identity}");
    assert!(
        identity.contains("service-account-portcullis"),
        "{identity}"
    );
    let right = |r: &str| {
        report
            .rights
            .iter()
            .find(|x| x.right.starts_with(r))
            .unwrap_or_else(|| panic!("no right {r}: {:#?}", report.rights))
    };
    assert!(right("realm-management role view-users").granted);
    assert!(right("realm-management role view-events").granted);
    assert!(right("realm-management role manage-users").granted);
    assert!(!right("realm-management role manage-realm").granted);
    assert!(!right("realm-management role manage-clients").granted);
    let events = right("events saved in realm realm-b");
    assert!(events.granted);
    assert!(
        events.needed_for.contains("30 day"),
        "{}",
        events.needed_for
    );
    assert!(right("admin events saved in realm realm-b").granted);
}

#[tokio::test]
async fn check_says_when_the_realm_saves_no_events() {
    let kc = Kc::start().await;
    mount_check(
        &kc,
        json!({"eventsEnabled": false, "eventsListeners": ["jboss-logging"], "adminEventsEnabled": false}),
    )
    .await;
    let report = kc.connector().check().await.unwrap();
    let events = report
        .rights
        .iter()
        .find(|r| r.right == "events saved in realm realm-b")
        .unwrap();
    assert!(!events.granted);
    assert!(
        events
            .needed_for
            .contains("realm realm-b does not save events")
            && events.needed_for.contains("unavailable"),
        "{}",
        events.needed_for
    );
}

#[tokio::test]
async fn check_reports_a_forbidden_listing_as_a_missing_right() {
    let kc = Kc::start().await;
    kc.get_status("/users", 403, json!({"error": "unknown_error"}))
        .await;
    mount_check(&kc, hw("keycloak-events-config")).await;
    let report = kc.connector().check().await.unwrap();
    let users = report
        .rights
        .iter()
        .find(|r| r.right == "realm-management role view-users")
        .unwrap();
    assert!(!users.granted);
}

#[tokio::test]
async fn server_effective_roles_reads_the_composite_mappings() {
    let kc = Kc::start().await;
    let clients = as_list(hw("keycloak-clients"));
    kc.paged("/clients", &clients, &[]).await;
    let realm_roles = as_list(fixture("keycloak-realm-roles.from-kc9-export.json"));
    kc.get(
        &format!("/users/{JDOE}/role-mappings/realm/composite"),
        json!([realm_roles[0], realm_roles[1]]),
    )
    .await;
    let account_roles =
        fixture("keycloak-client-roles.all-clients.from-kc9-export.json")["account"].clone();
    for c in &clients {
        let uuid = s(&c["id"]);
        let body = if c["clientId"] == "account" {
            account_roles.clone()
        } else {
            json!([])
        };
        kc.get(
            &format!("/users/{JDOE}/role-mappings/clients/{uuid}/composite"),
            body,
        )
        .await;
    }
    let roles = kc.connector().server_effective_roles(JDOE).await.unwrap();
    assert!(roles.contains("realm:offline_access"));
    assert!(roles.contains("client:account:manage-account-links"));
    assert_eq!(roles.len(), 2 + 6);
}

#[tokio::test]
async fn build_makes_a_keycloak_connector_and_capabilities_say_what_it_cannot_do() {
    let kc = Kc::start().await;
    let connector = portcullis_connectors::build(portcullis_connectors::BackendConfig {
        name: "kc".into(),
        kind: portcullis_model::BackendKind::Keycloak,
        url: kc.url(),
        secret: Some(secrecy::SecretString::from(SECRET.to_string())),
        timeout: std::time::Duration::from_secs(5),
        audit_log: None,
    })
    .unwrap();
    assert_eq!(connector.kind(), portcullis_model::BackendKind::Keycloak);
    let caps = portcullis_connectors::capabilities_of(portcullis_model::BackendKind::Keycloak);
    assert_eq!(caps, connector.capabilities());
    assert!(caps.list_credentials && caps.revoke && caps.verify && caps.token_lookup);
    assert!(caps.notes.iter().any(|n| n.contains("until they expire")));
    assert!(caps.notes.iter().any(|n| n.contains("save events")));
}
