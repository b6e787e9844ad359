//! AWS IAM answers (`aws_iam::xml`, `aws_iam::policy`, `aws_iam::inventory`): the bytes are read
//! as every answer the connector parses (listing pages of users, groups, roles, attached policies,
//! policy names and access keys; GetAccessKeyLastUsed, GetUser, GetPolicy, GetPolicyVersion,
//! Get*Policy; error answers); documents found are read as policies; what parsed becomes one
//! snapshot, mapped to an inventory and built into the access index with IAM's dialect, and one
//! `who-can` question is asked of it. Invariants: no panic; a listing page's items are as many as
//! its `member` elements it accepted; every statement read becomes exactly one permission; every
//! access path runs from its subject to its permission.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_connectors::aws_iam::inventory::{map_inventory, Holder, Inline, Managed, Snapshot};
use portcullis_connectors::aws_iam::{policy, xml};
use portcullis_fuzz::check_access_paths;
use portcullis_model::WhoCanQuery;

fn snapshot(data: &[u8]) -> (Snapshot, usize) {
    let mut s = Snapshot::default();
    if let Ok(p) = xml::page(data, "ListUsers", "Users", xml::user) {
        s.users = p.items;
    }
    if let Ok(p) = xml::page(data, "ListGroups", "Groups", xml::group) {
        s.groups = p.items;
    }
    if let Ok(p) = xml::page(data, "ListRoles", "Roles", xml::role) {
        s.roles = p.items;
    }
    if let Ok(p) = xml::page(data, "ListAccessKeys", "AccessKeyMetadata", xml::access_key) {
        let used = xml::last_used(data).ok();
        s.keys = p.items.into_iter().map(|k| (k, used.clone())).collect();
    }
    let _ = xml::page(data, "ListUserPolicies", "PolicyNames", xml::string);
    let _ = xml::caller(data);
    let _ = xml::error(data);
    let _ = xml::get_policy(data);
    let owner = s.users.first().map(|u| u.name.clone());
    if let (Ok(p), Some(owner)) = (
        xml::page(
            data,
            "ListAttachedUserPolicies",
            "AttachedPolicies",
            xml::attached,
        ),
        owner.clone(),
    ) {
        for a in p.items {
            if let Some(arn) = a.arn {
                s.attachments.push((Holder::User, owner.clone(), arn));
            }
        }
    }
    let mut statements = 0;
    let mut documents = Vec::new();
    if let Ok(d) = xml::policy_version(data) {
        documents.push(d);
    }
    if let Ok(d) = xml::inline_document(data, "GetUserPolicy") {
        documents.push(d);
    }
    for (i, d) in documents.into_iter().enumerate() {
        if let Ok(list) = policy::parse(&d) {
            statements += list.len();
        }
        if i == 0 {
            s.managed.push(Managed {
                arn: format!("arn:aws:iam::1:policy/p{i}"),
                name: format!("p{i}"),
                document: d,
            });
        } else if let Some(owner) = &owner {
            s.inline.push(Inline {
                holder: Holder::User,
                owner: owner.clone(),
                name: format!("i{i}"),
                document: d,
            });
        } else {
            statements -= policy::parse(&d).map_or(0, |l| l.len());
        }
    }
    (s, statements)
}

fuzz_target!(|data: &[u8]| {
    let (s, statements) = snapshot(data);
    let (inv, _notes) = map_inventory(&s);
    assert_eq!(
        inv.permissions.len(),
        statements,
        "one permission per statement"
    );
    let index = check_access_paths("aws-iam", &inv, false);
    let _ = index.who_can(&WhoCanQuery {
        action: "iam:DeleteUser".into(),
        resource: "arn:aws:iam::1:user/x".into(),
        backend: None,
        max_paths: Some(2),
    });
    serde_json::to_string(&inv).expect("an inventory serialises");
});
