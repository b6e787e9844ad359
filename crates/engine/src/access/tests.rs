//! Scenario fixtures for the access map: small hand-made inventories of several backends (groups,
//! nested composite roles, a composite cycle, Vault globs, `+` segments and `deny`, SQL columns,
//! OAuth scopes, a backend kind with no dialect of its own) and the answers they must give.

use chrono::{TimeZone, Utc};
use portcullis_model::*;
use portcullis_store::access::*;
use serde_json::json;
use std::collections::BTreeSet;

use super::AccessIndex;

const T_USED: i64 = 1_790_000_000_000; // 2026-09-21
fn now() -> chrono::DateTime<Utc> {
    Utc.timestamp_millis_opt(T_USED + 86_400_000).unwrap()
}

#[derive(Default)]
struct Fixture {
    rows: AccessRows,
}

impl Fixture {
    fn backend(mut self, id: i64, name: &str, kind: &str) -> Self {
        self.rows.backends.push(AccessBackendRow {
            id,
            name: name.into(),
            kind: kind.into(),
        });
        self
    }

    fn principal(mut self, b: i64, id: &str, kind: &str) -> Self {
        self.rows.principals.push(AccessPrincipalRow {
            backend_id: b,
            external_id: id.into(),
            kind: kind.into(),
            name: id.rsplit(':').next().unwrap_or(id).into(),
            enabled: true,
        });
        self
    }

    fn role(mut self, b: i64, id: &str) -> Self {
        self.rows.roles.push(AccessRoleRow {
            backend_id: b,
            external_id: id.into(),
            name: id.into(),
        });
        self
    }

    fn perm(
        mut self,
        b: i64,
        id: &str,
        resource: &str,
        action: &str,
        raw: serde_json::Value,
    ) -> Self {
        self.rows.permissions.push(AccessPermissionRow {
            backend_id: b,
            external_id: id.into(),
            name: id.into(),
            resource: resource.into(),
            action: action.into(),
            raw: raw.to_string(),
        });
        self
    }

    /// A Vault rule `path` with `caps`, as the connector writes it: one permission per class.
    fn vault_rule(self, b: i64, policy: &str, path: &str, caps: &[&str]) -> Self {
        let class = |c: &str| match c {
            "read" | "list" => "read",
            "deny" => "deny",
            "sudo" => "admin",
            _ => "write",
        };
        let mut f = self;
        let mut classes: Vec<&str> = caps.iter().map(|c| class(c)).collect();
        classes.sort();
        classes.dedup();
        for cl in classes {
            let mine: Vec<&&str> = caps.iter().filter(|c| class(c) == cl).collect();
            let id = format!("{path}|{cl}");
            f = f
                .perm(
                    b,
                    &id,
                    path,
                    cl,
                    json!({"path": path, "capabilities": mine}),
                )
                .grant(b, "role", policy, "permission", &id);
        }
        f
    }

    fn grant(mut self, b: i64, fk: &str, fi: &str, tk: &str, ti: &str) -> Self {
        self.rows.grants.push(AccessGrantRow {
            backend_id: b,
            from_kind: fk.into(),
            from_id: fi.into(),
            to_kind: tk.into(),
            to_id: ti.into(),
        });
        self
    }

    fn credential(
        mut self,
        b: i64,
        db_id: i64,
        id: &str,
        principal: &str,
        scopes: &[&str],
    ) -> Self {
        self.rows.credentials.push(AccessCredentialRow {
            id: db_id,
            backend_id: b,
            external_id: id.into(),
            kind: "accessor".into(),
            principal_external_id: Some(principal.into()),
            client: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            status: "active".into(),
        });
        self
    }

    fn used(
        mut self,
        b: i64,
        cred: Option<&str>,
        actor: &str,
        action: &str,
        resource: &str,
    ) -> Self {
        self.rows.usage.push(AccessUsageRow {
            backend_id: b,
            credential: cred.map(str::to_string),
            actor: Some(actor.into()),
            action: action.into(),
            resource: Some(resource.into()),
            last_at_ms: T_USED,
            count: 2,
        });
        self
    }

    /// Allowed PostgreSQL events of `actor` that named no object, with their statement.
    fn statement(mut self, b: i64, actor: &str, action: &str, text: &str) -> Self {
        self.rows.statements.push(AccessStatementRow {
            backend_id: b,
            credential: Some(format!("login:{actor}")),
            actor: Some(actor.into()),
            action: action.into(),
            text: text.into(),
            last_at_ms: T_USED,
            count: 3,
        });
        self
    }

    fn build(self) -> AccessIndex {
        AccessIndex::build(&self.rows, 1)
    }
}

/// Vault (1), PostgreSQL (2), OAuth (3), Keycloak-like composite roles (4), Kong (5: no dialect).
fn org() -> AccessIndex {
    Fixture::default()
        .backend(1, "bao", "vault")
        .backend(2, "pg", "postgres")
        .backend(3, "oidc", "oauth2")
        .backend(4, "kc", "keycloak")
        .backend(5, "gw", "kong")
        // Vault: globs, + segments, a deny carving a hole in a glob, a token carrying policies.
        .role(1, "payments-admin")
        .role(1, "payments-read")
        .role(1, "ci-deploy")
        .role(1, "narrow-list")
        .vault_rule(1, "payments-admin", "secret/*", &["read", "list", "update"])
        .vault_rule(1, "payments-read", "secret/+/x", &["read"])
        .vault_rule(1, "ci-deploy", "secret/ci/*", &["read"])
        .vault_rule(1, "ci-deploy", "secret/ci/root-ca", &["deny"])
        .vault_rule(1, "narrow-list", "secret/payments/x", &["list"])
        .principal(1, "userpass:frank", "user")
        .principal(1, "userpass:nina", "user")
        .principal(1, "token:ci", "service")
        .grant(1, "principal", "userpass:frank", "role", "payments-admin")
        .grant(1, "principal", "userpass:nina", "role", "payments-admin")
        .grant(1, "principal", "userpass:nina", "role", "narrow-list")
        .credential(
            1,
            11,
            "acc-ci",
            "token:ci",
            &["ci-deploy", "payments-read", "default"],
        )
        .used(
            1,
            Some("acc-ci"),
            "token-ci",
            "read",
            "secret/ci/deploy-key",
        )
        .used(1, None, "frank", "read", "secret/payments/gateway")
        // PostgreSQL: a group chain and column grants.
        .principal(2, "carol", "user")
        .principal(2, "svc_pay", "user")
        .principal(2, "payments_read", "group")
        .principal(2, "payments_write", "group")
        .principal(2, "ivan", "user")
        .grant(2, "principal", "carol", "principal", "payments_read")
        .grant(2, "principal", "svc_pay", "principal", "payments_write")
        .grant(
            2,
            "principal",
            "payments_write",
            "principal",
            "payments_read",
        )
        .grant(2, "principal", "ivan", "principal", "pg_read_all_data")
        .perm(
            2,
            "column:payments.cards.last4:SELECT",
            "payments.cards.last4",
            "read",
            json!({"object_kind": "column", "privilege": "SELECT"}),
        )
        .grant(
            2,
            "principal",
            "payments_read",
            "permission",
            "column:payments.cards.last4:SELECT",
        )
        .perm(
            2,
            "table:payments.refunds:INSERT",
            "payments.refunds",
            "write",
            json!({"object_kind": "table", "privilege": "INSERT"}),
        )
        .grant(
            2,
            "principal",
            "payments_write",
            "permission",
            "table:payments.refunds:INSERT",
        )
        .used(
            2,
            Some("login:svc_pay"),
            "svc_pay",
            "INSERT",
            "payments.refunds",
        )
        // OAuth: scopes granted to a client and an account.
        .principal(3, "client:billing", "client")
        .principal(3, "account:bob", "user")
        .perm(
            3,
            "invoices:read",
            "invoices",
            "read",
            json!({"scope": "invoices:read"}),
        )
        .perm(
            3,
            "invoices:write",
            "invoices",
            "write",
            json!({"scope": "invoices:write"}),
        )
        .grant(
            3,
            "principal",
            "client:billing",
            "permission",
            "invoices:read",
        )
        .grant(
            3,
            "principal",
            "client:billing",
            "permission",
            "invoices:write",
        )
        .grant(3, "principal", "account:bob", "permission", "invoices:read")
        .used(3, None, "billing", "token.used", "invoices:write")
        .used(3, None, "bob", "grant.success", "invoices:read")
        // Keycloak: group → composite → nested composite, and a composite cycle.
        .principal(4, "u-amy", "user")
        .principal(4, "g-ops", "group")
        .role(4, "ops")
        .role(4, "deployer")
        .role(4, "base")
        .grant(4, "principal", "u-amy", "principal", "g-ops")
        .grant(4, "principal", "g-ops", "role", "ops")
        .grant(4, "role", "ops", "role", "deployer")
        .grant(4, "role", "deployer", "role", "base")
        .grant(4, "role", "base", "role", "ops")
        .perm(4, "scope:deploy", "deploy", "write", json!({}))
        .grant(4, "role", "base", "permission", "scope:deploy")
        // Kong: a backend kind with no dialect of its own: generic globs and deny.
        .principal(5, "c1", "client")
        .role(5, "acl/ops")
        .role(5, "acl/blocked")
        .grant(5, "principal", "c1", "role", "acl/ops")
        .perm(
            5,
            "acl-plugin/p1/allow",
            "route:admin-*",
            "other",
            json!({}),
        )
        .grant(5, "role", "acl/ops", "permission", "acl-plugin/p1/allow")
        .build()
}

fn who(ix: &AccessIndex, action: &str, resource: &str, backend: Option<&str>) -> WhoCanAnswer {
    ix.who_can(&WhoCanQuery {
        action: action.into(),
        resource: resource.into(),
        backend: backend.map(str::to_string),
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

fn hop_ids(p: &AccessPath) -> Vec<String> {
    p.hops.iter().map(|h| h.external_id.clone()).collect()
}

#[test]
fn vault_globs_and_plus_segments_answer_who_can() {
    let ix = org();
    let a = who(&ix, "read", "secret/payments/x", Some("bao"));
    // frank via secret/*, the CI token via secret/+/x; nina's most specific rule for that exact
    // path (secret/payments/x: list only) does not grant read, as Vault decides.
    assert_eq!(ids(&a.allowed), set(&["userpass:frank", "token:ci"]));
    let ci = a
        .allowed
        .iter()
        .find(|e| e.principal.external_id == "token:ci")
        .unwrap();
    assert_eq!(ci.matches[0].permission.external_id, "secret/+/x|read");
    assert_eq!(
        hop_ids(&ci.matches[0].paths[0]),
        ["token:ci", "acc-ci", "payments-read", "secret/+/x|read"]
    );
    // A pattern question: secret/+/x covers only part of secret/payments/*.
    let a = who(&ix, "read", "secret/payments/*", Some("bao"));
    let ci = a
        .allowed
        .iter()
        .find(|e| e.principal.external_id == "token:ci")
        .unwrap();
    assert_eq!(ci.matches[0].coverage, Coverage::Partial);
    let frank = a
        .allowed
        .iter()
        .find(|e| e.principal.external_id == "userpass:frank")
        .unwrap();
    assert_eq!(frank.matches[0].coverage, Coverage::Full);
    // list is its own capability.
    let a = who(&ix, "list", "secret/payments/x", Some("bao"));
    assert_eq!(ids(&a.allowed), set(&["userpass:frank", "userpass:nina"]));
}

#[test]
fn vault_deny_overrides_a_glob() {
    let ix = org();
    let a = who(&ix, "read", "secret/ci/root-ca", Some("bao"));
    assert!(
        !ids(&a.allowed).contains("token:ci"),
        "{:?}",
        ids(&a.allowed)
    );
    assert_eq!(ids(&a.denied), set(&["token:ci"]));
    assert_eq!(
        a.denied[0].matches[0].permission.external_id,
        "secret/ci/root-ca|deny"
    );
    let a = who(&ix, "read", "secret/ci/deploy-key", Some("bao"));
    assert!(ids(&a.allowed).contains("token:ci"));
    assert!(a.denied.is_empty());
    // A question wider than the deny: allowed, but only partly.
    let a = who(&ix, "read", "secret/ci/*", Some("bao"));
    let ci = a
        .allowed
        .iter()
        .find(|e| e.principal.external_id == "token:ci")
        .unwrap();
    assert_eq!(ci.matches[0].coverage, Coverage::Partial);
}

#[test]
fn sql_groups_columns_and_predefined_roles() {
    let ix = org();
    let a = who(&ix, "read", "payments.cards", Some("pg"));
    assert_eq!(
        ids(&a.allowed),
        set(&[
            "carol",
            "svc_pay",
            "payments_read",
            "payments_write",
            "ivan",
            "pg_read_all_data"
        ])
    );
    let svc = a
        .allowed
        .iter()
        .find(|e| e.principal.external_id == "svc_pay")
        .unwrap();
    assert_eq!(
        svc.matches[0].coverage,
        Coverage::Partial,
        "one column only"
    );
    assert_eq!(
        hop_ids(&svc.matches[0].paths[0]),
        [
            "svc_pay",
            "payments_write",
            "payments_read",
            "column:payments.cards.last4:SELECT"
        ]
    );
    let ivan = a
        .allowed
        .iter()
        .find(|e| e.principal.external_id == "ivan")
        .unwrap();
    assert!(ivan.matches[0].permission.implied);
    let a = who(&ix, "INSERT", "payments.refunds", Some("pg"));
    assert_eq!(ids(&a.allowed), set(&["svc_pay", "payments_write"]));
    // A Vault path is not a SQL name: PostgreSQL is not asked.
    let a = who(&ix, "read", "secret/payments/x", None);
    assert!(
        !a.backends_searched.contains(&"pg".to_string())
            || a.allowed.iter().all(|e| e.principal.backend != "pg")
    );
}

#[test]
fn scopes_and_a_backend_without_a_dialect() {
    let ix = org();
    let a = who(&ix, "read", "invoices", None);
    assert_eq!(ids(&a.allowed), set(&["client:billing", "account:bob"]));
    let a = who(&ix, "any", "invoices:write", Some("oidc"));
    assert_eq!(ids(&a.allowed), set(&["client:billing"]));
    let a = who(&ix, "any", "route:admin-users", Some("gw"));
    assert_eq!(ids(&a.allowed), set(&["c1"]));
    assert_eq!(
        hop_ids(&a.allowed[0].matches[0].paths[0]),
        ["c1", "acl/ops", "acl-plugin/p1/allow"]
    );
    // Asked of backends without Keycloak (where any word may be a role's name), an unknown
    // action is an error.
    let err = ix
        .who_can(&WhoCanQuery {
            action: "frobnicate".into(),
            resource: "x".into(),
            backend: Some("pg".into()),
            ..WhoCanQuery::default()
        })
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
}

/// A Keycloak realm as the connector writes it: roles carry the rights of their realm or
/// client (`realm-role:…`, `client-role:CLIENT:…`), reached through groups and composites.
fn keycloak_realm() -> AccessIndex {
    let role_perm = |f: Fixture, client: Option<&str>, role: &str| {
        let (id, role_id, resource) = match client {
            Some(c) => (
                format!("client-role:{c}:{role}"),
                format!("client:{c}:{role}"),
                format!("client {c}"),
            ),
            None => (
                format!("realm-role:{role}"),
                format!("realm:{role}"),
                "realm acme".to_string(),
            ),
        };
        f.role(9, &role_id)
            .perm(
                9,
                &id,
                &resource,
                "other",
                json!({"source": "role", "client": client, "realm": "acme", "role": role}),
            )
            .grant(9, "role", &role_id, "permission", &id)
    };
    let f = Fixture::default().backend(9, "kc", "keycloak");
    let f = role_perm(f, Some("hx-portal"), "orders-editor");
    let f = role_perm(f, Some("hx-portal"), "orders-viewer");
    let f = role_perm(f, None, "offline_access");
    let f = role_perm(f, None, "auditor");
    let mut f = f
        .principal(9, "u-kim", "user")
        .principal(9, "u-lee", "user")
        .principal(9, "group:g-sales", "group")
        .principal(9, "client:hx-portal", "client")
        .grant(9, "principal", "u-kim", "principal", "group:g-sales")
        .grant(9, "principal", "group:g-sales", "role", "realm:auditor")
        // auditor ⊃ orders-viewer (a composite realm role including a client role).
        .grant(
            9,
            "role",
            "realm:auditor",
            "role",
            "client:hx-portal:orders-viewer",
        )
        .grant(
            9,
            "principal",
            "u-lee",
            "role",
            "client:hx-portal:orders-editor",
        )
        .grant(9, "principal", "u-lee", "role", "realm:offline_access")
        .perm(
            9,
            "scope:offline_access",
            "offline_access",
            "other",
            json!({}),
        )
        .grant(
            9,
            "principal",
            "client:hx-portal",
            "permission",
            "scope:offline_access",
        )
        // lee's consent to hx-portal names the client scope offline_access, like the realm role.
        .credential(
            9,
            91,
            "consent/u-lee/hx-portal",
            "u-lee",
            &["offline_access"],
        );
    if let Some(c) = f.rows.credentials.last_mut() {
        c.kind = "refresh_token".into();
        c.client = Some("hx-portal".into());
    }
    f.build()
}

#[test]
fn keycloak_roles_are_rights_of_their_client_or_realm() {
    let ix = keycloak_realm();
    let a = who(&ix, "orders-editor", "hx-portal", None);
    assert_eq!(ids(&a.allowed), set(&["u-lee"]));
    assert_eq!(
        hop_ids(&a.allowed[0].matches[0].paths[0]),
        [
            "u-lee",
            "client:hx-portal:orders-editor",
            "client-role:hx-portal:orders-editor"
        ]
    );
    let a = who(&ix, "orders-viewer", "client hx-portal", None);
    assert_eq!(ids(&a.allowed), set(&["u-kim", "group:g-sales"]));
    assert_eq!(
        hop_ids(&a.allowed[1].matches[0].paths[0]),
        [
            "u-kim",
            "group:g-sales",
            "realm:auditor",
            "client:hx-portal:orders-viewer",
            "client-role:hx-portal:orders-viewer"
        ],
        "group inheritance and a composite"
    );
    let a = who(&ix, "any", "client hx-portal", None);
    assert_eq!(ids(&a.allowed), set(&["u-kim", "u-lee", "group:g-sales"]));
    let a = who(&ix, "any", "realm acme: auditor", None);
    assert_eq!(ids(&a.allowed), set(&["u-kim", "group:g-sales"]));
    assert!(who(&ix, "orders-editor", "realm acme", None)
        .allowed
        .is_empty());

    let e = ix
        .explain(&ExplainQuery {
            subject: "u-kim".into(),
            ..ExplainQuery::default()
        })
        .unwrap();
    let labels: BTreeSet<String> = e.subjects[0]
        .permissions
        .iter()
        .map(|p| p.permission.external_id.clone())
        .collect();
    assert_eq!(
        labels,
        set(&["realm-role:auditor", "client-role:hx-portal:orders-viewer"])
    );
}

#[test]
fn a_keycloak_consent_scope_names_the_client_scope_not_the_same_named_role() {
    let ix = keycloak_realm();
    let e = ix
        .explain(&ExplainQuery {
            subject: "91".into(),
            credential: true,
            ..ExplainQuery::default()
        })
        .unwrap();
    let s = &e.subjects[0];
    assert_eq!(s.credential_mode.as_deref(), Some("scopes ∩ principal"));
    let perms: Vec<&str> = s
        .permissions
        .iter()
        .map(|p| p.permission.external_id.as_str())
        .collect();
    assert_eq!(perms, ["scope:offline_access"]);
}

#[test]
fn composite_cycles_terminate_and_groups_give_paths() {
    let ix = org();
    let e = ix
        .explain(&ExplainQuery {
            subject: "u-amy".into(),
            ..ExplainQuery::default()
        })
        .unwrap();
    assert_eq!(e.subjects.len(), 1);
    let perms = &e.subjects[0].permissions;
    assert_eq!(perms.len(), 1);
    assert_eq!(
        hop_ids(&perms[0].paths[0]),
        ["u-amy", "g-ops", "ops", "deployer", "base", "scope:deploy"]
    );
    let why = ix
        .why("kc/principal/u-amy", "kc/permission/scope:deploy")
        .unwrap();
    assert!(why.granted);
    assert!(!why.paths.is_empty());
    let why = ix.why("kc/principal/g-ops", "scope:deploy").unwrap();
    assert!(why.granted);
}

#[test]
fn every_effective_permission_has_a_path_and_use_is_credited_narrowly() {
    let ix = org();
    for (i, node) in ix.graph.nodes.iter().enumerate() {
        if node.kind != AccessNodeKind::Principal {
            continue;
        }
        let (perms, _) = ix.effective(i as u32, None, 4);
        assert_eq!(perms.len(), ix.eff[i].len());
        for p in &perms {
            assert!(
                !p.paths.is_empty(),
                "{} → {} has no path",
                node.external_id,
                p.permission.id
            );
            let last = p.paths[0].hops.last().unwrap();
            assert_eq!(last.id, p.permission.id);
        }
    }
    let e = ix
        .explain(&ExplainQuery {
            subject: "token:ci".into(),
            ..ExplainQuery::default()
        })
        .unwrap();
    let p = &e.subjects[0].permissions;
    let used: Vec<&str> = p
        .iter()
        .filter(|x| x.uses > 0)
        .map(|x| x.permission.external_id.as_str())
        .collect();
    assert_eq!(used, ["secret/ci/*|read"]);
    // frank's read of secret/payments/gateway used secret/* (his only matching rule).
    let e = ix
        .explain(&ExplainQuery {
            subject: "frank".into(),
            ..ExplainQuery::default()
        })
        .unwrap();
    let read = e.subjects[0]
        .permissions
        .iter()
        .find(|x| x.permission.external_id == "secret/*|read")
        .unwrap();
    assert_eq!(read.uses, 2);
    // OAuth: only token.used counts; bob's grant.success is not a use of the scope.
    let bob = ix
        .explain(&ExplainQuery {
            subject: "account:bob".into(),
            ..ExplainQuery::default()
        })
        .unwrap();
    assert_eq!(bob.subjects[0].permissions[0].uses, 0);
}

#[test]
fn a_function_called_in_a_statement_uses_execute_on_it() {
    let routine = json!({"object_kind": "routine", "privilege": "EXECUTE"});
    let ix = Fixture::default()
        .backend(2, "pg", "postgres")
        .principal(2, "svc_reporting", "user")
        .principal(2, "reporting_refresh", "group")
        .grant(
            2,
            "principal",
            "svc_reporting",
            "principal",
            "reporting_refresh",
        )
        .perm(
            2,
            "routine:reporting.refresh_daily():EXECUTE",
            "reporting.refresh_daily()",
            "execute",
            routine.clone(),
        )
        .perm(
            2,
            "routine:billing.issue_invoice(integer, integer):EXECUTE",
            "billing.issue_invoice(integer, integer)",
            "execute",
            routine,
        )
        .grant(
            2,
            "principal",
            "reporting_refresh",
            "permission",
            "routine:reporting.refresh_daily():EXECUTE",
        )
        .grant(
            2,
            "principal",
            "svc_reporting",
            "permission",
            "routine:billing.issue_invoice(integer, integer):EXECUTE",
        )
        // pgaudit's message: the call is only in the statement text.
        .statement(
            2,
            "svc_reporting",
            "SELECT",
            r#"AUDIT: SESSION,4,1,READ,SELECT,,,"SELECT reporting.refresh_daily()",<not logged>"#,
        )
        // A schema-less call and another schema's function: no grant of this role.
        .statement(2, "svc_reporting", "SELECT", "SELECT now(), audit.stamp(1)")
        .build();
    let e = ix
        .explain(&ExplainQuery {
            subject: "svc_reporting".into(),
            ..ExplainQuery::default()
        })
        .unwrap();
    let uses = |id: &str| {
        e.subjects[0]
            .permissions
            .iter()
            .find(|p| p.permission.external_id == id)
            .unwrap_or_else(|| panic!("{id} not held"))
            .uses
    };
    assert_eq!(uses("routine:reporting.refresh_daily():EXECUTE"), 3);
    assert_eq!(
        uses("routine:billing.issue_invoice(integer, integer):EXECUTE"),
        0
    );
}

#[test]
fn credentials_carry_their_scopes_and_blast_radius_counts() {
    let ix = org();
    let e = ix
        .explain(&ExplainQuery {
            subject: "11".into(),
            credential: true,
            ..ExplainQuery::default()
        })
        .unwrap();
    let s = &e.subjects[0];
    assert_eq!(s.credential_mode.as_deref(), Some("scopes"));
    let got: BTreeSet<String> = s
        .permissions
        .iter()
        .map(|p| p.permission.external_id.clone())
        .collect();
    assert_eq!(
        got,
        set(&[
            "secret/+/x|read",
            "secret/ci/*|read",
            "secret/ci/root-ca|deny"
        ])
    );
    let br = &s.blast_radius;
    assert_eq!(br.total.pairs, 2);
    assert_eq!(br.total.denied, 1);
    assert_eq!(br.per_backend[0].backend, "bao");
    assert_eq!(br.items.len(), 2);
    let e = ix
        .explain(&ExplainQuery {
            subject: "nobody".into(),
            ..ExplainQuery::default()
        })
        .unwrap();
    assert!(e.subjects.is_empty());
    assert!(e.hint.unwrap().contains("portcullis sync"));
}

#[test]
fn matrix_states_filters_paging_and_overview() {
    let ix = org();
    let all = ix.matrix(&MatrixQuery::default(), now()).unwrap();
    let totals = all.totals;
    assert_eq!(
        totals.granted_used + totals.granted_unused + totals.not_granted,
        u64::from(all.total_rows) * u64::from(all.total_columns)
    );
    let bins: u64 = all
        .overview
        .bins
        .iter()
        .map(|b| b.granted_used + b.granted_unused + b.not_granted)
        .sum();
    assert_eq!(
        bins,
        u64::from(all.total_rows) * u64::from(all.total_columns)
    );
    // Groups are not rows unless asked.
    assert!(all
        .rows
        .iter()
        .all(|r| r.principal.principal_kind != Some(PrincipalKind::Group)));
    let pg = ix
        .matrix(
            &MatrixQuery {
                backends: vec!["pg".into()],
                actions: vec![Action::Write],
                ..MatrixQuery::default()
            },
            now(),
        )
        .unwrap();
    assert_eq!(pg.total_rows, 1);
    assert_eq!(pg.rows[0].principal.external_id, "svc_pay");
    assert_eq!(
        pg.cells,
        vec![MatrixCell {
            row: 0,
            col: 0,
            state: CellState::GrantedUsed
        }]
    );
    let oidc = ix
        .matrix(
            &MatrixQuery {
                backends: vec!["oidc".into()],
                sort: MatrixSort::Unused,
                ..MatrixQuery::default()
            },
            now(),
        )
        .unwrap();
    assert_eq!(oidc.rows[0].principal.external_id, "client:billing");
    assert_eq!((oidc.rows[0].used, oidc.rows[0].unused), (1, 1));
    // Outside the window the use no longer counts.
    let later = now() + chrono::Duration::days(200);
    let stale = ix
        .matrix(
            &MatrixQuery {
                backends: vec!["oidc".into()],
                ..MatrixQuery::default()
            },
            later,
        )
        .unwrap();
    assert_eq!(stale.totals.granted_used, 0);
    let page = ix
        .matrix(
            &MatrixQuery {
                row_limit: Some(1),
                col_limit: Some(1),
                ..MatrixQuery::default()
            },
            now(),
        )
        .unwrap();
    assert_eq!(page.rows.len(), 1);
    assert_eq!(page.columns.len(), 1);
    assert!(page.cells.iter().all(|c| c.row == 0 && c.col == 0));
    let svg = super::matrix_svg(&all, (640, 400)).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("granted and used"));
    let err = ix
        .matrix(
            &MatrixQuery {
                backends: vec!["nope".into()],
                ..MatrixQuery::default()
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
}

#[test]
fn neighbourhood_expands_by_node_id() {
    let ix = org();
    let n = ix
        .neighbourhood(&NeighbourhoodQuery {
            node: "kc/role/ops".into(),
            depth: Some(1),
            limit: None,
        })
        .unwrap();
    let ids: BTreeSet<String> = n.nodes.iter().map(|x| x.node.id.clone()).collect();
    assert_eq!(
        ids,
        set(&[
            "kc/role/ops",
            "kc/role/deployer",
            "kc/role/base",
            "kc/principal/g-ops"
        ])
    );
    assert!(n.edges.iter().any(|e| e.from == "kc/role/base"
        && e.to == "kc/role/ops"
        && e.kind == AccessEdgeKind::Includes));
    let small = ix
        .neighbourhood(&NeighbourhoodQuery {
            node: "kc/role/ops".into(),
            depth: Some(3),
            limit: Some(2),
        })
        .unwrap();
    assert!(small.truncated);
    assert_eq!(small.nodes.len(), 2);
    let cred = ix
        .neighbourhood(&NeighbourhoodQuery {
            node: "bao/credential/acc-ci".into(),
            ..NeighbourhoodQuery::default()
        })
        .unwrap();
    assert!(cred.edges.iter().any(|e| e.kind == AccessEdgeKind::HeldBy));
    assert!(ix
        .neighbourhood(&NeighbourhoodQuery {
            node: "kc/role/none".into(),
            ..NeighbourhoodQuery::default()
        })
        .is_err());
}

#[tokio::test]
async fn the_workspace_reuses_the_index_until_the_cache_changes() {
    let dir = tempfile::tempdir().unwrap();
    let ws = crate::Workspace::open(dir.path()).await.unwrap();
    let b = ws
        .store()
        .insert_backend(
            "pg",
            BackendKind::Postgres,
            "postgres://x@h/d",
            &CredentialRef::None,
            &json!({}),
        )
        .await
        .unwrap();
    let inv = |role: &str| Inventory {
        principals: vec![Principal {
            external_id: "alice".into(),
            kind: PrincipalKind::User,
            name: "alice".into(),
            enabled: true,
            attrs: json!({}),
        }],
        permissions: vec![Permission {
            external_id: format!("table:{role}:SELECT"),
            name: format!("SELECT on {role}"),
            resource: role.into(),
            action: Action::Read,
            raw: json!({"object_kind": "table", "privilege": "SELECT"}),
        }],
        grants: vec![Grant {
            from_kind: NodeKind::Principal,
            from_id: "alice".into(),
            to_kind: NodeKind::Permission,
            to_id: format!("table:{role}:SELECT"),
        }],
        ..Inventory::default()
    };
    ws.store()
        .replace_inventory(b.id, &inv("a.t"))
        .await
        .unwrap();
    let first = ws.access_index().await.unwrap();
    let again = ws.access_index().await.unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&first, &again),
        "unchanged cache: same index"
    );
    let q = WhoCanQuery {
        action: "read".into(),
        resource: "a.t".into(),
        ..WhoCanQuery::default()
    };
    assert_eq!(ws.access_who_can(&q).await.unwrap().allowed.len(), 1);
    ws.store()
        .replace_inventory(b.id, &inv("b.t"))
        .await
        .unwrap();
    let rebuilt = ws.access_index().await.unwrap();
    assert!(!std::sync::Arc::ptr_eq(&first, &rebuilt), "a sync rebuilds");
    assert!(ws.access_who_can(&q).await.unwrap().allowed.is_empty());
}
