//! GitLab's semantics in the one access model, on an inventory the connector's own mapping
//! makes: group rights reach subgroups and projects, a project's do not climb, administrators
//! reach everything, a blocked user's tokens are dead, and a token's scopes limit what it may do
//! with its user's rights (`read_api` reads only).

use portcullis_connectors::gitlab::inventory::{
    map_inventory, Member, Namespace, NamespaceKind, Snapshot, Token, User,
};
use portcullis_model::{BackendKind, Coverage, CredentialRef, ExplainQuery, WhoCanQuery};
use serde_json::json;

use crate::Workspace;

fn user(id: u64, name: &str, state: &str, admin: bool) -> User {
    User {
        id,
        username: name.into(),
        name: None,
        state: Some(state.into()),
        is_admin: Some(admin),
        bot: Some(false),
    }
}

fn ns(
    kind: NamespaceKind,
    id: u64,
    path: &str,
    members: &[(u64, u32)],
) -> (NamespaceKind, Namespace, Vec<Member>) {
    let members = members
        .iter()
        .map(|&(id, access_level)| Member {
            id,
            access_level,
            state: Some("active".into()),
            expires_at: None,
        })
        .collect();
    (
        kind,
        Namespace {
            id,
            full_path: path.into(),
        },
        members,
    )
}

fn token(id: u64, user: u64, scopes: &[&str]) -> Token {
    Token {
        id,
        name: Some(format!("t{id}")),
        revoked: false,
        active: true,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        user_id: Some(user),
        created_at: None,
        last_used_at: None,
        expires_at: None,
        access_level: None,
    }
}

async fn workspace() -> (tempfile::TempDir, Workspace) {
    // Names are chosen against the grain: `svc-ci` is a person, `root` is not the admin.
    let snapshot = Snapshot {
        users: vec![
            user(1, "svc-ci", "active", false),
            user(2, "root", "active", false),
            user(3, "carol", "active", true),
            user(4, "dave", "blocked", false),
        ],
        memberships: vec![
            ns(NamespaceKind::Group, 10, "acme", &[(1, 30), (4, 40)]),
            ns(NamespaceKind::Project, 20, "acme/web", &[(2, 40)]),
            ns(NamespaceKind::Project, 21, "other/tool", &[(1, 20)]),
        ],
        tokens: vec![
            token(100, 1, &["read_api"]),
            token(101, 1, &["api"]),
            token(102, 3, &["read_api"]),
            token(103, 4, &["api"]),
            token(104, 1, &["read_user"]),
        ],
    };
    let inv = map_inventory(&snapshot, chrono::Utc::now());
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(dir.path()).await.unwrap();
    let b = ws
        .store
        .insert_backend(
            "gl",
            BackendKind::GitLab,
            "https://gitlab.example",
            &CredentialRef::None,
            &json!({}),
        )
        .await
        .unwrap();
    ws.store.replace_inventory(b.id, &inv).await.unwrap();
    (dir, ws)
}

/// Who holds the right on all of `resource` (full coverage), with their tokens that do.
async fn who(ws: &Workspace, action: &str, resource: &str) -> Vec<(String, Vec<String>)> {
    let a = ws
        .access_who_can(&WhoCanQuery {
            action: action.into(),
            resource: resource.into(),
            ..WhoCanQuery::default()
        })
        .await
        .unwrap();
    let mut out: Vec<(String, Vec<String>)> = a
        .allowed
        .into_iter()
        .filter(|e| e.matches.iter().any(|m| m.coverage == Coverage::Full))
        .map(|e| {
            let mut creds: Vec<String> = e.credentials.into_iter().map(|c| c.external_id).collect();
            creds.sort();
            (e.principal.label, creds)
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn group_rights_reach_down_and_scopes_limit_tokens() {
    let (_dir, ws) = workspace().await;
    // svc-ci is a Developer of the group: it may push to a project under it, with its api token
    // only (read_api and read_user do not write). root maintains acme/web alone; carol is an
    // administrator, whose read_api token does not write. dave is blocked: no live token.
    assert_eq!(
        who(&ws, "write", "acme/web").await,
        vec![
            ("carol".to_string(), vec![]),
            ("dave".to_string(), vec![]),
            ("root".to_string(), vec![]),
            ("svc-ci".to_string(), vec!["101".to_string()]),
        ]
    );
    let readers = who(&ws, "read", "acme/web").await;
    let ci = readers.iter().find(|(n, _)| n == "svc-ci").unwrap();
    assert_eq!(ci.1, vec!["100".to_string(), "101".to_string()]);
    let carol = readers.iter().find(|(n, _)| n == "carol").unwrap();
    assert_eq!(
        carol.1,
        vec!["102".to_string()],
        "an admin's read_api token reads everything"
    );
    // A project's rights do not climb to its group (root maintains part of it: partial) or
    // across to a sibling.
    let group_admins: Vec<String> = who(&ws, "admin", "acme")
        .await
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(group_admins, ["carol", "dave"]);
    let partial = ws
        .access_who_can(&WhoCanQuery {
            action: "admin".into(),
            resource: "acme".into(),
            ..WhoCanQuery::default()
        })
        .await
        .unwrap();
    let root = partial
        .allowed
        .iter()
        .find(|e| e.principal.label == "root")
        .unwrap();
    assert!(root.matches.iter().all(|m| m.coverage == Coverage::Partial));
    let tool: Vec<String> = who(&ws, "write", "other/tool")
        .await
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(tool, ["carol"], "a Reporter does not write");
}

#[tokio::test]
async fn a_read_api_token_explains_read_rights_only() {
    let (_dir, ws) = workspace().await;
    let e = ws
        .access_explain(&ExplainQuery {
            subject: "100".into(),
            credential: true,
            backend: Some("gl".into()),
            ..ExplainQuery::default()
        })
        .await
        .unwrap();
    let s = &e.subjects[0];
    assert_eq!(
        s.credential_mode.as_deref(),
        Some("principal, limited by scopes")
    );
    let mut ids: Vec<&str> = s
        .permissions
        .iter()
        .map(|p| p.permission.external_id.as_str())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "group:acme:read",
            "group:acme:view",
            "project:other/tool:read",
            "project:other/tool:view"
        ]
    );
    // Each is explained through the token's user and the membership.
    let path = &s.permissions[0].paths[0].hops;
    assert_eq!(path[1].external_id, "1", "{path:?}");
}
