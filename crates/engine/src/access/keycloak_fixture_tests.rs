//! Keycloak's effective access through the one model, on the connector's authentic fixture
//! realm (served by the connectors' mock Keycloak, see its `fixtures/PROVENANCE.md`): the
//! inventory the connector makes is stored as a sync stores it, and `explain` must find every
//! right with the shortest chain of grants Keycloak itself would follow (user → group → parent
//! group → role → composite role → right). These assertions used to check a second walk of the
//! connector's own, now deleted.

#[path = "../../../connectors/tests/keycloak_support/mod.rs"]
mod keycloak_support;

use keycloak_support::{Kc, ALICE, BOB, G_ADMINS, JDOE};
use portcullis_connectors::Connector;
use portcullis_model::{BackendKind, CredentialRef, ExplainQuery, SubjectAccess};
use serde_json::json;

use crate::Workspace;

async fn workspace() -> (tempfile::TempDir, Workspace) {
    let kc = Kc::start().await;
    kc.mount_realm().await;
    let inv = kc.connector().inventory(&|_| {}).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(dir.path()).await.unwrap();
    let b = ws
        .store
        .insert_backend(
            "kc",
            BackendKind::Keycloak,
            &kc.url(),
            &CredentialRef::None,
            &json!({}),
        )
        .await
        .unwrap();
    ws.store.replace_inventory(b.id, &inv).await.unwrap();
    (dir, ws)
}

async fn explain(ws: &Workspace, who: &str) -> SubjectAccess {
    let e = ws
        .access_explain(&ExplainQuery {
            subject: who.into(),
            backend: Some("kc".into()),
            max_paths: Some(8),
            ..ExplainQuery::default()
        })
        .await
        .unwrap();
    e.subjects.into_iter().next().unwrap()
}

/// The external ids along the shortest path to permission `perm`.
fn shortest(s: &SubjectAccess, perm: &str) -> Vec<String> {
    let p = s
        .permissions
        .iter()
        .find(|p| p.permission.external_id == perm)
        .unwrap_or_else(|| panic!("{} does not hold {perm}", s.subject.label));
    p.paths[0]
        .hops
        .iter()
        .map(|h| h.external_id.clone())
        .collect()
}

#[tokio::test]
async fn explain_follows_groups_and_composites_to_every_right() {
    let (_dir, ws) = workspace().await;
    // bob: member of admins → realm-admin → manage-users → its admin right.
    let bob = explain(&ws, BOB).await;
    assert_eq!(
        shortest(&bob, "admin:realm-management:manage-users"),
        vec![
            BOB.to_string(),
            format!("group:{G_ADMINS}"),
            "client:realm-management:realm-admin".into(),
            "client:realm-management:manage-users".into(),
            "admin:realm-management:manage-users".into(),
        ]
    );
    // bob's direct view-users mapping (a composite holding query-users) is shorter than the way
    // through realm-admin.
    assert_eq!(
        shortest(&bob, "admin:realm-management:query-users"),
        vec![
            BOB,
            "client:realm-management:view-users",
            "client:realm-management:query-users",
            "admin:realm-management:query-users",
        ]
    );
    // alice: three levels of groups up to engineering's user-b.
    let alice = explain(&ws, ALICE).await;
    let user_b = shortest(&alice, "realm-role:user-b");
    assert_eq!(user_b.len(), 6, "{user_b:?}");
    assert_eq!(user_b[4], "realm:user-b");
    assert!(alice
        .permissions
        .iter()
        .any(|p| p.permission.external_id == "client-role:realm-b-client:uma_protection"));
    // jdoe: offline_access role → offline_access scope; manage-account includes
    // manage-account-links (a composite).
    let jdoe = explain(&ws, JDOE).await;
    assert!(jdoe
        .permissions
        .iter()
        .any(|p| p.permission.external_id == "client-role:account:manage-account-links"));
    assert!(jdoe
        .permissions
        .iter()
        .any(|p| p.permission.external_id == "scope:offline_access"));
}
