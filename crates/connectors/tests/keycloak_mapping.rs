//! Keycloak fixtures → the normalised model.
//!
//! Keycloak cannot run here: these tests serve authentic Keycloak payloads (roles, client roles
//! and client scopes extracted from a real Keycloak 9 export) and, where no authentic sample
//! exists, payloads hand-written from the Admin REST API representation fields (files named
//! `*.handwritten-from-representation.json`) from a mock HTTP server, and check what the
//! connector makes of them.

mod keycloak_support;

use keycloak_support::*;
use portcullis_connectors::Connector;
use portcullis_model::{
    Action, CredentialKind, ErrorCode, Grant, Inventory, NodeKind, PrincipalKind, Progress,
};
use serde_json::json;
use std::sync::Mutex;

async fn inventory() -> Inventory {
    let kc = Kc::start().await;
    kc.mount_realm().await;
    kc.connector().inventory(&|_| {}).await.unwrap()
}

fn has(inv: &Inventory, from: (NodeKind, &str), to: (NodeKind, &str)) -> bool {
    inv.grants.contains(&Grant {
        from_kind: from.0,
        from_id: from.1.into(),
        to_kind: to.0,
        to_id: to.1.into(),
    })
}

use NodeKind::{Permission as Perm, Principal as P, Role as R};

#[tokio::test]
async fn principals_have_the_right_kinds_and_ids() {
    let inv = inventory().await;
    let p = |id: &str| {
        inv.principals
            .iter()
            .find(|p| p.external_id == id)
            .unwrap_or_else(|| panic!("no principal {id}"))
    };
    assert_eq!(p(JDOE).kind, PrincipalKind::User);
    assert_eq!(p(JDOE).name, "jdoe");
    assert_eq!(p(JDOE).attrs["email"], "jdoe@keycloak.org");
    assert!(!p(BOB).enabled, "bob is disabled in the fixture");
    assert_eq!(p("client:account-console").kind, PrincipalKind::Client);
    assert_eq!(p("client:realm-b-client").attrs["id"], REALM_B_CLIENT);
    assert_eq!(
        p("client:realm-b-client").attrs["default_client_scopes"],
        json!(["web-origins", "role_list", "profile", "roles", "email"])
    );
    let sa = p(SA);
    assert_eq!(sa.kind, PrincipalKind::Service);
    assert_eq!(sa.name, "service-account-realm-b-client");
    assert_eq!(sa.attrs["client_id"], "realm-b-client");
    assert_eq!(
        p(&format!("group:{G_SRE}")).name,
        "/engineering/platform/sre"
    );
    assert_eq!(p(&format!("group:{G_SRE}")).kind, PrincipalKind::Group);
    // 5 users + 1 service account + 7 clients + 4 groups.
    assert_eq!(inv.principals.len(), 17, "{:#?}", inv.principals);
}

#[tokio::test]
async fn realm_admin_composites_are_expanded_from_the_authentic_roles() {
    let inv = inventory().await;
    let realm_admin = "client:realm-management:realm-admin";
    let children: Vec<&str> = inv
        .grants
        .iter()
        .filter(|g| g.from_kind == R && g.from_id == realm_admin && g.to_kind == R)
        .map(|g| g.to_id.as_str())
        .collect();
    assert_eq!(children.len(), 18, "{children:?}");
    for role in [
        "manage-users",
        "view-users",
        "impersonation",
        "manage-realm",
    ] {
        assert!(children.contains(&format!("client:realm-management:{role}").as_str()));
    }
    // Nested composites: view-users ⊃ query-users, query-groups; manage-account ⊃ manage-account-links.
    assert!(has(
        &inv,
        (R, "client:realm-management:view-users"),
        (R, "client:realm-management:query-groups")
    ));
    assert!(has(
        &inv,
        (R, "client:account:manage-account"),
        (R, "client:account:manage-account-links")
    ));
    let role = inv
        .roles
        .iter()
        .find(|r| r.external_id == realm_admin)
        .unwrap();
    assert_eq!(role.name, "realm-management/realm-admin");
    assert_eq!(role.description.as_deref(), Some("${role_realm-admin}"));
    // 3 realm roles + 19 realm-management + 1 broker + 6 account + 1 realm-b-client.
    assert_eq!(inv.roles.len(), 30);
}

#[tokio::test]
async fn realm_management_roles_carry_admin_rights() {
    let inv = inventory().await;
    let perm = |id: &str| {
        inv.permissions
            .iter()
            .find(|p| p.external_id == id)
            .unwrap()
    };
    let manage = perm("admin:realm-management:manage-users");
    assert_eq!(manage.action, Action::Admin);
    assert_eq!(manage.resource, "realm realm-b: users");
    assert_eq!(
        perm("admin:realm-management:realm-admin").action,
        Action::Admin
    );
    assert_eq!(
        perm("admin:realm-management:view-events").action,
        Action::Read
    );
    assert!(has(
        &inv,
        (R, "client:realm-management:manage-users"),
        (Perm, "admin:realm-management:manage-users")
    ));
    let admin_rights = inv
        .permissions
        .iter()
        .filter(|p| p.external_id.starts_with("admin:"))
        .count();
    assert_eq!(admin_rights, 19, "one per realm-management role");
}

#[tokio::test]
async fn client_scopes_become_permissions_with_actions_and_grants() {
    let inv = inventory().await;
    let perm = |id: &str| {
        inv.permissions
            .iter()
            .find(|p| p.external_id == id)
            .unwrap()
    };
    assert_eq!(perm("scope:profile").action, Action::Read);
    assert_eq!(perm("scope:profile").resource, "profile");
    assert_eq!(perm("scope:offline_access").action, Action::Other);
    assert_eq!(perm("scope:role_list").raw["protocol"], "saml");
    assert_eq!(
        perm("scope:email").raw["attributes"]["include.in.token.scope"],
        "true"
    );
    // Scope mapping (authentic export: offline_access scope ← offline_access role).
    assert!(has(
        &inv,
        (R, "realm:offline_access"),
        (Perm, "scope:offline_access")
    ));
    // Default and optional client scopes of a client.
    assert!(has(
        &inv,
        (P, "client:account-console"),
        (Perm, "scope:profile")
    ));
    assert!(has(
        &inv,
        (P, "client:account-console"),
        (Perm, "scope:offline_access")
    ));
    assert_eq!(
        inv.permissions
            .iter()
            .filter(|p| p.external_id.starts_with("scope:"))
            .count(),
        9
    );
}

#[tokio::test]
async fn direct_mappings_membership_and_nesting_are_grants() {
    let inv = inventory().await;
    assert!(has(&inv, (P, JDOE), (R, "realm:offline_access")));
    assert!(has(&inv, (P, JDOE), (R, "client:account:manage-account")));
    assert!(has(
        &inv,
        (P, SA),
        (R, "client:realm-b-client:uma_protection")
    ));
    let sre = format!("group:{G_SRE}");
    let platform = format!("group:{G_PLATFORM}");
    let engineering = format!("group:{G_ENGINEERING}");
    assert!(has(&inv, (P, ALICE), (P, &sre)));
    assert!(has(&inv, (P, &sre), (P, &platform)));
    assert!(has(&inv, (P, &platform), (P, &engineering)));
    assert!(has(&inv, (P, &engineering), (R, "realm:user-b")));
    assert!(has(
        &inv,
        (P, &format!("group:{G_ADMINS}")),
        (R, "client:realm-management:realm-admin")
    ));
    // Effective (composite) mappings are not stored as grants.
    assert!(!has(
        &inv,
        (P, BOB),
        (R, "client:realm-management:query-users")
    ));
}

#[tokio::test]
async fn every_realm_and_client_role_is_a_right_of_its_realm_or_client() {
    let inv = inventory().await;
    let perm = |id: &str| {
        inv.permissions
            .iter()
            .find(|p| p.external_id == id)
            .unwrap_or_else(|| panic!("no permission {id}"))
    };
    // The authentic realm role user-b and client role uma_protection of realm-b-client.
    let user_b = perm("realm-role:user-b");
    assert_eq!(user_b.resource, format!("realm {REALM}"));
    assert_eq!(user_b.name, format!("realm {REALM}: user-b"));
    assert_eq!(user_b.action, Action::Other, "the application decides");
    assert_eq!(user_b.raw["role"], "user-b");
    let uma = perm("client-role:realm-b-client:uma_protection");
    assert_eq!(uma.resource, "client realm-b-client");
    assert_eq!(uma.name, "client realm-b-client: uma_protection");
    assert_eq!(uma.raw["client"], "realm-b-client");
    assert!(has(&inv, (R, "realm:user-b"), (Perm, "realm-role:user-b")));
    assert!(has(
        &inv,
        (R, "client:account:manage-account"),
        (Perm, "client-role:account:manage-account")
    ));
    // Realm-management roles keep their admin right and get no second one.
    assert!(!inv
        .permissions
        .iter()
        .any(|p| p.external_id.starts_with("client-role:realm-management:")));
    // One right per role: 3 realm roles + 1 broker + 6 account + 1 realm-b-client.
    let rights = inv
        .permissions
        .iter()
        .filter(|p| {
            p.external_id.starts_with("realm-role:") || p.external_id.starts_with("client-role:")
        })
        .count();
    assert_eq!(rights, 11);
    // Group inheritance and composites are walked by the engine's access map
    // (`engine/src/access/keycloak_fixture_tests.rs`).
}

#[tokio::test]
async fn sessions_and_consents_are_credentials() {
    let inv = inventory().await;
    let cred = |id: &str| {
        inv.credentials
            .iter()
            .find(|c| c.external_id == id)
            .unwrap_or_else(|| panic!("no credential {id}: {:#?}", inv.credentials))
    };
    let alice = cred(&format!("{ALICE}/{S_ALICE}"));
    assert_eq!(alice.kind, CredentialKind::Session);
    assert_eq!(alice.client.as_deref(), Some("account-console"));
    assert_eq!(alice.attrs["ip_address"], "10.0.0.5");
    assert_eq!(
        alice.issued_at.unwrap().timestamp_millis(),
        1_700_000_000_000
    );
    assert_eq!(
        alice.last_used_at.unwrap().timestamp_millis(),
        1_700_000_300_000
    );
    // jdoe's session spans two clients: listed under both, kept once.
    let jdoe = cred(&format!("{JDOE}/{S_JDOE}"));
    assert_eq!(jdoe.client, None);
    assert_eq!(jdoe.attrs["clients"].as_array().unwrap().len(), 2);
    let offline = cred(&format!("offline/{JDOE}/{REALM_B_CLIENT}/{S_JDOE}"));
    assert_eq!(offline.attrs["offline"], true);
    assert_eq!(offline.client.as_deref(), Some("realm-b-client"));
    let consent = cred(&format!("consent/{JDOE}/realm-b-client"));
    assert_eq!(consent.kind, CredentialKind::RefreshToken);
    assert_eq!(consent.scopes, ["profile", "email", "offline_access"]);
    assert_eq!(consent.attrs["offline_tokens"], true);
    let offline_only = cred(&format!("consent/{KOLO}/admin-cli"));
    assert_eq!(offline_only.attrs["consent"], false);
    assert!(offline_only.issued_at.is_none());
    assert_eq!(inv.credentials.len(), 6);
}

#[tokio::test]
async fn no_secret_of_the_fixtures_reaches_the_inventory() {
    let inv = inventory().await;
    let text = serde_json::to_string(&inv).unwrap();
    for secret in [
        "handwritten-dummy-client-secret",
        "handwritten-dummy-rotated-secret",
        "handwritten-dummy-key",
        TOKEN,
    ] {
        assert!(!text.contains(secret), "{secret} leaked into the inventory");
    }
}

#[tokio::test]
async fn progress_is_reported_in_stages() {
    let kc = Kc::start().await;
    kc.mount_realm().await;
    let seen: Mutex<Vec<Progress>> = Mutex::new(Vec::new());
    kc.connector()
        .inventory(&|p| seen.lock().unwrap().push(p))
        .await
        .unwrap();
    let seen = seen.into_inner().unwrap();
    assert!(matches!(seen.first(), Some(Progress::Started { .. })));
    assert!(matches!(
        seen.last(),
        Some(Progress::Finished { ok: true, .. })
    ));
    assert!(seen.len() >= 8, "{seen:?}");
}

#[tokio::test]
async fn the_authentic_import_users_lack_ids_and_are_malformed_not_a_panic() {
    // The realm-import users (authentic, but an import file, not an API answer) have no `id`.
    let kc = Kc::start().await;
    let users = as_list(fixture("keycloak-users.from-kc9-realm-import.json"));
    kc.paged("/users", &users, &[("briefRepresentation", "true")])
        .await;
    for p in ["/clients", "/roles", "/groups"] {
        kc.paged(p, &[], &[]).await;
    }
    kc.get("/client-scopes", json!([])).await;
    let err = kc.connector().inventory(&|_| {}).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Malformed, "{err}");
    assert!(err.to_string().contains("user list"), "{err}");
}

#[tokio::test]
async fn old_keycloak_group_trees_are_read_from_subgroups() {
    // Before Keycloak 23, GET /groups inlines the whole tree and sends no subGroupCount.
    let kc = Kc::start().await;
    for p in ["/clients", "/roles", "/users"] {
        kc.paged(p, &[], &[]).await;
    }
    kc.get("/client-scopes", json!([])).await;
    let tree = json!([{
        "id": "g1", "name": "top", "path": "/top",
        "subGroups": [{"id": "g2", "name": "kid", "path": "/top/kid", "subGroups": []}]
    }]);
    kc.paged(
        "/groups",
        &as_list(tree),
        &[("briefRepresentation", "true")],
    )
    .await;
    for g in ["g1", "g2"] {
        kc.paged(
            &format!("/groups/{g}/members"),
            &[],
            &[("briefRepresentation", "true")],
        )
        .await;
        kc.get(&format!("/groups/{g}/role-mappings"), json!({}))
            .await;
    }
    let inv = kc.connector().inventory(&|_| {}).await.unwrap();
    assert!(has(&inv, (P, "group:g2"), (P, "group:g1")));
    assert!(!kc.requests().await.iter().any(|r| r.contains("/children")));
}

#[tokio::test]
async fn a_cycle_of_composites_is_read_once() {
    let kc = Kc::start().await;
    for p in ["/clients", "/users", "/groups"] {
        kc.paged(p, &[], &[]).await;
    }
    kc.get("/client-scopes", json!([])).await;
    let a = json!({"id": "ra", "name": "a", "composite": true, "clientRole": false, "containerId": "realm-b"});
    let b = json!({"id": "rb", "name": "b", "composite": true, "clientRole": false, "containerId": "realm-b"});
    kc.paged("/roles", &[a.clone(), b.clone()], &[]).await;
    kc.get("/roles-by-id/ra/composites", json!([b])).await;
    kc.get("/roles-by-id/rb/composites", json!([a])).await;
    let inv = kc.connector().inventory(&|_| {}).await.unwrap();
    assert!(has(&inv, (R, "realm:a"), (R, "realm:b")));
    assert!(has(&inv, (R, "realm:b"), (R, "realm:a")));
    let composite_calls = kc
        .requests()
        .await
        .iter()
        .filter(|r| r.contains("/composites"))
        .count();
    assert_eq!(composite_calls, 2);
}

#[tokio::test]
async fn wrong_types_and_truncated_payloads_are_malformed() {
    for body in [
        json!({"not": "a list"}),
        json!([{"id": 7, "clientId": "x"}]),
        json!([{"id": "c1", "clientId": "x", "enabled": "yes"}]),
    ] {
        let kc = Kc::start().await;
        kc.get("/clients", body.clone()).await;
        let err = kc.connector().inventory(&|_| {}).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Malformed, "{body}: {err}");
    }
    let kc = Kc::start().await;
    wiremock::Mock::given(wiremock::matchers::path(admin("/clients")))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_string("[{\"id\": \"c1\", \"clientId\""),
        )
        .mount(&kc.server)
        .await;
    let err = kc.connector().inventory(&|_| {}).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Malformed, "{err}");
}
