//! Access map at scale: 5,000 principals × 2,000 permissions on generated data (a Vault backend
//! and a PostgreSQL backend, 2,500 principals and 1,000 permissions each, nested group roles,
//! tokens carrying policies, 60,000 aggregated audit rows).
//!
//! Budgets (issue 6): a matrix filter change under 100 ms; explain and who-can under 50 ms, with
//! the index built once per cache generation. `index/*` measures that build (from rows, and from
//! the SQLite cache end to end), the rest the questions against a built index.

use chrono::{Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use portcullis_engine::access::{matrix_svg, AccessIndex, AccessRows};
use portcullis_model::*;
use portcullis_store::access::*;
use serde_json::json;
use std::hint::black_box;

const VAULT_PRINCIPALS: usize = 2_500;
const PG_PRINCIPALS: usize = 2_500;
const PG_GROUPS: usize = 200;
const POLICIES: usize = 125;
const RULES_PER_POLICY: usize = 8; // 1,000 Vault permissions
const TABLES: usize = 250; // × 4 privileges = 1,000 PostgreSQL permissions
const TOKENS: usize = 1_500;
const USAGE_ROWS: usize = 60_000;

/// xorshift: deterministic data without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn generate() -> AccessRows {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let mut rows = AccessRows {
        backends: vec![
            AccessBackendRow {
                id: 1,
                name: "bao".into(),
                kind: "vault".into(),
            },
            AccessBackendRow {
                id: 2,
                name: "pg".into(),
                kind: "postgres".into(),
            },
        ],
        ..AccessRows::default()
    };
    let grant = |rows: &mut AccessRows, b: i64, fk: &str, fi: &str, tk: &str, ti: &str| {
        rows.grants.push(AccessGrantRow {
            backend_id: b,
            from_kind: fk.into(),
            from_id: fi.into(),
            to_kind: tk.into(),
            to_id: ti.into(),
        })
    };
    let now_ms = Utc::now().timestamp_millis();

    // Vault: policies of 8 rules over app paths (globs, + segments, a few denies).
    for p in 0..POLICIES {
        let policy = format!("policy-{p}");
        rows.roles.push(AccessRoleRow {
            backend_id: 1,
            external_id: policy.clone(),
            name: policy.clone(),
        });
        for k in 0..RULES_PER_POLICY {
            let app = (p * RULES_PER_POLICY + k) % 400;
            // The deny carves a hole in this policy's own read glob (rule 0).
            let app0 = (p * RULES_PER_POLICY) % 400;
            let (path, caps, action) = match k {
                0 => (
                    format!("secret/data/app-{app}/*"),
                    vec!["read", "list"],
                    "read",
                ),
                1 => (
                    format!("secret/data/app-{app}/+/config"),
                    vec!["read"],
                    "read",
                ),
                2 => (
                    format!("secret/data/app-{app}/db"),
                    vec!["create", "update"],
                    "write",
                ),
                3 => (format!("secret/data/app-{app0}/root"), vec!["deny"], "deny"),
                4 => (format!("secret/metadata/app-{app}/*"), vec!["list"], "read"),
                5 => (format!("sys/leases/app-{app}/*"), vec!["sudo"], "admin"),
                6 => (
                    format!("transit/encrypt/app-{app}"),
                    vec!["update"],
                    "write",
                ),
                _ => (format!("kv/team-{p}/app-{app}"), vec!["read"], "read"),
            };
            let id = format!("{path}|{action}|{p}");
            rows.permissions.push(AccessPermissionRow {
                backend_id: 1,
                external_id: id.clone(),
                name: format!("{} on {path}", caps.join("+")),
                resource: path.clone(),
                action: action.into(),
                raw: json!({"path": path, "capabilities": caps}).to_string(),
            });
            grant(&mut rows, 1, "role", &policy, "permission", &id);
        }
    }
    for i in 0..VAULT_PRINCIPALS {
        let id = if i < TOKENS {
            format!("token:svc-{i}")
        } else {
            format!("userpass:userpass:user-{i}")
        };
        rows.principals.push(AccessPrincipalRow {
            backend_id: 1,
            external_id: id.clone(),
            kind: if i < TOKENS { "service" } else { "user" }.into(),
            name: id.rsplit(':').next().unwrap_or(&id).into(),
            enabled: i % 37 != 0,
        });
        let policies: Vec<String> = (0..1 + r.below(4))
            .map(|_| format!("policy-{}", r.below(POLICIES)))
            .collect();
        if i < TOKENS {
            rows.credentials.push(AccessCredentialRow {
                id: i as i64 + 1,
                backend_id: 1,
                external_id: format!("acc-{i}"),
                kind: "accessor".into(),
                principal_external_id: Some(id.clone()),
                client: None,
                scopes: policies,
                status: "active".into(),
            });
        } else {
            for p in policies {
                grant(&mut rows, 1, "principal", &id, "role", &p);
            }
        }
    }

    // PostgreSQL: tables × 4 privileges held by group roles nested two levels deep.
    let privileges = [
        ("SELECT", "read"),
        ("INSERT", "write"),
        ("UPDATE", "write"),
        ("DELETE", "write"),
    ];
    for t in 0..TABLES {
        for (privilege, action) in privileges {
            let obj = format!("s{}.t{t}", t % 20);
            let id = format!("table:{obj}:{privilege}");
            rows.permissions.push(AccessPermissionRow {
                backend_id: 2,
                external_id: id.clone(),
                name: format!("{privilege} on table {obj}"),
                resource: obj.clone(),
                action: action.into(),
                raw: json!({"object_kind": "table", "object": obj, "privilege": privilege})
                    .to_string(),
            });
            let holder = format!("group_{}", r.below(PG_GROUPS));
            grant(&mut rows, 2, "principal", &holder, "permission", &id);
        }
    }
    for g in 0..PG_GROUPS {
        let name = format!("group_{g}");
        rows.principals.push(AccessPrincipalRow {
            backend_id: 2,
            external_id: name.clone(),
            kind: "group".into(),
            name: name.clone(),
            enabled: false,
        });
        if g >= 20 {
            // Nested: each group inherits from one or two lower groups.
            for _ in 0..1 + r.below(2) {
                let parent = format!("group_{}", r.below(g));
                grant(&mut rows, 2, "principal", &name, "principal", &parent);
            }
        }
    }
    for u in 0..PG_PRINCIPALS - PG_GROUPS {
        let name = format!("role_{u}");
        rows.principals.push(AccessPrincipalRow {
            backend_id: 2,
            external_id: name.clone(),
            kind: "user".into(),
            name: name.clone(),
            enabled: true,
        });
        for _ in 0..1 + r.below(3) {
            let g = format!("group_{}", r.below(PG_GROUPS));
            grant(&mut rows, 2, "principal", &name, "principal", &g);
        }
        rows.credentials.push(AccessCredentialRow {
            id: 100_000 + u as i64,
            backend_id: 2,
            external_id: format!("login:{name}"),
            kind: "login".into(),
            principal_external_id: Some(name),
            client: None,
            scopes: Vec::new(),
            status: "active".into(),
        });
    }
    rows.principals.push(AccessPrincipalRow {
        backend_id: 2,
        external_id: "su".into(),
        kind: "user".into(),
        name: "su".into(),
        enabled: true,
    });
    rows.permissions.push(AccessPermissionRow {
        backend_id: 2,
        external_id: "cluster:cluster:SUPERUSER".into(),
        name: "SUPERUSER".into(),
        resource: "cluster".into(),
        action: "admin".into(),
        raw: json!({"object_kind": "cluster", "privilege": "SUPERUSER"}).to_string(),
    });
    grant(
        &mut rows,
        2,
        "principal",
        "su",
        "permission",
        "cluster:cluster:SUPERUSER",
    );

    // Aggregated audit rows: tokens reading app secrets, roles selecting tables.
    for i in 0..USAGE_ROWS {
        let age = Duration::days(r.below(180) as i64).num_milliseconds();
        if i % 2 == 0 {
            let t = r.below(TOKENS);
            rows.usage.push(AccessUsageRow {
                backend_id: 1,
                credential: Some(format!("acc-{t}")),
                actor: Some(format!("svc-{t}")),
                action: "read".into(),
                resource: Some(format!("secret/data/app-{}/key-{}", r.below(400), i % 7)),
                last_at_ms: now_ms - age,
                count: 1 + r.below(20) as u64,
            });
        } else {
            let u = r.below(PG_PRINCIPALS - PG_GROUPS);
            rows.usage.push(AccessUsageRow {
                backend_id: 2,
                credential: Some(format!("login:role_{u}")),
                actor: Some(format!("role_{u}")),
                action: ["SELECT", "INSERT", "UPDATE"][i % 3].into(),
                resource: Some(format!("s{}.t{}", r.below(20), r.below(TABLES))),
                last_at_ms: now_ms - age,
                count: 1,
            });
        }
    }
    rows
}

fn bench(c: &mut Criterion) {
    let rows = generate();
    let index = AccessIndex::build(&rows, 1);
    let principals = index.principals.iter().map(Vec::len).sum::<usize>();
    let permissions = index.permissions.iter().map(Vec::len).sum::<usize>();
    eprintln!(
        "generated: {principals} principals, {permissions} permissions, {} grant edges, {} credentials, {} usage rows; effective (principal, permission) pairs: {}",
        rows.grants.len(),
        rows.credentials.len(),
        rows.usage.len(),
        index.eff.iter().map(Vec::len).sum::<usize>()
    );

    let mut g = c.benchmark_group("index");
    g.sample_size(10);
    g.bench_function("build_from_rows", |b| {
        b.iter(|| black_box(AccessIndex::build(black_box(&rows), 1)))
    });
    g.finish();

    let now = Utc::now();
    let mut g = c.benchmark_group("matrix");
    g.sample_size(30);
    let filters: Vec<(&str, MatrixQuery)> = vec![
        ("all", MatrixQuery::default()),
        (
            "backend_pg_write",
            MatrixQuery {
                backends: vec!["pg".into()],
                actions: vec![Action::Write],
                ..MatrixQuery::default()
            },
        ),
        (
            "risk_high_sorted_unused",
            MatrixQuery {
                risks: vec![Risk::High],
                sort: MatrixSort::Unused,
                window_days: Some(30),
                ..MatrixQuery::default()
            },
        ),
        (
            "search_and_page_3",
            MatrixQuery {
                principal_search: Some("user-2".into()),
                permission_search: Some("app-1".into()),
                row_offset: Some(100),
                col_offset: Some(100),
                row_limit: Some(100),
                col_limit: Some(100),
                overview_rows: Some(200),
                overview_cols: Some(200),
                ..MatrixQuery::default()
            },
        ),
    ];
    for (name, q) in &filters {
        let page = index.matrix(q, now).expect("matrix");
        eprintln!(
            "matrix {name}: {} × {} in scope, {} cells on the page, {} overview bins",
            page.total_rows,
            page.total_columns,
            page.cells.len(),
            page.overview.bins.len()
        );
        g.bench_function(*name, |b| {
            b.iter(|| black_box(index.matrix(black_box(q), now).expect("matrix")))
        });
    }
    let page = index.matrix(&MatrixQuery::default(), now).expect("matrix");
    g.bench_function("svg_heatmap_40x40", |b| {
        b.iter(|| black_box(matrix_svg(black_box(&page), (960, 640)).expect("svg")))
    });
    g.finish();

    let mut g = c.benchmark_group("explain");
    g.sample_size(30);
    let busiest = index.principals[1]
        .iter()
        .copied()
        .max_by_key(|&p| index.eff[p as usize].len())
        .expect("principals");
    let busiest_name = index.graph.nodes[busiest as usize].external_id.clone();
    eprintln!(
        "explain: {busiest_name} holds {} permissions",
        index.eff[busiest as usize].len()
    );
    for (name, subject, credential) in [
        ("pg_busiest_role", busiest_name.as_str(), false),
        ("vault_user", "user-2000", false),
        ("vault_token_by_id", "7", true),
    ] {
        let q = ExplainQuery {
            subject: subject.into(),
            credential,
            ..ExplainQuery::default()
        };
        let e = index.explain(&q).expect("explain");
        assert!(
            !e.subjects.is_empty() && !e.subjects[0].permissions.is_empty(),
            "{name}"
        );
        g.bench_function(name, |b| {
            b.iter(|| black_box(index.explain(black_box(&q)).expect("explain")))
        });
    }
    let why_perm = index.graph.view(index.eff[busiest as usize][0]).id;
    let why_subject = index.graph.view(busiest).id;
    g.bench_function("why", |b| {
        b.iter(|| black_box(index.why(&why_subject, &why_perm).expect("why")))
    });
    g.finish();

    let mut g = c.benchmark_group("who_can");
    g.sample_size(30);
    for (name, action, resource) in [
        ("vault_path", "read", "secret/data/app-16/key-3"),
        ("vault_glob", "read", "secret/data/app-16/*"),
        ("vault_deny", "read", "secret/data/app-16/root"),
        ("sql_table", "SELECT", "s3.t23"),
        ("sql_schema_pattern", "write", "s3.*"),
    ] {
        let q = WhoCanQuery {
            action: action.into(),
            resource: resource.into(),
            ..WhoCanQuery::default()
        };
        let a = index.who_can(&q).expect("who-can");
        eprintln!(
            "who-can {name}: {} allowed, {} denied",
            a.allowed.len(),
            a.denied.len()
        );
        g.bench_function(name, |b| {
            b.iter(|| black_box(index.who_can(black_box(&q)).expect("who-can")))
        });
    }
    let q = NeighbourhoodQuery {
        node: "pg/principal/group_0".into(),
        depth: Some(2),
        limit: Some(300),
    };
    g.bench_function("neighbourhood_depth2", |b| {
        b.iter(|| black_box(index.neighbourhood(black_box(&q)).expect("neighbourhood")))
    });
    g.finish();

    sqlite(c, &rows);
}

/// End to end from the SQLite cache: reading the rows (with the audit aggregation) and the
/// generation check a warm call pays.
fn sqlite(c: &mut Criterion, rows: &AccessRows) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = rt
        .block_on(portcullis_engine::Workspace::open(dir.path()))
        .expect("workspace");
    rt.block_on(async {
        let store = ws.store();
        for b in &rows.backends {
            let kind: BackendKind = b.kind.parse().expect("kind");
            let row = store
                .insert_backend(
                    &b.name,
                    kind,
                    "http://bench",
                    &CredentialRef::None,
                    &json!({}),
                )
                .await
                .expect("backend");
            let inv = Inventory {
                principals: rows
                    .principals
                    .iter()
                    .filter(|p| p.backend_id == b.id)
                    .map(|p| Principal {
                        external_id: p.external_id.clone(),
                        kind: serde_json::from_value(json!(p.kind)).expect("kind"),
                        name: p.name.clone(),
                        enabled: p.enabled,
                        attrs: json!({}),
                    })
                    .collect(),
                roles: rows
                    .roles
                    .iter()
                    .filter(|r| r.backend_id == b.id)
                    .map(|r| Role {
                        external_id: r.external_id.clone(),
                        name: r.name.clone(),
                        description: None,
                    })
                    .collect(),
                permissions: rows
                    .permissions
                    .iter()
                    .filter(|p| p.backend_id == b.id)
                    .map(|p| Permission {
                        external_id: p.external_id.clone(),
                        name: p.name.clone(),
                        resource: p.resource.clone(),
                        action: serde_json::from_value(json!(p.action)).expect("action"),
                        raw: serde_json::from_str(&p.raw).expect("raw"),
                    })
                    .collect(),
                grants: rows
                    .grants
                    .iter()
                    .filter(|g| g.backend_id == b.id)
                    .map(|g| Grant {
                        from_kind: serde_json::from_value(json!(g.from_kind)).expect("kind"),
                        from_id: g.from_id.clone(),
                        to_kind: serde_json::from_value(json!(g.to_kind)).expect("kind"),
                        to_id: g.to_id.clone(),
                    })
                    .collect(),
                credentials: rows
                    .credentials
                    .iter()
                    .filter(|c| c.backend_id == b.id)
                    .map(|c| Credential {
                        external_id: c.external_id.clone(),
                        kind: serde_json::from_value(json!(c.kind)).expect("kind"),
                        principal_external_id: c.principal_external_id.clone(),
                        client: None,
                        scopes: c.scopes.clone(),
                        issued_at: None,
                        expires_at: None,
                        last_used_at: None,
                        status: CredentialStatus::Active,
                        attrs: json!({}),
                    })
                    .collect(),
            };
            store
                .replace_inventory(row.id, &inv)
                .await
                .expect("inventory");
            let events: Vec<AuditEvent> = rows
                .usage
                .iter()
                .filter(|u| u.backend_id == b.id)
                .enumerate()
                .map(|(i, u)| AuditEvent {
                    dedup_key: format!("{i}"),
                    at: chrono::DateTime::from_timestamp_millis(u.last_at_ms).expect("time"),
                    actor: u.actor.clone(),
                    credential: u.credential.clone(),
                    action: u.action.clone(),
                    resource: u.resource.clone(),
                    outcome: Outcome::Allow,
                    source_ip: None,
                    raw: json!({}),
                })
                .collect();
            for chunk in events.chunks(5_000) {
                store
                    .insert_audit_batch(row.id, chunk, None)
                    .await
                    .expect("audit");
            }
        }
    });
    let mut g = c.benchmark_group("index");
    g.sample_size(10);
    g.bench_function("read_rows_from_sqlite", |b| {
        b.iter(|| black_box(rt.block_on(ws.store().access_rows()).expect("rows")))
    });
    rt.block_on(ws.access_index()).expect("index");
    g.bench_function("warm_generation_check", |b| {
        b.iter(|| black_box(rt.block_on(ws.access_index()).expect("index")))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
