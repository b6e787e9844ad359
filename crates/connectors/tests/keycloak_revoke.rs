//! Keycloak revocation, its verification, and token triage by introspection.
//!
//! Keycloak cannot run here, and no authentic sample of sessions, consents, introspection or
//! push-revocation answers exists: the mock HTTP server serves payloads hand-written from the
//! Admin REST API representation fields (`*.handwritten-from-representation.json`), and authentic
//! role representations from a real Keycloak 9 export where roles are involved.

mod keycloak_support;

use keycloak_support::*;
use portcullis_connectors::{Connector, RevokeTarget};
use portcullis_model::{CredentialKind, ErrorCode, Grant, NodeKind};
use secrecy::SecretString;
use serde_json::{json, Value};
use wiremock::matchers::{
    basic_auth, bearer_token, body_json, body_string_contains, method, path, query_param,
};
use wiremock::{Mock, ResponseTemplate};

const USER_TOKEN: &str = "handwritten.user-access-token.of-alice";

fn session(user: &str, sid: &str) -> RevokeTarget {
    RevokeTarget::Credential {
        kind: CredentialKind::Session,
        external_id: format!("{user}/{sid}"),
    }
}

async fn answer(kc: &Kc, verb: &str, p: &str, status: u16) {
    Mock::given(method(verb))
        .and(path(admin(p)))
        .and(bearer_token(TOKEN))
        .respond_with(ResponseTemplate::new(status))
        .mount(&kc.server)
        .await;
}

async fn introspection(kc: &Kc, token: &str, body: Value) {
    Mock::given(method("POST"))
        .and(path(oidc("/token/introspect")))
        .and(basic_auth(CLIENT, SECRET))
        .and(body_string_contains(format!("token={token}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&kc.server)
        .await;
}

fn says(caveats: &[String], words: &str) -> bool {
    caveats.iter().any(|c| c.contains(words))
}

#[tokio::test]
async fn deleting_a_session_says_what_it_leaves_and_is_verified_by_listing() {
    let kc = Kc::start().await;
    answer(&kc, "DELETE", &format!("/sessions/{S_ALICE}"), 204).await;
    let target = session(ALICE, S_ALICE);
    let receipt = kc.connector().revoke(&target).await.unwrap();
    assert_eq!(
        receipt.action,
        format!("DELETE /admin/realms/{REALM}/sessions/{S_ALICE}")
    );
    assert!(says(
        &receipt.caveats,
        "access tokens already issued stay valid"
    ));
    assert!(says(&receipt.caveats, "not-before"));
    assert!(says(&receipt.caveats, "offline tokens"));

    kc.get(&format!("/users/{ALICE}/sessions"), json!([])).await;
    let v = kc.connector().verify_revoked(&target).await.unwrap();
    assert!(v.dead, "{}", v.evidence);
    assert!(v.evidence.contains("not including"), "{}", v.evidence);

    let kc = Kc::start().await;
    let still = hw("keycloak-user-sessions.by-client")[ACCOUNT_CONSOLE].clone();
    kc.get(&format!("/users/{ALICE}/sessions"), still).await;
    let v = kc.connector().verify_revoked(&target).await.unwrap();
    assert!(!v.dead, "{}", v.evidence);
}

#[tokio::test]
async fn a_session_already_gone_is_reported_as_such() {
    let kc = Kc::start().await;
    answer(&kc, "DELETE", &format!("/sessions/{S_ALICE}"), 404).await;
    let receipt = kc
        .connector()
        .revoke(&session(ALICE, S_ALICE))
        .await
        .unwrap();
    assert_eq!(receipt.detail["already_gone"], true);
    assert!(says(&receipt.caveats, "already gone"));
    // A user that no longer exists has no sessions.
    kc.get_status(
        &format!("/users/{ALICE}/sessions"),
        404,
        json!({"error": "User not found"}),
    )
    .await;
    let v = kc
        .connector()
        .verify_revoked(&session(ALICE, S_ALICE))
        .await
        .unwrap();
    assert!(v.dead);
}

#[tokio::test]
async fn an_offline_session_is_deleted_as_offline_and_verified_per_client() {
    let kc = Kc::start().await;
    Mock::given(method("DELETE"))
        .and(path(admin(&format!("/sessions/{S_JDOE}"))))
        .and(query_param("isOffline", "true"))
        .and(bearer_token(TOKEN))
        .respond_with(ResponseTemplate::new(204))
        .mount(&kc.server)
        .await;
    let target = RevokeTarget::Credential {
        kind: CredentialKind::Session,
        external_id: format!("offline/{JDOE}/{REALM_B_CLIENT}/{S_JDOE}"),
    };
    let receipt = kc.connector().revoke(&target).await.unwrap();
    assert!(
        receipt.action.ends_with("?isOffline=true"),
        "{}",
        receipt.action
    );
    kc.get(
        &format!("/users/{JDOE}/offline-sessions/{REALM_B_CLIENT}"),
        json!([]),
    )
    .await;
    assert!(kc.connector().verify_revoked(&target).await.unwrap().dead);
}

#[tokio::test]
async fn logging_a_user_out_ends_sessions_but_says_offline_tokens_stay() {
    let kc = Kc::start().await;
    answer(&kc, "POST", &format!("/users/{JDOE}/logout"), 204).await;
    let target = RevokeTarget::Login {
        principal: JDOE.into(),
    };
    let receipt = kc.connector().revoke(&target).await.unwrap();
    assert_eq!(
        receipt.action,
        format!("POST /admin/realms/{REALM}/users/{JDOE}/logout")
    );
    assert!(says(&receipt.caveats, "until they expire"));
    assert!(says(&receipt.caveats, "revoke the user's consents"));
    kc.get(&format!("/users/{JDOE}/sessions"), json!([])).await;
    kc.get(
        &format!("/users/{JDOE}/consents"),
        hw("keycloak-consents.by-user")[JDOE].clone(),
    )
    .await;
    let v = kc.connector().verify_revoked(&target).await.unwrap();
    assert!(v.dead);
    assert!(
        v.evidence.contains("1 client(s) still hold offline tokens"),
        "{}",
        v.evidence
    );
}

#[tokio::test]
async fn a_consent_is_revoked_as_a_credential_or_as_a_grant() {
    let as_credential = RevokeTarget::Credential {
        kind: CredentialKind::RefreshToken,
        external_id: format!("consent/{JDOE}/realm-b-client"),
    };
    let as_grant = RevokeTarget::Grant(Grant {
        from_kind: NodeKind::Principal,
        from_id: JDOE.into(),
        to_kind: NodeKind::Principal,
        to_id: "client:realm-b-client".into(),
    });
    for target in [as_credential, as_grant] {
        let kc = Kc::start().await;
        answer(
            &kc,
            "DELETE",
            &format!("/users/{JDOE}/consents/realm-b-client"),
            204,
        )
        .await;
        let receipt = kc.connector().revoke(&target).await.unwrap();
        assert!(receipt.action.ends_with("/consents/realm-b-client"));
        assert!(says(&receipt.caveats, "online sessions"));
        kc.get(&format!("/users/{JDOE}/consents"), json!([])).await;
        let v = kc.connector().verify_revoked(&target).await.unwrap();
        assert!(v.dead, "{}", v.evidence);
    }
    let kc = Kc::start().await;
    kc.get(
        &format!("/users/{JDOE}/consents"),
        hw("keycloak-consents.by-user")[JDOE].clone(),
    )
    .await;
    let v = kc
        .connector()
        .verify_revoked(&RevokeTarget::Credential {
            kind: CredentialKind::RefreshToken,
            external_id: format!("consent/{JDOE}/realm-b-client"),
        })
        .await
        .unwrap();
    assert!(!v.dead);
    assert!(v.evidence.contains("still lists"));
}

#[tokio::test]
async fn a_group_membership_is_removed_and_verified() {
    let kc = Kc::start().await;
    answer(
        &kc,
        "DELETE",
        &format!("/users/{ALICE}/groups/{G_SRE}"),
        204,
    )
    .await;
    let target = RevokeTarget::Grant(Grant {
        from_kind: NodeKind::Principal,
        from_id: ALICE.into(),
        to_kind: NodeKind::Principal,
        to_id: format!("group:{G_SRE}"),
    });
    let receipt = kc.connector().revoke(&target).await.unwrap();
    assert!(says(
        &receipt.caveats,
        "keep the group's roles until they expire"
    ));
    kc.paged(
        &format!("/users/{ALICE}/groups"),
        &[json!({"id": G_ENGINEERING, "name": "engineering", "path": "/engineering"})],
        &[("briefRepresentation", "true")],
    )
    .await;
    let v = kc.connector().verify_revoked(&target).await.unwrap();
    assert!(v.dead, "{}", v.evidence);
}

#[tokio::test]
async fn a_realm_role_mapping_of_a_group_is_removed_with_the_role_representation() {
    let kc = Kc::start().await;
    let user_b = as_list(fixture("keycloak-realm-roles.from-kc9-export.json"))
        .into_iter()
        .find(|r| r["name"] == "user-b")
        .unwrap();
    kc.get("/roles/user-b", user_b.clone()).await;
    Mock::given(method("DELETE"))
        .and(path(admin(&format!(
            "/groups/{G_ENGINEERING}/role-mappings/realm"
        ))))
        .and(body_json(json!([user_b])))
        .and(bearer_token(TOKEN))
        .respond_with(ResponseTemplate::new(204))
        .mount(&kc.server)
        .await;
    let target = RevokeTarget::Grant(Grant {
        from_kind: NodeKind::Principal,
        from_id: format!("group:{G_ENGINEERING}"),
        to_kind: NodeKind::Role,
        to_id: "realm:user-b".into(),
    });
    let receipt = kc.connector().revoke(&target).await.unwrap();
    assert!(says(
        &receipt.caveats,
        "through a group or a composite role"
    ));
    kc.get(&format!("/groups/{G_ENGINEERING}/role-mappings"), json!({}))
        .await;
    assert!(kc.connector().verify_revoked(&target).await.unwrap().dead);
}

#[tokio::test]
async fn a_client_role_whose_names_contain_colons_is_found_by_its_client() {
    let kc = Kc::start().await;
    let uuid = "c0c0c0c0-0000-4000-8000-00000000c0c0";
    // client:urn:app:orders:read = client `urn:app`, role `orders:read`.
    Mock::given(method("GET"))
        .and(path(admin("/clients")))
        .and(query_param("clientId", "urn:app:orders"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&kc.server)
        .await;
    Mock::given(method("GET"))
        .and(path(admin("/clients")))
        .and(query_param("clientId", "urn:app"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([{"id": uuid, "clientId": "urn:app"}])),
        )
        .mount(&kc.server)
        .await;
    let role = json!({"id": "r-orders-read", "name": "orders:read", "composite": false, "clientRole": true, "containerId": uuid});
    kc.get(&format!("/clients/{uuid}/roles/orders:read"), role.clone())
        .await;
    Mock::given(method("DELETE"))
        .and(path(admin(&format!(
            "/users/{BOB}/role-mappings/clients/{uuid}"
        ))))
        .and(body_json(json!([role])))
        .respond_with(ResponseTemplate::new(204))
        .mount(&kc.server)
        .await;
    let target = RevokeTarget::Grant(Grant {
        from_kind: NodeKind::Principal,
        from_id: BOB.into(),
        to_kind: NodeKind::Role,
        to_id: "client:urn:app:orders:read".into(),
    });
    kc.connector().revoke(&target).await.unwrap();
    kc.get(
        &format!("/users/{BOB}/role-mappings"),
        json!({"clientMappings": {"urn:app": {"id": uuid, "client": "urn:app", "mappings": [role]}}}),
    )
    .await;
    let v = kc.connector().verify_revoked(&target).await.unwrap();
    assert!(!v.dead, "the mock still lists the mapping: {}", v.evidence);
}

#[tokio::test]
async fn a_client_not_before_is_set_to_now_pushed_and_verified() {
    let kc = Kc::start().await;
    let client = as_list(hw("keycloak-clients"))
        .into_iter()
        .find(|c| c["clientId"] == "realm-b-client")
        .unwrap();
    Mock::given(method("GET"))
        .and(path(admin("/clients")))
        .and(query_param("clientId", "realm-b-client"))
        .and(bearer_token(TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([client])))
        .mount(&kc.server)
        .await;
    kc.get(&format!("/clients/{REALM_B_CLIENT}"), client.clone())
        .await;
    answer(&kc, "PUT", &format!("/clients/{REALM_B_CLIENT}"), 204).await;
    let mut push = hw("keycloak-push-revocation.global-request-result");
    push["failedRequests"] = json!(["https://legacy.example.com/admin"]);
    Mock::given(method("POST"))
        .and(path(admin(&format!(
            "/clients/{REALM_B_CLIENT}/push-revocation"
        ))))
        .and(bearer_token(TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(push))
        .mount(&kc.server)
        .await;
    let target = RevokeTarget::Login {
        principal: "client:realm-b-client".into(),
    };
    let before = chrono::Utc::now().timestamp();
    let receipt = kc.connector().revoke(&target).await.unwrap();
    assert_eq!(
        receipt.detail["pushed_to"],
        json!(["https://app.example.com/admin"])
    );
    assert!(says(&receipt.caveats, "the push failed for 1 admin URL(s)"));
    assert!(says(&receipt.caveats, "sessions are not ended"));
    let put = kc
        .server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.method.as_str() == "PUT")
        .unwrap();
    let sent: Value = serde_json::from_slice(&put.body).unwrap();
    assert!(sent["notBefore"].as_i64().unwrap() >= before);
    assert_eq!(
        sent["clientId"], "realm-b-client",
        "the rest of the client is sent back as read"
    );
    let text = serde_json::to_string(&receipt).unwrap();
    assert!(!text.contains("handwritten-dummy-client-secret"));

    let kc = Kc::start().await;
    let mut updated = client.clone();
    updated["notBefore"] = json!(before);
    Mock::given(method("GET"))
        .and(path(admin("/clients")))
        .and(query_param("clientId", "realm-b-client"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([client])))
        .mount(&kc.server)
        .await;
    kc.get(&format!("/clients/{REALM_B_CLIENT}"), updated).await;
    let v = kc.connector().verify_revoked(&target).await.unwrap();
    assert!(v.dead, "{}", v.evidence);
    assert!(v.evidence.contains("not-before"));
}

#[tokio::test]
async fn a_realm_not_before_is_set_pushed_and_verified() {
    let kc = Kc::start().await;
    kc.get(
        "",
        json!({"id": REALM, "realm": REALM, "enabled": true, "notBefore": 0}),
    )
    .await;
    answer(&kc, "PUT", "", 204).await;
    Mock::given(method("POST"))
        .and(path(admin("/push-revocation")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(hw("keycloak-push-revocation.global-request-result")),
        )
        .mount(&kc.server)
        .await;
    let target = RevokeTarget::Login {
        principal: format!("realm:{REALM}"),
    };
    let receipt = kc.connector().revoke(&target).await.unwrap();
    assert!(receipt
        .action
        .contains("push-revocation on realm `realm-b`"));
    assert!(!says(&receipt.caveats, "push failed"));
    // Still 0 on the (unchanged) mock: not dead.
    let v = kc.connector().verify_revoked(&target).await.unwrap();
    assert!(!v.dead);
    assert!(v.evidence.contains("no not-before"));
}

#[tokio::test]
async fn lookup_token_introspects_with_the_console_client() {
    let kc = Kc::start().await;
    introspection(
        &kc,
        USER_TOKEN,
        hw("keycloak-introspection.user-access-token"),
    )
    .await;
    let info = kc
        .connector()
        .lookup_token(&SecretString::from(USER_TOKEN.to_string()))
        .await
        .unwrap()
        .unwrap();
    assert!(info.active);
    assert_eq!(info.kind, CredentialKind::AccessToken);
    assert_eq!(info.client.as_deref(), Some("account-console"));
    assert_eq!(info.subject.as_deref(), Some(ALICE));
    assert_eq!(info.scopes, ["openid", "profile", "email"]);
    assert_eq!(info.audience, ["account"]);
    assert_eq!(info.expires_at.unwrap().timestamp(), 1_700_000_600);
    assert_eq!(info.issued_at.unwrap().timestamp(), 1_700_000_300);
    assert_eq!(
        info.external_id.as_deref(),
        Some("7d2b9a10-0000-4000-8000-0000000a11ce")
    );
    assert_eq!(info.attrs["username"], "alice");
    assert_eq!(info.backend, "kc-test");
    assert_eq!(
        info.fingerprint,
        portcullis_connectors::fingerprint(USER_TOKEN)
    );
    assert!(!serde_json::to_string(&info).unwrap().contains(USER_TOKEN));

    let kc = Kc::start().await;
    introspection(&kc, USER_TOKEN, json!({"active": false})).await;
    let none = kc
        .connector()
        .lookup_token(&SecretString::from(USER_TOKEN.to_string()))
        .await
        .unwrap();
    assert!(none.is_none());
}

#[tokio::test]
async fn a_token_of_another_client_is_not_sent_to_the_revocation_endpoint() {
    let kc = Kc::start().await;
    introspection(
        &kc,
        USER_TOKEN,
        hw("keycloak-introspection.user-access-token"),
    )
    .await;
    let target = RevokeTarget::Token {
        value: SecretString::from(USER_TOKEN.to_string()),
    };
    let err = kc.connector().revoke(&target).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unsupported);
    let text = err.to_string();
    assert!(text.contains("`account-console`"), "{text}");
    assert!(
        text.contains(&format!("{ALICE}/{S_ALICE}")),
        "suggests the session: {text}"
    );
    assert!(!text.contains(USER_TOKEN));
    assert!(!kc.requests().await.iter().any(|r| r.ends_with("/revoke")));
}

#[tokio::test]
async fn a_token_of_the_console_client_is_revoked_and_verified_by_introspection() {
    let kc = Kc::start().await;
    let mut own = hw("keycloak-introspection.user-access-token");
    own["azp"] = json!(CLIENT);
    own["typ"] = json!("Refresh");
    introspection(&kc, USER_TOKEN, own).await;
    Mock::given(method("POST"))
        .and(path(oidc("/revoke")))
        .and(basic_auth(CLIENT, SECRET))
        .and(body_string_contains("token_type_hint=refresh_token"))
        .and(body_string_contains(format!("token={USER_TOKEN}")))
        .respond_with(ResponseTemplate::new(200))
        .mount(&kc.server)
        .await;
    let target = RevokeTarget::Token {
        value: SecretString::from(USER_TOKEN.to_string()),
    };
    let receipt = kc.connector().revoke(&target).await.unwrap();
    assert!(receipt.action.contains("RFC 7009"));
    assert!(says(&receipt.caveats, "consent"));
    assert_eq!(
        receipt.detail["token"],
        portcullis_connectors::fingerprint(USER_TOKEN)
    );
    assert!(!serde_json::to_string(&receipt)
        .unwrap()
        .contains(USER_TOKEN));

    let kc = Kc::start().await;
    introspection(&kc, USER_TOKEN, json!({"active": false})).await;
    let v = kc.connector().verify_revoked(&target).await.unwrap();
    assert!(v.dead);
    assert!(v.evidence.contains("active:false"));
    assert!(!v.evidence.contains(USER_TOKEN));
}

#[tokio::test]
async fn a_refusal_answered_with_200_is_still_an_error() {
    let kc = Kc::start().await;
    let mut own = hw("keycloak-introspection.user-access-token");
    own["azp"] = json!(CLIENT);
    introspection(&kc, USER_TOKEN, own).await;
    Mock::given(method("POST"))
        .and(path(oidc("/revoke")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"error": "invalid_token", "error_description": "Invalid token"}),
            ),
        )
        .mount(&kc.server)
        .await;
    let err = kc
        .connector()
        .revoke(&RevokeTarget::Token {
            value: SecretString::from(USER_TOKEN.to_string()),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::BackendError);
    assert!(err.to_string().contains("invalid_token"), "{err}");
}

#[tokio::test]
async fn targets_keycloak_cannot_revoke_say_so_without_calling_it() {
    let kc = Kc::start().await;
    let c = kc.connector();
    for (target, code) in [
        (
            RevokeTarget::Credential {
                kind: CredentialKind::ApiKey,
                external_id: "k1".into(),
            },
            ErrorCode::Unsupported,
        ),
        (
            RevokeTarget::Grant(Grant {
                from_kind: NodeKind::Role,
                from_id: "realm:a".into(),
                to_kind: NodeKind::Role,
                to_id: "realm:b".into(),
            }),
            ErrorCode::Unsupported,
        ),
        (
            RevokeTarget::Login {
                principal: format!("group:{G_SRE}"),
            },
            ErrorCode::Unsupported,
        ),
        (
            RevokeTarget::Login {
                principal: "realm:other".into(),
            },
            ErrorCode::InvalidInput,
        ),
        (
            RevokeTarget::Credential {
                kind: CredentialKind::Session,
                external_id: "no-user-part".into(),
            },
            ErrorCode::InvalidInput,
        ),
    ] {
        let err = c.revoke(&target).await.unwrap_err();
        assert_eq!(err.code(), code, "{}: {err}", target.describe());
        let err = c.verify_revoked(&target).await.unwrap_err();
        assert_eq!(err.code(), code, "{}: {err}", target.describe());
    }
    assert!(kc.requests().await.is_empty());
}
