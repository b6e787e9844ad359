//! GitHub's semantics in the one access model, on an inventory the connector's own mapping
//! makes: an owner's rights reach every repository of the organisation, a member's do not, an
//! App installation holds its permissions, a fine-grained PAT can do at most what both its owner
//! and its permissions allow, and an expired token carries nothing.

use portcullis_connectors::github::inventory::{
    map_inventory, CredentialAuthorization, Installation, PatGrant, SimpleUser, Snapshot,
};
use portcullis_model::{BackendKind, Coverage, CredentialRef, ExplainQuery, WhoCanQuery};
use serde_json::json;

use crate::Workspace;

fn user(login: &str, kind: &str) -> SimpleUser {
    SimpleUser {
        login: login.into(),
        id: None,
        kind: Some(kind.into()),
        site_admin: None,
    }
}

fn pat(id: u64, owner: &str, perms: &[(&str, &str, &str)], expired: bool) -> PatGrant {
    let mut permissions = std::collections::BTreeMap::<String, _>::new();
    for (kind, name, level) in perms {
        permissions
            .entry(kind.to_string())
            .or_insert_with(std::collections::BTreeMap::new)
            .insert(name.to_string(), level.to_string());
    }
    PatGrant {
        id,
        owner: user(owner, "User"),
        repository_selection: Some("all".into()),
        permissions,
        access_granted_at: None,
        created_at: None,
        reason: None,
        token_id: Some(id + 1000),
        token_name: Some(format!("t{id}")),
        token_expired: expired,
        token_expires_at: None,
        token_last_used_at: None,
    }
}

async fn workspace() -> (tempfile::TempDir, Workspace) {
    // Names are chosen against the grain: `admin-bot` is a person and a plain member, `bob` is a
    // Bot account; only `type` and the owners' listing decide.
    let snapshot = Snapshot {
        org: "acme".into(),
        members: vec![
            user("alice", "User"),
            user("bob", "Bot"),
            user("admin-bot", "User"),
        ],
        admins: vec!["alice".into()],
        grants: Some(vec![
            pat(1, "alice", &[("repository", "contents", "read")], false),
            pat(
                2,
                "alice",
                &[("organization", "administration", "write")],
                false,
            ),
            pat(
                3,
                "admin-bot",
                &[("repository", "contents", "write")],
                false,
            ),
            pat(4, "alice", &[("repository", "contents", "write")], true),
        ]),
        requests: Some(vec![]),
        authorizations: Some(vec![CredentialAuthorization {
            login: "bob".into(),
            credential_id: 77,
            credential_type: Some("personal access token".into()),
            credential_authorized_at: None,
            credential_accessed_at: None,
            scopes: vec!["repo".into()],
            fingerprint: None,
            authorized_credential_id: None,
            authorized_credential_title: None,
            authorized_credential_note: None,
            authorized_credential_expires_at: None,
        }]),
        installations: Some(vec![Installation {
            id: 5,
            app_id: Some(9),
            app_slug: Some("ci-app".into()),
            repository_selection: Some("all".into()),
            permissions: [("contents".to_string(), "write".to_string())].into(),
            created_at: None,
            suspended_at: None,
        }]),
    };
    let inv = map_inventory(&snapshot, chrono::Utc::now());
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(dir.path()).await.unwrap();
    let b = ws
        .store
        .insert_backend(
            "gh",
            BackendKind::GitHub,
            "https://api.github.com/orgs/acme",
            &CredentialRef::None,
            &json!({}),
        )
        .await
        .unwrap();
    ws.store.replace_inventory(b.id, &inv).await.unwrap();
    (dir, ws)
}

/// Who holds the right on all of `resource` (full coverage), with their credentials that do.
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
async fn owners_and_apps_reach_repositories_and_permissions_limit_tokens() {
    let (_dir, ws) = workspace().await;
    // alice owns the organisation: she may push to any repository, with her write token only
    // (the read token does not write, the expired one carries nothing). The App installed on
    // all repositories writes contents. Members (bob, admin-bot) hold no repository right here.
    assert_eq!(
        who(&ws, "write", "acme/web").await,
        vec![
            ("alice".to_string(), vec!["pat-grant:2".to_string()]),
            ("ci-app".to_string(), vec![]),
        ]
    );
    assert_eq!(
        who(&ws, "read", "acme/web").await,
        vec![
            (
                "alice".to_string(),
                vec!["pat-grant:1".to_string(), "pat-grant:2".to_string()]
            ),
            ("ci-app".to_string(), vec![]),
        ]
    );
    // Only owners administer.
    let admins: Vec<String> = who(&ws, "admin", "acme")
        .await
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(admins, ["alice"]);
    // Members read the organisation itself (membership), with whatever token reads.
    let members = who(&ws, "read", "acme").await;
    let bob = members.iter().find(|(n, _)| n == "bob").unwrap();
    assert_eq!(
        bob.1,
        vec!["sso:77".to_string()],
        "a classic repo scope reads"
    );
}

#[tokio::test]
async fn a_read_only_grant_explains_read_rights_only() {
    let (_dir, ws) = workspace().await;
    let e = ws
        .access_explain(&ExplainQuery {
            subject: "pat-grant:1".into(),
            credential: true,
            backend: Some("gh".into()),
            ..ExplainQuery::default()
        })
        .await
        .unwrap();
    let s = &e.subjects[0];
    assert_eq!(
        s.credential_mode.as_deref(),
        Some("principal, limited by scopes")
    );
    let ids: Vec<&str> = s
        .permissions
        .iter()
        .map(|p| p.permission.external_id.as_str())
        .collect();
    assert_eq!(ids, ["acme:read"]);
    // Explained through the token's owner and the owners' role.
    let path = &s.permissions[0].paths[0].hops;
    assert_eq!(path[1].external_id, "alice", "{path:?}");
}
