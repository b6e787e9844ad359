//! AWS IAM through the one access model: an inventory made by the connector's own mapping
//! (`aws_iam::inventory::map_inventory`) from policy documents as IAM sends them, and the
//! answers `who-can` must give under IAM's rule (any matching explicit Deny wins, else any
//! matching Allow; `*`/`?` wildcards, `NotAction`, `NotResource`).

use portcullis_connectors::aws_iam::inventory::{map_inventory, Holder, Inline, Managed, Snapshot};
use portcullis_connectors::aws_iam::xml::{AccessKey, Named, User};
use portcullis_model::{WhoCanAnswer, WhoCanEntry, WhoCanQuery};
use portcullis_store::access::{AccessBackendRow, AccessRows};
use std::collections::BTreeSet;

use super::AccessIndex;

fn user(name: &str) -> User {
    User {
        name: name.into(),
        id: None,
        arn: None,
        path: None,
        created: None,
        password_last_used: None,
    }
}

fn named(name: &str) -> Named {
    Named {
        name: name.into(),
        id: None,
        arn: None,
        created: None,
        document: None,
        default_version: None,
    }
}

fn doc(statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":{statements}}}"#)
}

const DEV: &str = "arn:aws:iam::123456789012:policy/dev";

/// dev group: IAM reads, S3 on dev buckets, no IAM deletes. ana: dev. bo: dev + an inline deny
/// on every bucket but releases (NotResource). cy: everything but IAM (NotAction), plus
/// `iam:List?sers`. dee: `*` on `*` with a condition. eve: dev + `iam:*`. A role with `iam:*`.
fn index() -> AccessIndex {
    let s = Snapshot {
        users: ["ana", "bo", "cy", "dee", "eve"].map(user).to_vec(),
        groups: vec![named("dev")],
        roles: vec![named("admin-role")],
        memberships: vec![
            ("ana".into(), "dev".into()),
            ("bo".into(), "dev".into()),
            ("eve".into(), "dev".into()),
        ],
        attachments: vec![(Holder::Group, "dev".into(), DEV.into())],
        managed: vec![Managed {
            arn: DEV.into(),
            name: "dev".into(),
            document: doc(
                r#"[{"Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"},
                    {"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::dev-*","arn:aws:s3:::dev-*/*"]},
                    {"Effect":"Deny","Action":"iam:Delete*","Resource":"*"}]"#,
            ),
        }],
        inline: vec![
            Inline {
                holder: Holder::User,
                owner: "bo".into(),
                name: "only-releases".into(),
                document: doc(
                    r#"{"Effect":"Deny","Action":"s3:Put*","NotResource":["arn:aws:s3:::dev-releases/*"]}"#,
                ),
            },
            Inline {
                holder: Holder::User,
                owner: "cy".into(),
                name: "all-but-iam".into(),
                // URL-encoded, as IAM sends it.
                document: "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22NotAction%22%3A%22iam%3A*%22%2C%22Resource%22%3A%22*%22%7D%2C%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22iam%3AList%3Fsers%22%2C%22Resource%22%3A%22*%22%7D%5D%7D".into(),
            },
            Inline {
                holder: Holder::User,
                owner: "dee".into(),
                name: "mfa-admin".into(),
                document: doc(
                    r#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}"#,
                ),
            },
            Inline {
                holder: Holder::User,
                owner: "eve".into(),
                name: "iam-all".into(),
                document: doc(r#"{"Effect":"Allow","Action":"iam:*","Resource":"*"}"#),
            },
            Inline {
                holder: Holder::Role,
                owner: "admin-role".into(),
                name: "iam-admin".into(),
                document: doc(r#"{"Effect":"Allow","Action":"iam:*","Resource":"*"}"#),
            },
        ],
        keys: vec![(
            AccessKey {
                id: "AKIAANA".into(),
                user: Some("ana".into()),
                status: "Active".into(),
                created: None,
            },
            None,
        )],
    };
    let (inv, notes) = map_inventory(&s);
    assert!(notes.is_empty(), "{notes:?}");
    let backend = AccessBackendRow {
        id: 1,
        name: "aws".into(),
        kind: "aws-iam".into(),
    };
    AccessIndex::build(&AccessRows::of_inventory(backend, &inv), 1)
}

fn who(ix: &AccessIndex, action: &str, resource: &str) -> WhoCanAnswer {
    ix.who_can(&WhoCanQuery {
        action: action.into(),
        resource: resource.into(),
        backend: None,
        max_paths: None,
    })
    .unwrap()
}

fn ids(list: &[WhoCanEntry]) -> BTreeSet<String> {
    list.iter()
        .map(|e| e.principal.external_id.clone())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_matching_deny_wins_and_only_for_its_own_actions() {
    let ix = index();
    // eve's iam:* is overridden by her group's Deny on iam:Delete*; ana and bo hold no Allow
    // for it at all (the implicit deny: not listed).
    let del = who(&ix, "iam:DeleteUser", "arn:aws:iam::123456789012:user/x");
    assert_eq!(ids(&del.denied), set(&["user/eve"]));
    assert_eq!(ids(&del.allowed), set(&["role/admin-role", "user/dee"]));
    // The Deny on iam:Delete* does not touch other IAM actions.
    let create = who(&ix, "iam:CreateUser", "arn:aws:iam::123456789012:user/x");
    assert!(ids(&create.allowed).contains("user/eve"));
    let list = who(&ix, "iam:ListUsers", "*");
    assert_eq!(
        ids(&list.allowed),
        set(&[
            "user/ana",
            "user/bo",
            "user/cy",
            "user/dee",
            "user/eve",
            "role/admin-role"
        ])
    );
    assert!(list.denied.is_empty(), "{:?}", ids(&list.denied));
}

#[test]
fn not_action_and_single_character_wildcards() {
    let ix = index();
    // cy's NotAction iam:* reaches S3 but not IAM, except what `iam:List?sers` grants.
    let s3 = who(&ix, "s3:GetObject", "arn:aws:s3:::prod-data/k");
    assert_eq!(ids(&s3.allowed), set(&["user/cy", "user/dee"]));
    let groups = who(&ix, "iam:ListGroups", "*");
    assert!(!ids(&groups.allowed).contains("user/cy"));
    assert!(ids(&who(&ix, "IAM:listusers", "*").allowed).contains("user/cy"));
}

#[test]
fn not_resource_denies_everything_outside_it() {
    let ix = index();
    let put = who(&ix, "s3:PutObject", "arn:aws:s3:::dev-data/k");
    assert!(ids(&put.denied).contains("user/bo"), "{put:?}");
    assert!(ids(&put.allowed).contains("user/ana"));
    let rel = who(&ix, "s3:PutObject", "arn:aws:s3:::dev-releases/v1");
    assert!(ids(&rel.allowed).contains("user/bo"));
    assert!(rel.denied.is_empty());
}

#[test]
fn conditional_statements_grant_only_partly() {
    let ix = index();
    let del = who(&ix, "iam:DeleteUser", "arn:aws:iam::123456789012:user/x");
    let dee = del
        .allowed
        .iter()
        .find(|e| e.principal.external_id == "user/dee")
        .unwrap();
    assert!(dee
        .matches
        .iter()
        .all(|m| m.coverage == portcullis_model::Coverage::Partial));
}

#[test]
fn the_key_acts_with_its_users_rights() {
    let ix = index();
    let list = who(&ix, "iam:GetUser", "*");
    let ana = list
        .allowed
        .iter()
        .find(|e| e.principal.external_id == "user/ana")
        .unwrap();
    assert!(
        ana.credentials.iter().any(|c| c.external_id == "AKIAANA"),
        "{:?}",
        ana.credentials
    );
}
