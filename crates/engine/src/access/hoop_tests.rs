//! hoop's semantics in the one access model, on an inventory the connector's own mapping makes:
//! a connection's modes are asked by name, the `access_control` plugin and attributes decide
//! which groups reach it, `admin` reaches everything, a mode behind an approval rule is only a
//! partial grant, and an API key acts with its own groups.

use portcullis_connectors::hoop::inventory::{
    map_inventory, Attribute, Connection, Key, Plugin, PluginConnection, Rule, Snapshot, User,
};
use portcullis_model::{Action, BackendKind, Coverage, CredentialRef, WhoCanQuery};
use serde_json::json;

use super::dialect::{Dialect, PermMeta};
use crate::Workspace;

fn user(id: &str, email: &str, status: &str, groups: &[&str]) -> User {
    User {
        id: id.into(),
        email: email.into(),
        status: Some(status.into()),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        ..User::default()
    }
}

fn conn(name: &str, modes: [&str; 4], attributes: &[&str]) -> Connection {
    let m = |s: &str| Some(s.to_string());
    Connection {
        id: Some(format!("id-{name}")),
        name: name.into(),
        access_mode_connect: m(modes[0]),
        access_mode_exec: m(modes[1]),
        access_mode_runbooks: m(modes[2]),
        access_schema: m(modes[3]),
        attributes: attributes.iter().map(|a| a.to_string()).collect(),
        ..Connection::default()
    }
}

async fn workspace() -> (tempfile::TempDir, Workspace) {
    const ON: &str = "enabled";
    const OFF: &str = "disabled";
    // Names are chosen against the grain: `svc-admin` is a person in no group, `dba-bot` a
    // person too; only groups and hoop's own rules decide.
    let snapshot = Snapshot {
        users: vec![
            user("u1", "svc-admin@example.com", "active", &[]),
            user("u2", "dba-bot@example.com", "active", &["dba"]),
            user("u3", "erin@example.com", "active", &["admin"]),
            user("u4", "sam@example.com", "active", &["sre"]),
            user("u5", "gone@example.com", "inactive", &["dba"]),
        ],
        api_keys: vec![Key {
            id: "k1".into(),
            name: Some("deploys".into()),
            status: Some("active".into()),
            groups: vec!["engineering".into()],
            ..Key::default()
        }],
        connections: vec![
            conn("pgdemo", [ON, ON, OFF, ON], &["production"]),
            conn("bash", [OFF, ON, ON, OFF], &[]),
        ],
        access_control: Some(Plugin {
            name: "access_control".into(),
            connections: vec![
                PluginConnection {
                    id: Some("id-pgdemo".into()),
                    name: None,
                    config: vec!["dba".into()],
                },
                PluginConnection {
                    id: None,
                    name: Some("bash".into()),
                    config: vec!["engineering".into()],
                },
            ],
        }),
        attributes: vec![Attribute {
            name: "production".into(),
            access_control_group_names: vec!["sre".into()],
            connection_names: vec![],
        }],
        rules: vec![Rule {
            name: "prod-exec".into(),
            access_type: Some("command".into()),
            attributes: vec!["production".into()],
            approval_required_groups: vec!["dba".into()],
            ..Rule::default()
        }],
        ..Snapshot::default()
    };
    let inv = map_inventory(&snapshot, chrono::Utc::now());
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(dir.path()).await.unwrap();
    let b = ws
        .store
        .insert_backend(
            "hoop",
            BackendKind::Hoop,
            "https://use.hoop.dev",
            &CredentialRef::None,
            &json!({}),
        )
        .await
        .unwrap();
    ws.store.replace_inventory(b.id, &inv).await.unwrap();
    (dir, ws)
}

/// (principal, coverage, credentials) for every principal allowed `action` on `resource`.
async fn who(ws: &Workspace, action: &str, resource: &str) -> Vec<(String, Coverage, Vec<String>)> {
    let a = ws
        .access_who_can(&WhoCanQuery {
            action: action.into(),
            resource: resource.into(),
            ..WhoCanQuery::default()
        })
        .await
        .unwrap();
    let mut out: Vec<_> = a
        .allowed
        .into_iter()
        .map(|e| {
            let full = e.matches.iter().any(|m| m.coverage == Coverage::Full);
            let mut creds: Vec<String> = e.credentials.into_iter().map(|c| c.external_id).collect();
            creds.sort();
            let coverage = if full {
                Coverage::Full
            } else {
                Coverage::Partial
            };
            (e.principal.label, coverage, creds)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn names(v: &[(String, Coverage, Vec<String>)]) -> Vec<&str> {
    v.iter().map(|e| e.0.as_str()).collect()
}

#[tokio::test]
async fn groups_reach_connections_by_the_plugin_and_by_attributes() {
    let (_dir, ws) = workspace().await;
    // dba by the plugin, sre by the `production` attribute, erin as admin; svc-admin, in no
    // group, reaches nothing whatever its name says.
    let connect = who(&ws, "connect", "pgdemo").await;
    assert_eq!(
        names(&connect),
        [
            "dba-bot@example.com",
            "erin@example.com",
            "gone@example.com",
            "sam@example.com"
        ]
    );
    assert!(connect.iter().all(|e| e.1 == Coverage::Full));
    // The mode must be enabled: pgdemo has no runbooks, bash no connect.
    assert_eq!(
        names(&who(&ws, "runbooks", "pgdemo").await),
        ["erin@example.com"]
    );
    assert_eq!(
        names(&who(&ws, "connect", "bash").await),
        ["erin@example.com"]
    );
}

#[tokio::test]
async fn an_approval_rule_makes_the_mode_a_partial_grant() {
    let (_dir, ws) = workspace().await;
    let exec = who(&ws, "exec", "pgdemo").await;
    let cov = |n: &str| exec.iter().find(|e| e.0 == n).map(|e| e.1);
    assert_eq!(cov("dba-bot@example.com"), Some(Coverage::Partial));
    assert_eq!(cov("sam@example.com"), Some(Coverage::Partial));
    // The admin group's right is backend-wide and needs no one's approval.
    assert_eq!(cov("erin@example.com"), Some(Coverage::Full));
}

#[tokio::test]
async fn an_api_key_acts_with_its_own_groups() {
    let (_dir, ws) = workspace().await;
    let exec = who(&ws, "exec", "bash").await;
    let key = exec.iter().find(|e| e.0 == "deploys").unwrap();
    assert_eq!(key.2, ["api-key:k1"]);
    assert_eq!(names(&exec), ["deploys", "erin@example.com"]);
}

#[test]
fn a_session_credits_the_mode_it_used_on_its_connection() {
    let d = Dialect::Hoop;
    let perm = |verb: &str| {
        PermMeta::parse(
            d,
            &format!("pgdemo|{verb}"),
            "pgdemo",
            Action::Execute,
            &json!({"verb": verb}),
        )
    };
    let ev = d.event("exec", Some("pgdemo"));
    assert!(d.event_match(&perm("exec"), "pgdemo|exec", &ev).is_some());
    assert!(d
        .event_match(&perm("connect"), "pgdemo|connect", &ev)
        .is_none());
    let other = d.event("exec", Some("bash"));
    assert!(d
        .event_match(&perm("exec"), "pgdemo|exec", &other)
        .is_none());
}
