//! Scenario fixtures for the review rules: a small backend in, the findings out, one rule at a
//! time (and each rule's near miss, which must stay silent).

use chrono::{DateTime, Duration, Utc};
use portcullis_model::{
    Action, BackendKind, ConfidenceLevel, CredentialKind, CredentialStatus, Exemption, Finding,
    FindingsRun, Grant, NodeKind, Outcome, PrincipalKind, ReviewSettings,
};
use serde_json::{json, Value};

use super::input::*;
use super::rules::{self, RuleSet};
use super::{evaluate_inputs, AccessSnapshot};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn backend(name: &str, kind: BackendKind) -> BackendInput {
    BackendInput {
        name: name.into(),
        kind,
        principals: vec![],
        roles: vec![],
        permissions: vec![],
        grants: vec![],
        credentials: vec![],
        usage: vec![],
        facts: vec![],
        has_older_events: true,
        revocations: vec![],
    }
}

fn principal(b: &mut BackendInput, id: &str, kind: PrincipalKind, name: &str, enabled: bool) {
    b.principals.push(PrincipalIn {
        external_id: id.into(),
        kind,
        name: name.into(),
        enabled,
        account_of: None,
    });
}

fn perm(b: &mut BackendInput, id: &str, resource: &str, action: Action, raw: Value) {
    b.permissions.push(PermissionIn {
        external_id: id.into(),
        name: id.into(),
        resource: resource.into(),
        action,
        raw,
    });
}

fn role(b: &mut BackendInput, id: &str) {
    b.roles.push((id.into(), id.into()));
}

fn grant(b: &mut BackendInput, fk: NodeKind, from: &str, tk: NodeKind, to: &str) {
    b.grants.push(Grant {
        from_kind: fk,
        from_id: from.into(),
        to_kind: tk,
        to_id: to.into(),
    });
}

#[allow(clippy::too_many_arguments)]
fn cred(
    b: &mut BackendInput,
    row: i64,
    id: &str,
    kind: CredentialKind,
    who: &str,
    scopes: &[&str],
    issued: Option<DateTime<Utc>>,
    expires: Option<DateTime<Utc>>,
) {
    b.credentials.push(CredentialIn {
        id: Some(row),
        external_id: id.into(),
        kind: CredKind::Cached(kind),
        principal: Some(who.into()),
        client: None,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        issued_at: issued,
        expires_at: expires,
        status: CredentialStatus::Active,
        attrs: json!({}),
        origin: "sync".into(),
    });
}

fn used(
    b: &mut BackendInput,
    cred: Option<&str>,
    actor: &str,
    action: &str,
    resource: &str,
    at: DateTime<Utc>,
) {
    let id = at.timestamp_millis() << 20;
    b.usage.push(UseIn {
        credential: cred.map(str::to_string),
        actor: Some(actor.into()),
        action: action.into(),
        resource: Some(resource.into()),
        outcome: Outcome::Allow,
        source_ip: Some("10.0.0.1".into()),
        count: 1,
        first_id: id,
        last_id: id,
        first_at: at,
        last_at: at,
    });
}

fn run_with(inputs: &[BackendInput], settings: &ReviewSettings) -> FindingsRun {
    let rules = RuleSet::resolve(settings, &[]).unwrap();
    let (run, _): (FindingsRun, AccessSnapshot) = evaluate_inputs(
        inputs,
        settings,
        &rules,
        now(),
        now() - Duration::days(90),
        90,
        &[],
    );
    run
}

fn run(inputs: &[BackendInput]) -> FindingsRun {
    run_with(inputs, &ReviewSettings::default())
}

/// (principal name, subject id) of one rule's findings, sorted.
fn of(run: &FindingsRun, rule: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = run
        .findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| (f.principal.name.clone(), f.subject.id.clone()))
        .collect();
    v.sort();
    v
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.into(), b.into())
}

fn find<'a>(run: &'a FindingsRun, rule: &str, who: &str) -> &'a Finding {
    run.findings
        .iter()
        .find(|f| f.rule == rule && f.principal.name == who)
        .unwrap_or_else(|| panic!("no {rule} finding for {who}: {:#?}", run.findings))
}

fn pg_table_perm(b: &mut BackendInput, object: &str, privilege: &str, action: Action) {
    let id = format!("table:{object}:{privilege}");
    perm(
        b,
        &id,
        object,
        action,
        json!({"object": object, "object_kind": "table", "privilege": privilege}),
    );
}

/// bob: billing_read + reporting_read, reads only reporting.daily; carol: never active.
fn pg_bob() -> BackendInput {
    let mut b = backend("pg", BackendKind::Postgres);
    principal(&mut b, "bob", PrincipalKind::User, "bob", true);
    principal(&mut b, "carol", PrincipalKind::User, "carol", true);
    principal(
        &mut b,
        "billing_read",
        PrincipalKind::Group,
        "billing_read",
        false,
    );
    principal(
        &mut b,
        "reporting_read",
        PrincipalKind::Group,
        "reporting_read",
        false,
    );
    pg_table_perm(&mut b, "billing.invoices", "SELECT", Action::Read);
    pg_table_perm(&mut b, "reporting.daily", "SELECT", Action::Read);
    for (from, to) in [
        ("bob", "billing_read"),
        ("bob", "reporting_read"),
        ("carol", "reporting_read"),
    ] {
        grant(&mut b, NodeKind::Principal, from, NodeKind::Principal, to);
    }
    grant(
        &mut b,
        NodeKind::Principal,
        "billing_read",
        NodeKind::Permission,
        "table:billing.invoices:SELECT",
    );
    grant(
        &mut b,
        NodeKind::Principal,
        "reporting_read",
        NodeKind::Permission,
        "table:reporting.daily:SELECT",
    );
    let t = now() - Duration::days(3);
    cred(
        &mut b,
        1,
        "login:bob",
        CredentialKind::Login,
        "bob",
        &[],
        None,
        Some(now() + Duration::days(30)),
    );
    cred(
        &mut b,
        2,
        "login:carol",
        CredentialKind::Login,
        "carol",
        &[],
        None,
        Some(now() + Duration::days(30)),
    );
    used(&mut b, Some("login:bob"), "bob", "LOGIN", "acme", t);
    used(
        &mut b,
        Some("login:bob"),
        "bob",
        "SELECT",
        "reporting.daily",
        t,
    );
    b
}

#[test]
fn unused_grant_names_the_grant_and_proposes_what_was_used() {
    let r = run(&[pg_bob()]);
    assert_eq!(
        of(&r, rules::UNUSED_GRANT),
        vec![pair("bob", "billing_read")]
    );
    let f = find(&r, rules::UNUSED_GRANT, "bob");
    assert_eq!(f.recommendation.proposed, vec!["reporting_read"]);
    assert_eq!(
        f.evidence.paths[0].hops[..2],
        ["principal bob", "principal billing_read"]
    );
    assert!(!f.evidence.events.is_empty());
    assert_eq!(f.grant_edges.len(), 1);
    // carol never did anything: her login is judged instead of her grants.
    assert_eq!(
        of(&r, rules::UNUSED_CREDENTIAL),
        vec![pair("carol", "login:carol")]
    );
}

#[test]
fn without_audit_data_usage_rules_do_not_run_and_coverage_says_so() {
    let mut b = pg_bob();
    b.usage.clear();
    b.has_older_events = false;
    let r = run(&[b]);
    assert!(of(&r, rules::UNUSED_GRANT).is_empty());
    assert!(of(&r, rules::UNUSED_CREDENTIAL).is_empty());
    let c = &r.coverage[0];
    assert_eq!(c.level, ConfidenceLevel::Unavailable);
    assert!(
        c.notes[0].starts_with("no audit data for this backend"),
        "{:?}",
        c.notes
    );
    assert!(c
        .unavailable_rules
        .contains(&rules::UNUSED_GRANT.to_string()));
}

/// Keycloak records logins, logouts and admin operations, never which role a request used: its
/// role rights can be neither used nor unused in the review, while a dormant account still is.
#[test]
fn keycloak_roles_are_grants_whose_use_its_events_cannot_show() {
    let mut b = backend("kc", BackendKind::Keycloak);
    principal(&mut b, "u-kim", PrincipalKind::User, "kim", true);
    principal(&mut b, "u-lee", PrincipalKind::User, "lee", true);
    role(&mut b, "client:portal:editor");
    perm(
        &mut b,
        "client-role:portal:editor",
        "client portal",
        Action::Other,
        json!({"client": "portal", "realm": "r", "role": "editor"}),
    );
    grant(
        &mut b,
        NodeKind::Role,
        "client:portal:editor",
        NodeKind::Permission,
        "client-role:portal:editor",
    );
    for u in ["u-kim", "u-lee"] {
        grant(
            &mut b,
            NodeKind::Principal,
            u,
            NodeKind::Role,
            "client:portal:editor",
        );
    }
    used(
        &mut b,
        None,
        "u-kim",
        "LOGOUT",
        "client:portal",
        now() - Duration::days(3),
    );
    let r = run(&[b]);
    assert!(of(&r, rules::UNUSED_GRANT).is_empty(), "{:#?}", r.findings);
    let c = &r.coverage[0];
    assert!(c
        .unavailable_rules
        .contains(&rules::UNUSED_GRANT.to_string()));
    assert!(
        c.notes.iter().any(|n| n.contains("which role or scope")),
        "{:?}",
        c.notes
    );
    assert_eq!(of(&r, rules::DORMANT_PRINCIPAL), vec![pair("lee", "u-lee")]);
}

#[test]
fn a_log_that_starts_inside_the_window_gives_partial_confidence() {
    let mut b = pg_bob();
    b.has_older_events = false;
    let r = run(&[b]);
    assert_eq!(r.coverage[0].level, ConfidenceLevel::Partial);
    let f = find(&r, rules::UNUSED_GRANT, "bob");
    assert_eq!(f.confidence.level, ConfidenceLevel::Partial);
    assert!(f.confidence.note.contains("days into the 90-day window"));
}

fn vault() -> BackendInput {
    let mut b = backend("bao", BackendKind::Vault);
    for (id, path, action, caps) in [
        ("secret/*|read", "secret/*", Action::Read, json!(["read"])),
        (
            "secret/*|write",
            "secret/*",
            Action::Write,
            json!(["create", "update"]),
        ),
        ("secret/*|admin", "secret/*", Action::Admin, json!(["sudo"])),
        (
            "secret/data/billing/*|read",
            "secret/data/billing/*",
            Action::Read,
            json!(["read"]),
        ),
        (
            "secret/data/billing/*|write",
            "secret/data/billing/*",
            Action::Write,
            json!(["update"]),
        ),
        ("*|admin", "*", Action::Admin, json!(["sudo"])),
    ] {
        perm(
            &mut b,
            id,
            path,
            action,
            json!({"path": path, "capabilities": caps}),
        );
    }
    for r in ["payments-admin", "billing-rw", "ops-admin", "default"] {
        role(&mut b, r);
    }
    for (r, p) in [
        ("payments-admin", "secret/*|read"),
        ("payments-admin", "secret/*|write"),
        ("payments-admin", "secret/*|admin"),
        ("billing-rw", "secret/data/billing/*|read"),
        ("billing-rw", "secret/data/billing/*|write"),
        ("ops-admin", "*|admin"),
    ] {
        grant(&mut b, NodeKind::Role, r, NodeKind::Permission, p);
    }
    // frank: entity + userpass user, linked as the server links them (the entity's alias names
    // the user); the token is the entity's. The entity's own name is server-generated.
    principal(&mut b, "ent-frank", PrincipalKind::User, "frank", true);
    principal(&mut b, "userpass:frank", PrincipalKind::User, "frank", true);
    b.principals.last_mut().unwrap().account_of = Some("ent-frank".into());
    grant(
        &mut b,
        NodeKind::Principal,
        "userpass:frank",
        NodeKind::Principal,
        "ent-frank",
    );
    grant(
        &mut b,
        NodeKind::Principal,
        "userpass:frank",
        NodeKind::Role,
        "payments-admin",
    );
    let t = now() - Duration::days(1);
    cred(
        &mut b,
        10,
        "acc-frank",
        CredentialKind::Accessor,
        "ent-frank",
        &["default", "payments-admin"],
        Some(t),
        Some(now() + Duration::days(30)),
    );
    used(
        &mut b,
        Some("acc-frank"),
        "frank",
        "update",
        "auth/userpass/login/frank",
        t,
    );
    used(
        &mut b,
        Some("acc-frank"),
        "frank",
        "read",
        "secret/data/payments/hsm",
        t,
    );
    // alice writes billing.
    principal(&mut b, "userpass:alice", PrincipalKind::User, "alice", true);
    grant(
        &mut b,
        NodeKind::Principal,
        "userpass:alice",
        NodeKind::Role,
        "billing-rw",
    );
    cred(
        &mut b,
        11,
        "acc-alice",
        CredentialKind::Accessor,
        "userpass:alice",
        &["billing-rw"],
        Some(t),
        Some(now() + Duration::days(30)),
    );
    used(
        &mut b,
        Some("acc-alice"),
        "alice",
        "update",
        "secret/data/billing/stripe",
        t,
    );
    // trent holds ops-admin and never logs in.
    principal(&mut b, "userpass:trent", PrincipalKind::User, "trent", true);
    grant(
        &mut b,
        NodeKind::Principal,
        "userpass:trent",
        NodeKind::Role,
        "ops-admin",
    );
    b
}

#[test]
fn write_where_only_reads_were_used() {
    let r = run(&[vault()]);
    assert_eq!(
        of(&r, rules::WRITE_WHERE_READ_USED),
        vec![pair("frank", "payments-admin")]
    );
    let f = find(&r, rules::WRITE_WHERE_READ_USED, "frank");
    assert_eq!(
        f.recommendation.proposed,
        vec!["read secret/data/payments/hsm"]
    );
}

#[test]
fn wildcard_and_admin_grants_and_the_merged_principal() {
    let r = run(&[vault()]);
    assert_eq!(
        of(&r, rules::WILDCARD_ADMIN_GRANT),
        vec![pair("frank", "payments-admin"), pair("trent", "ops-admin")]
    );
    // frank's entity and userpass user are one subject; the used grant is not unused.
    let f = find(&r, rules::WILDCARD_ADMIN_GRANT, "frank");
    assert_eq!(f.principal.members.len(), 2);
    assert!(
        of(&r, rules::UNUSED_GRANT).is_empty(),
        "{:?}",
        of(&r, rules::UNUSED_GRANT)
    );
    // The default policy is built in and never judged.
    assert!(r.findings.iter().all(|f| f.subject.id != "default"));
}

#[test]
fn dormant_principal_without_credentials() {
    let r = run(&[vault()]);
    assert_eq!(
        of(&r, rules::DORMANT_PRINCIPAL),
        vec![pair("trent", "userpass:trent")]
    );
}

#[test]
fn a_vault_login_is_not_a_use_of_the_token_it_creates() {
    let mut b = vault();
    cred(
        &mut b,
        12,
        "acc-new",
        CredentialKind::Accessor,
        "userpass:alice",
        &["billing-rw"],
        Some(now()),
        Some(now() + Duration::days(30)),
    );
    used(
        &mut b,
        Some("acc-new"),
        "alice",
        "update",
        "auth/userpass/login/alice",
        now() - Duration::hours(1),
    );
    let r = run(&[b]);
    assert_eq!(
        of(&r, rules::UNUSED_CREDENTIAL),
        vec![pair("alice", "acc-new")]
    );
}

#[test]
fn unused_scope_on_one_credential_when_another_uses_it() {
    let mut b = vault();
    let t = now() - Duration::days(2);
    // Two tokens of alice carry billing-rw; only the first exercised it.
    cred(
        &mut b,
        13,
        "acc-alice-2",
        CredentialKind::Accessor,
        "userpass:alice",
        &["billing-rw", "payments-admin"],
        Some(t),
        Some(now() + Duration::days(30)),
    );
    used(
        &mut b,
        Some("acc-alice-2"),
        "alice",
        "read",
        "secret/data/payments/x",
        t,
    );
    let r = run(&[b]);
    assert_eq!(
        of(&r, rules::UNUSED_CREDENTIAL_SCOPE),
        vec![pair("alice", "acc-alice-2#billing-rw")]
    );
}

#[test]
fn never_expiring_lifetime_and_periodic_tokens() {
    let mut b = backend("bao", BackendKind::Vault);
    principal(&mut b, "token:svc", PrincipalKind::Service, "svc", true);
    let issued = now() - Duration::days(1);
    cred(
        &mut b,
        1,
        "no-ttl",
        CredentialKind::Accessor,
        "token:svc",
        &[],
        Some(issued),
        None,
    );
    cred(
        &mut b,
        2,
        "ten-years",
        CredentialKind::Accessor,
        "token:svc",
        &[],
        Some(issued),
        Some(issued + Duration::days(3650)),
    );
    cred(
        &mut b,
        3,
        "periodic",
        CredentialKind::Accessor,
        "token:svc",
        &[],
        Some(issued),
        Some(now() + Duration::hours(20)),
    );
    cred(
        &mut b,
        4,
        "month",
        CredentialKind::Accessor,
        "token:svc",
        &[],
        Some(issued),
        Some(issued + Duration::days(32)),
    );
    cred(
        &mut b,
        5,
        "half-year",
        CredentialKind::Accessor,
        "token:svc",
        &[],
        Some(issued),
        Some(issued + Duration::days(180)),
    );
    b.credentials[2].attrs = json!({"audit_hash": "hmac-sha256:p"});
    b.facts.push(FactIn {
        event_id: 1,
        at: issued,
        credential: None,
        actor: Some("root".into()),
        action: "update".into(),
        outcome: Outcome::Allow,
        periodic: true,
        created_accessor: Some("hmac-sha256:p".into()),
        text: None,
    });
    for c in ["no-ttl", "ten-years", "periodic", "month", "half-year"] {
        used(
            &mut b,
            Some(c),
            "svc",
            "read",
            "secret/x",
            now() - Duration::hours(1),
        );
    }
    let r = run(&[b]);
    assert_eq!(
        of(&r, rules::NEVER_EXPIRING),
        vec![
            pair("svc", "no-ttl"),
            pair("svc", "periodic"),
            pair("svc", "ten-years")
        ]
    );
    assert_eq!(
        of(&r, rules::LIFETIME_EXCEEDS_POLICY),
        vec![pair("svc", "half-year")]
    );
    let mut s = ReviewSettings::default();
    s.params
        .insert("never-expiring-credential.days".into(), 100);
    let r2 = run_with(&[r_input_again()], &s);
    assert!(of(&r2, rules::NEVER_EXPIRING).contains(&pair("svc", "half-year")));
}

fn r_input_again() -> BackendInput {
    let mut b = backend("bao", BackendKind::Vault);
    principal(&mut b, "token:svc", PrincipalKind::Service, "svc", true);
    let issued = now() - Duration::days(1);
    cred(
        &mut b,
        5,
        "half-year",
        CredentialKind::Accessor,
        "token:svc",
        &[],
        Some(issued),
        Some(issued + Duration::days(180)),
    );
    b
}

/// OAuth: alice's refresh token and the access tokens minted from it are one family.
fn oauth() -> BackendInput {
    let mut b = backend("oidc", BackendKind::Oauth2);
    principal(&mut b, "account:alice", PrincipalKind::User, "alice", true);
    principal(&mut b, "account:carol", PrincipalKind::User, "carol", true);
    principal(
        &mut b,
        "client:legacy",
        PrincipalKind::Client,
        "legacy",
        true,
    );
    for s in ["invoices:read", "openid", "admin"] {
        perm(
            &mut b,
            s,
            s,
            if s == "admin" {
                Action::Admin
            } else {
                Action::Read
            },
            json!({"scope": s}),
        );
    }
    grant(
        &mut b,
        NodeKind::Principal,
        "account:alice",
        NodeKind::Permission,
        "invoices:read",
    );
    grant(
        &mut b,
        NodeKind::Principal,
        "account:alice",
        NodeKind::Permission,
        "openid",
    );
    grant(
        &mut b,
        NodeKind::Principal,
        "client:legacy",
        NodeKind::Permission,
        "admin",
    );
    let t = now() - Duration::days(1);
    cred(
        &mut b,
        1,
        "rt-alice",
        CredentialKind::RefreshToken,
        "account:alice",
        &["openid", "invoices:read"],
        Some(t),
        None,
    );
    cred(
        &mut b,
        2,
        "at-alice",
        CredentialKind::AccessToken,
        "account:alice",
        &["invoices:read"],
        Some(t),
        None,
    );
    cred(
        &mut b,
        3,
        "rt-carol",
        CredentialKind::RefreshToken,
        "account:carol",
        &["openid"],
        Some(t),
        None,
    );
    cred(
        &mut b,
        4,
        "at-legacy",
        CredentialKind::AccessToken,
        "client:legacy",
        &["admin"],
        Some(t),
        None,
    );
    for c in &mut b.credentials {
        c.client = Some(
            if c.external_id.contains("legacy") {
                "legacy"
            } else {
                "dash"
            }
            .into(),
        );
    }
    used(
        &mut b,
        Some("at-alice"),
        "alice",
        "token.used",
        "invoices:read",
        t,
    );
    // Issuance is not use.
    used(
        &mut b,
        Some("rt-carol"),
        "carol",
        "refresh_token.saved",
        "openid",
        t,
    );
    b
}

#[test]
fn oauth_families_protocol_scopes_and_unknown_expiry() {
    let r = run(&[oauth()]);
    // alice used her grant's access token: nothing; carol's refresh token was only issued.
    assert_eq!(
        of(&r, rules::UNUSED_CREDENTIAL),
        vec![pair("carol", "rt-carol"), pair("legacy", "at-legacy")]
    );
    // openid is a protocol scope, not an API grant.
    assert!(
        of(&r, rules::UNUSED_GRANT).is_empty(),
        "{:?}",
        of(&r, rules::UNUSED_GRANT)
    );
    assert_eq!(
        of(&r, rules::WILDCARD_ADMIN_GRANT),
        vec![pair("legacy", "admin")]
    );
    // Expiry unknown from an event log: no never-expiring guess, and the coverage says so.
    assert!(of(&r, rules::NEVER_EXPIRING).is_empty());
    assert!(r.coverage[0]
        .notes
        .iter()
        .any(|n| n.contains("expiry unknown for 3")));
}

/// The token lookup's `period` decides; the audit log's record of the creation is read only for
/// a credential synced before lookups recorded it (no `period` key at all).
#[test]
fn periodic_tokens_from_the_lookup_and_the_audit_fallback_only_without_it() {
    let mut b = backend("bao", BackendKind::Vault);
    principal(&mut b, "token:svc", PrincipalKind::Service, "svc", true);
    let issued = now() - Duration::days(1);
    for (row, id) in [
        (1, "lookup-periodic"),
        (2, "lookup-not-periodic"),
        (3, "old-cache"),
    ] {
        cred(
            &mut b,
            row,
            id,
            CredentialKind::Accessor,
            "token:svc",
            &[],
            Some(issued),
            Some(now() + Duration::hours(20)),
        );
        used(
            &mut b,
            Some(id),
            "svc",
            "read",
            "secret/x",
            now() - Duration::hours(1),
        );
    }
    b.credentials[0].attrs = json!({"period": 86400, "periodic_forever": true});
    // The audit log says periodic, the lookup says not: the lookup is the token as it is now.
    b.credentials[1].attrs =
        json!({"period": null, "periodic_forever": false, "audit_hash": "hmac-sha256:q"});
    b.credentials[2].attrs = json!({"audit_hash": "hmac-sha256:p"});
    for (i, h) in ["hmac-sha256:p", "hmac-sha256:q"].into_iter().enumerate() {
        b.facts.push(FactIn {
            event_id: i as i64 + 1,
            at: issued,
            credential: None,
            actor: Some("root".into()),
            action: "update".into(),
            outcome: Outcome::Allow,
            periodic: true,
            created_accessor: Some(h.into()),
            text: None,
        });
    }
    let r = run(&[b]);
    assert_eq!(
        of(&r, rules::NEVER_EXPIRING),
        vec![pair("svc", "lookup-periodic"), pair("svc", "old-cache")]
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.subject.id == "lookup-periodic")
        .unwrap();
    assert!(
        f.evidence.facts[0].contains("period 24h, no explicit max TTL"),
        "{:?}",
        f.evidence.facts
    );
    assert!(
        f.confidence.note.contains("token lookup"),
        "{}",
        f.confidence.note
    );
    let old = r
        .findings
        .iter()
        .find(|f| f.subject.id == "old-cache")
        .unwrap();
    assert!(
        old.confidence.note.contains("audit log"),
        "{}",
        old.confidence.note
    );
}

/// OAuth client secrets (from the server's event log): expiry as the server states it, their own
/// family (never the head of a token family), and used when the client last authenticated.
#[test]
fn oauth_client_secrets_expiry_and_last_authentication() {
    let mut b = oauth();
    principal(&mut b, "client:ci", PrincipalKind::Client, "ci", true);
    let secret = |client: &str, expires: Option<DateTime<Utc>>, last_auth: DateTime<Utc>| {
        CredentialIn {
            id: Some(100),
            external_id: format!("client_secret:{client}"),
            kind: CredKind::Cached(CredentialKind::ApiKey),
            principal: Some(format!("client:{client}")),
            client: Some(client.into()),
            scopes: vec![],
            // Issued after the client's tokens: as a family member it would become the head.
            issued_at: Some(now() - Duration::hours(1)),
            expires_at: expires,
            status: CredentialStatus::Active,
            attrs: json!({"secret_of": "client", "last_authenticated_at": last_auth}),
            origin: "sync".into(),
        }
    };
    b.credentials.push(secret(
        "legacy",
        Some(now() + Duration::days(60)),
        now() - Duration::days(2),
    ));
    // Last authenticated before the 90-day lookback.
    b.credentials
        .push(secret("ci", None, now() - Duration::days(200)));
    let r = run(&[b]);
    assert_eq!(
        of(&r, rules::NEVER_EXPIRING),
        vec![pair("ci", "client_secret:ci")]
    );
    // legacy's token is still judged as its grant's head; its secret was used two days ago.
    assert_eq!(
        of(&r, rules::UNUSED_CREDENTIAL),
        vec![
            pair("carol", "rt-carol"),
            pair("ci", "client_secret:ci"),
            pair("legacy", "at-legacy")
        ]
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == rules::UNUSED_CREDENTIAL && f.subject.id == "client_secret:ci")
        .unwrap();
    assert!(
        f.evidence.facts[0].starts_with("last use"),
        "{:?}",
        f.evidence.facts
    );
}

#[test]
fn disabled_principal_live_credential_from_state_or_refusal() {
    let mut b = oauth();
    b.facts.push(FactIn {
        event_id: 9,
        at: now() - Duration::hours(2),
        credential: Some("rt-alice".into()),
        actor: Some("alice".into()),
        action: "grant.error".into(),
        outcome: Outcome::Deny,
        periodic: false,
        created_accessor: None,
        text: Some("invalid_grant: refresh token invalid (referenced account not found)".into()),
    });
    let r = run(&[b]);
    assert_eq!(
        of(&r, rules::DISABLED_LIVE),
        vec![pair("alice", "rt-alice")]
    );
    let f = find(&r, rules::DISABLED_LIVE, "alice");
    assert_eq!(f.confidence.level, ConfidenceLevel::Partial);
    assert_eq!(f.evidence.events[0].event_id, 9);
    // A disabled principal's unused grants are not judged: its credentials are the problem.
    let mut v = vault();
    v.principals[0].enabled = false;
    let r = run(&[v]);
    assert_eq!(
        of(&r, rules::DISABLED_LIVE),
        vec![pair("frank", "acc-frank")]
    );
    assert!(of(&r, rules::WRITE_WHERE_READ_USED).is_empty());
}

#[test]
fn superuser_expired_password_and_pg_attributes() {
    let mut b = backend("pg", BackendKind::Postgres);
    principal(&mut b, "migrate", PrincipalKind::User, "migrate", true);
    principal(&mut b, "ops", PrincipalKind::User, "ops", true);
    principal(&mut b, "legacy", PrincipalKind::User, "legacy", true);
    principal(&mut b, "owner", PrincipalKind::Group, "owner", false);
    for p in ["SUPERUSER", "CREATEROLE", "BYPASSRLS"] {
        perm(
            &mut b,
            &format!("cluster:cluster:{p}"),
            "cluster",
            Action::Admin,
            json!({"object": "cluster", "object_kind": "cluster", "privilege": p}),
        );
    }
    perm(
        &mut b,
        "table:x.y:OWNER",
        "x.y",
        Action::Admin,
        json!({"privilege": "OWNER", "object_kind": "table", "object": "x.y"}),
    );
    grant(
        &mut b,
        NodeKind::Principal,
        "migrate",
        NodeKind::Permission,
        "cluster:cluster:SUPERUSER",
    );
    grant(
        &mut b,
        NodeKind::Principal,
        "ops",
        NodeKind::Permission,
        "cluster:cluster:BYPASSRLS",
    );
    grant(
        &mut b,
        NodeKind::Principal,
        "ops",
        NodeKind::Permission,
        "cluster:cluster:CREATEROLE",
    );
    grant(
        &mut b,
        NodeKind::Principal,
        "owner",
        NodeKind::Permission,
        "table:x.y:OWNER",
    );
    cred(
        &mut b,
        1,
        "login:legacy",
        CredentialKind::Login,
        "legacy",
        &[],
        None,
        Some(now() - Duration::days(400)),
    );
    b.credentials[0].status = CredentialStatus::Expired;
    let t = now() - Duration::days(1);
    used(
        &mut b,
        None,
        "migrate",
        "CREATE TABLE",
        "billing.credit_notes",
        t,
    );
    let r = run(&[b]);
    assert_eq!(of(&r, rules::SUPERUSER), vec![pair("migrate", "SUPERUSER")]);
    // Attributes make one finding, in a fixed order; SUPERUSER and OWNER are not "over-broad".
    assert_eq!(
        of(&r, rules::WILDCARD_ADMIN_GRANT),
        vec![pair("ops", "CREATEROLE BYPASSRLS")]
    );
    assert_eq!(
        of(&r, rules::EXPIRED_PRESENT),
        vec![pair("legacy", "login:legacy")]
    );
    // The superuser's DDL used its SUPERUSER: not unused.
    assert!(
        of(&r, rules::UNUSED_GRANT).is_empty(),
        "{:?}",
        of(&r, rules::UNUSED_GRANT)
    );
}

#[test]
fn predefined_roles_and_function_calls_count_as_use() {
    let mut b = backend("pg", BackendKind::Postgres);
    principal(&mut b, "ivan", PrincipalKind::User, "ivan", true);
    principal(&mut b, "svc", PrincipalKind::User, "svc", true);
    principal(&mut b, "refresh", PrincipalKind::Group, "refresh", false);
    perm(
        &mut b,
        "routine:r.refresh_daily():EXECUTE",
        "r.refresh_daily()",
        Action::Execute,
        json!({"privilege": "EXECUTE", "object_kind": "routine"}),
    );
    grant(
        &mut b,
        NodeKind::Principal,
        "ivan",
        NodeKind::Principal,
        "pg_read_all_data",
    );
    grant(
        &mut b,
        NodeKind::Principal,
        "svc",
        NodeKind::Principal,
        "refresh",
    );
    grant(
        &mut b,
        NodeKind::Principal,
        "refresh",
        NodeKind::Permission,
        "routine:r.refresh_daily():EXECUTE",
    );
    let t = now() - Duration::days(1);
    used(&mut b, None, "ivan", "SELECT", "payments.cards", t);
    used(&mut b, None, "svc", "SELECT", "", t);
    b.facts.push(FactIn {
        event_id: 5,
        at: t,
        credential: None,
        actor: Some("svc".into()),
        action: "SELECT".into(),
        outcome: Outcome::Allow,
        periodic: false,
        created_accessor: None,
        text: Some("AUDIT: SESSION,1,1,READ,SELECT,,,SELECT r.refresh_daily(),<not logged>".into()),
    });
    let r = run(&[b]);
    assert!(
        of(&r, rules::UNUSED_GRANT).is_empty(),
        "{:?}",
        of(&r, rules::UNUSED_GRANT)
    );
    assert_eq!(
        of(&r, rules::WILDCARD_ADMIN_GRANT),
        vec![pair("ivan", "pg_read_all_data")]
    );
    // pg_read_all_data is built in, not a binding to nobody; a missing role is.
    assert!(of(&r, rules::ORPHAN_BINDING).is_empty());
}

#[test]
fn bindings_to_principals_that_do_not_exist() {
    let mut b = pg_bob();
    grant(
        &mut b,
        NodeKind::Principal,
        "ghost",
        NodeKind::Principal,
        "billing_read",
    );
    grant(
        &mut b,
        NodeKind::Principal,
        "PUBLIC",
        NodeKind::Permission,
        "table:billing.invoices:SELECT",
    );
    let r = run(&[b]);
    assert_eq!(
        of(&r, rules::ORPHAN_BINDING),
        vec![pair("ghost", "ghost>billing_read")]
    );
}

#[test]
fn many_sources_and_use_after_revocation() {
    let mut b = vault();
    for i in 0..7 {
        let mut u = b.usage[1].clone();
        u.source_ip = Some(format!("203.0.113.{i}"));
        b.usage.push(u);
    }
    b.credentials[1].status = CredentialStatus::Revoked;
    b.revocations
        .push(("bao accessor acc-alice".into(), now() - Duration::days(2)));
    let r = run(&[b]);
    assert_eq!(
        of(&r, rules::MANY_SOURCES),
        vec![pair("frank", "acc-frank")]
    );
    assert_eq!(
        of(&r, rules::USED_AFTER_REVOCATION),
        vec![pair("alice", "acc-alice")]
    );
}

#[test]
fn exemptions_ignored_grants_and_switched_off_rules() {
    let mut s = ReviewSettings::default();
    s.exemptions.push(Exemption {
        backend: "bao".into(),
        principal: "trent".into(),
        reason: "break-glass".into(),
    });
    s.ignored_grants.push("bao:payments-admin".into());
    s.disabled_rules.push(rules::WRITE_WHERE_READ_USED.into());
    let r = run_with(&[vault()], &s);
    assert!(r.findings.iter().all(|f| f.principal.name != "trent"));
    assert!(r.findings.iter().all(|f| f.subject.id != "payments-admin"));
    assert!(of(&r, rules::WRITE_WHERE_READ_USED).is_empty());
    assert_eq!(r.coverage[0].exempt_principals, 1);
    assert!(
        !r.rules
            .iter()
            .find(|x| x.id == rules::WRITE_WHERE_READ_USED)
            .unwrap()
            .enabled
    );
}

#[test]
fn keys_are_stable_and_findings_ordered_by_severity() {
    let a = run(&[pg_bob(), vault()]);
    let b = run(&[pg_bob(), vault()]);
    let keys = |r: &FindingsRun| r.findings.iter().map(|f| f.key.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&a), keys(&b));
    assert!(a
        .findings
        .windows(2)
        .all(|w| w[0].severity >= w[1].severity));
    assert!(a.at_or_above(portcullis_model::Severity::High) >= 2);
}

// ---- end to end through a workspace (no servers: the cache is filled directly) ----

async fn workspace_with_bob() -> (tempfile::TempDir, crate::Workspace) {
    use portcullis_model::{
        AuditEvent, Credential, CredentialRef, Inventory, Permission, Principal,
    };
    let dir = tempfile::tempdir().unwrap();
    let ws = crate::Workspace::open(dir.path()).await.unwrap();
    let store = ws.store();
    let b = store
        .insert_backend(
            "pg",
            BackendKind::Postgres,
            "postgres://x@127.0.0.1:1/db",
            &CredentialRef::None,
            &json!({}),
        )
        .await
        .unwrap();
    let p = |id: &str, kind: PrincipalKind, enabled: bool| Principal {
        external_id: id.into(),
        kind,
        name: id.into(),
        enabled,
        attrs: json!({}),
    };
    let perm = |object: &str| Permission {
        external_id: format!("table:{object}:SELECT"),
        name: format!("SELECT on table {object}"),
        resource: object.into(),
        action: Action::Read,
        raw: json!({"object": object, "object_kind": "table", "privilege": "SELECT"}),
    };
    let g = |fk: NodeKind, f: &str, tk: NodeKind, t: &str| Grant {
        from_kind: fk,
        from_id: f.into(),
        to_kind: tk,
        to_id: t.into(),
    };
    let inv = Inventory {
        principals: vec![
            p("bob", PrincipalKind::User, true),
            p("billing_read", PrincipalKind::Group, false),
            p("reporting_read", PrincipalKind::Group, false),
        ],
        roles: vec![],
        permissions: vec![perm("billing.invoices"), perm("reporting.daily")],
        grants: vec![
            g(
                NodeKind::Principal,
                "bob",
                NodeKind::Principal,
                "billing_read",
            ),
            g(
                NodeKind::Principal,
                "bob",
                NodeKind::Principal,
                "reporting_read",
            ),
            g(
                NodeKind::Principal,
                "billing_read",
                NodeKind::Permission,
                "table:billing.invoices:SELECT",
            ),
            g(
                NodeKind::Principal,
                "reporting_read",
                NodeKind::Permission,
                "table:reporting.daily:SELECT",
            ),
        ],
        credentials: vec![Credential {
            external_id: "login:bob".into(),
            kind: CredentialKind::Login,
            principal_external_id: Some("bob".into()),
            client: None,
            scopes: vec![],
            issued_at: None,
            expires_at: None,
            last_used_at: None,
            status: CredentialStatus::Active,
            attrs: json!({}),
        }],
    };
    store.replace_inventory(b.id, &inv).await.unwrap();
    let ev = |key: &str, action: &str, resource: &str| AuditEvent {
        dedup_key: key.into(),
        at: Utc::now() - Duration::hours(2),
        actor: Some("bob".into()),
        credential: Some("login:bob".into()),
        action: action.into(),
        resource: Some(resource.into()),
        outcome: Outcome::Allow,
        source_ip: Some("10.0.0.9".into()),
        raw: json!({"k": key}),
    };
    store
        .insert_audit_batch(
            b.id,
            &[ev("1", "LOGIN", "db"), ev("2", "SELECT", "reporting.daily")],
            None,
        )
        .await
        .unwrap();
    (dir, ws)
}

#[tokio::test]
async fn a_campaign_runs_to_sign_off_and_its_evidence_detects_one_changed_byte() {
    use portcullis_model::{CampaignScope, DecisionInput, NewCampaign, ReviewRequest, Verdict};
    let (dir, ws) = workspace_with_bob().await;
    let run = ws.review_run(&ReviewRequest::default()).await.unwrap();
    let keys: Vec<&str> = run.findings.iter().map(|f| f.rule.as_str()).collect();
    assert!(keys.contains(&rules::UNUSED_GRANT), "{keys:?}");
    assert!(keys.contains(&rules::NEVER_EXPIRING), "{keys:?}");

    let c = ws
        .campaign_create(&NewCampaign {
            name: "q4".into(),
            scope: CampaignScope::default(),
            due_at: None,
        })
        .await
        .unwrap();
    assert_eq!(c.items as usize, run.findings.len());
    let campaign = ws.campaign(c.id).await.unwrap();
    let unused = campaign
        .items
        .iter()
        .find(|i| i.finding.rule == rules::UNUSED_GRANT)
        .unwrap()
        .finding
        .key
        .clone();
    // Reduce applies to grants only; a bad key or reviewer is refused before anything is stored.
    let never = campaign
        .items
        .iter()
        .find(|i| i.finding.rule == rules::NEVER_EXPIRING)
        .unwrap()
        .finding
        .key
        .clone();
    let bad = ws
        .campaign_decide(
            c.id,
            "ann",
            &[DecisionInput {
                item_key: never.clone(),
                verdict: Verdict::Reduce,
                note: None,
            }],
        )
        .await;
    assert!(bad.is_err());
    assert!(
        ws.campaign_sign_off(c.id, "ann").await.is_err(),
        "undecided items"
    );
    let all: Vec<DecisionInput> = campaign
        .items
        .iter()
        .map(|i| DecisionInput {
            item_key: i.finding.key.clone(),
            verdict: if i.finding.key == unused {
                Verdict::Reduce
            } else {
                Verdict::Keep
            },
            note: Some("reviewed".into()),
        })
        .collect();
    let s = ws.campaign_decide(c.id, "ann", &all).await.unwrap();
    assert_eq!(s.decided, s.items);
    let s = ws.campaign_sign_off(c.id, "ann").await.unwrap();
    assert_eq!(s.status, portcullis_model::CampaignStatus::SignedOff);

    let plan = ws.campaign_plan(c.id).await.unwrap();
    assert_eq!(plan.steps.len(), 1);
    assert_eq!(plan.steps[0].operation, "reduce_grant");
    assert_eq!(plan.steps[0].keep, vec!["reporting_read"]);
    assert_eq!(
        plan.steps[0].targets[0].to_string(),
        "grant:pg/bob>billing_read"
    );

    let journal = ws.journal(0, 1000).await.unwrap();
    let decisions = journal
        .iter()
        .filter(|e| e.action == "review-decision")
        .count();
    assert_eq!(decisions, 2 * all.len(), "planned + verified per decision");
    assert!(ws.store().journal_unfinished().await.unwrap().is_empty());
    let v = ws.journal_verify().await.unwrap();
    assert!(v.ok && v.sealed == v.entries, "{}", v.message);

    let out = dir.path().join("evidence");
    let manifest = ws.export_campaign(c.id, &out).await.unwrap();
    assert_eq!(
        manifest.journal_head,
        ws.journal_verify().await.unwrap().head
    );
    assert!(super::verify_evidence(&out).unwrap().ok);
    let here = ws.verify_evidence_with_journal(&out).await.unwrap();
    assert_eq!((here.ok, here.journal_head_found), (true, Some(true)));
    // A journal that does not hold the pinned head (shortened, rewritten, or another
    // workspace's) fails the check instead of being reported as a curiosity.
    let elsewhere_dir = tempfile::tempdir().unwrap();
    let elsewhere = crate::Workspace::open(elsewhere_dir.path()).await.unwrap();
    let v = elsewhere.verify_evidence_with_journal(&out).await.unwrap();
    assert_eq!((v.ok, v.journal_head_found), (false, Some(false)));
    assert!(
        v.message.contains("not in this workspace's journal"),
        "{}",
        v.message
    );
    let path = out.join("plan.json");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let v = super::verify_evidence(&out).unwrap();
    assert!(!v.ok);
    let bad: Vec<&str> = v
        .files
        .iter()
        .filter(|f| !f.ok)
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(bad, vec!["plan.json"]);

    // A second campaign: no drift in access since the first.
    let c2 = ws
        .campaign_create(&NewCampaign {
            name: "q1".into(),
            scope: CampaignScope::default(),
            due_at: None,
        })
        .await
        .unwrap();
    let drift = ws.campaign_drift(c2.id).await.unwrap();
    assert_eq!(drift.previous_campaign_id, Some(c.id));
    assert!(drift.new_grants.is_empty() && drift.removed_grants.is_empty());
    let first = ws.campaign_drift(c.id).await.unwrap();
    assert_eq!(first.previous_campaign_id, None);
    assert!(first.new_grants.iter().any(|g| g == "pg|bob|billing_read"));

    // A decision edited in the cache no longer matches the entry that journalled it.
    sqlx::query("UPDATE decisions SET verdict = 'keep' WHERE verdict = 'reduce'")
        .execute(ws.store().pool())
        .await
        .unwrap();
    let v = ws.journal_verify().await.unwrap();
    assert!(!v.ok, "an edited decision passed: {}", v.message);
    assert!(
        v.message.contains("differ from what the journal recorded"),
        "{}",
        v.message
    );
}
