//! A full least-privilege findings run on generated data: 10,000 principals (5,000 in a Vault
//! backend, 5,000 in a PostgreSQL backend), 400 policies / group roles, 10,000 credentials and
//! 1,000,000 audit events in the 90-day window (plus older ones, so coverage is complete).
//!
//! Budget (issue 7): a full run under 1 s. `review/full_run_sqlite` is the real thing end to end
//! (`Workspace::review_run`: read the inventory, aggregate the million events in SQL, resolve,
//! evaluate every rule); `review/evaluate_only` is the in-memory part on the same data, and
//! `review/aggregate_sql` the SQL aggregation alone, to show where the time goes.

use chrono::{Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use portcullis_engine::review::{build_inputs, evaluate_inputs, rules::RuleSet};
use portcullis_engine::Workspace;
use portcullis_model::*;
use serde_json::json;
use std::collections::HashMap;
use std::hint::black_box;

const PRINCIPALS_PER_BACKEND: usize = 5_000;
const ROLES_PER_BACKEND: usize = 200;
const EVENTS: usize = 1_000_000;
const OLD_EVENTS: usize = 1_000;

/// The app of a principal's habit `h` (0..3).
fn app_of(u: usize, h: usize) -> usize {
    (u * 31 + h * 17) % ROLES_PER_BACKEND
}

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

fn vault_inventory(r: &mut Rng) -> Inventory {
    let mut inv = Inventory::default();
    for p in 0..ROLES_PER_BACKEND {
        inv.roles.push(Role {
            external_id: format!("policy-{p}"),
            name: format!("policy-{p}"),
            description: None,
        });
        for (i, action) in [Action::Read, Action::Write].into_iter().enumerate() {
            let path = format!("secret/data/app{p}/*");
            let id = format!("{path}|{}", action.as_str());
            inv.permissions.push(Permission {
                external_id: id.clone(),
                name: format!("{} on {path}", action.as_str()),
                resource: path.clone(),
                action,
                raw: json!({"path": path}),
            });
            let _ = i;
            inv.grants.push(Grant {
                from_kind: NodeKind::Role,
                from_id: format!("policy-{p}"),
                to_kind: NodeKind::Permission,
                to_id: id,
            });
        }
    }
    // A few admin policies.
    inv.permissions.push(Permission {
        external_id: "*|admin".into(),
        name: "sudo on *".into(),
        resource: "*".into(),
        action: Action::Admin,
        raw: json!({"path": "*"}),
    });
    inv.grants.push(Grant {
        from_kind: NodeKind::Role,
        from_id: "policy-0".into(),
        to_kind: NodeKind::Permission,
        to_id: "*|admin".into(),
    });
    let now = Utc::now();
    for u in 0..PRINCIPALS_PER_BACKEND {
        let id = format!("userpass:u{u}");
        inv.principals.push(Principal {
            external_id: id.clone(),
            kind: PrincipalKind::User,
            name: format!("u{u}"),
            enabled: u % 97 != 0,
            attrs: json!({}),
        });
        let mut policies = Vec::new();
        // The three apps the principal's habits touch, and one more it never uses.
        for h in 0..4 {
            let app = if h < 3 {
                app_of(u, h)
            } else {
                r.below(ROLES_PER_BACKEND)
            };
            let p = format!("policy-{app}");
            inv.grants.push(Grant {
                from_kind: NodeKind::Principal,
                from_id: id.clone(),
                to_kind: NodeKind::Role,
                to_id: p.clone(),
            });
            policies.push(p);
        }
        policies.push("default".into());
        inv.credentials.push(Credential {
            external_id: format!("acc-{u}"),
            kind: CredentialKind::Accessor,
            principal_external_id: Some(id),
            client: None,
            scopes: policies,
            issued_at: Some(now - Duration::days(10)),
            expires_at: if u % 50 == 0 {
                None
            } else {
                Some(now + Duration::days(22))
            },
            last_used_at: None,
            status: CredentialStatus::Active,
            attrs: json!({}),
        });
    }
    inv.grants
        .sort_by(|a, b| (&a.from_id, &a.to_id).cmp(&(&b.from_id, &b.to_id)));
    inv.grants.dedup();
    inv
}

fn pg_inventory(r: &mut Rng) -> Inventory {
    let mut inv = Inventory::default();
    for g in 0..ROLES_PER_BACKEND {
        let group = format!("grp_{g}");
        inv.principals.push(Principal {
            external_id: group.clone(),
            kind: PrincipalKind::Group,
            name: group.clone(),
            enabled: false,
            attrs: json!({}),
        });
        for (privilege, action) in [("SELECT", Action::Read), ("UPDATE", Action::Write)] {
            let object = format!("s{}.t{g}", g % 10);
            let id = format!("table:{object}:{privilege}");
            inv.permissions.push(Permission {
                external_id: id.clone(),
                name: format!("{privilege} on table {object}"),
                resource: object.clone(),
                action,
                raw: json!({"object": object, "object_kind": "table", "privilege": privilege}),
            });
            inv.grants.push(Grant {
                from_kind: NodeKind::Principal,
                from_id: group.clone(),
                to_kind: NodeKind::Permission,
                to_id: id,
            });
        }
    }
    let now = Utc::now();
    for u in 0..PRINCIPALS_PER_BACKEND {
        let id = format!("r{u}");
        inv.principals.push(Principal {
            external_id: id.clone(),
            kind: PrincipalKind::User,
            name: id.clone(),
            enabled: true,
            attrs: json!({}),
        });
        for h in 0..4 {
            let app = if h < 3 {
                app_of(u, h)
            } else {
                r.below(ROLES_PER_BACKEND)
            };
            inv.grants.push(Grant {
                from_kind: NodeKind::Principal,
                from_id: id.clone(),
                to_kind: NodeKind::Principal,
                to_id: format!("grp_{app}"),
            });
        }
        inv.credentials.push(Credential {
            external_id: format!("login:{id}"),
            kind: CredentialKind::Login,
            principal_external_id: Some(id),
            client: None,
            scopes: vec![],
            issued_at: None,
            expires_at: Some(now + Duration::days(60 + (u % 400) as i64)),
            last_used_at: None,
            status: CredentialStatus::Active,
            attrs: json!({}),
        });
    }
    inv.grants
        .sort_by(|a, b| (&a.from_id, &a.to_id).cmp(&(&b.from_id, &b.to_id)));
    inv.grants.dedup();
    inv
}

/// Each principal has a few habits (resource, action, source) among the apps it was granted and
/// repeats them, as services and people do: 1M events over 10,000 principals is 100 each.
fn events(r: &mut Rng, vault: bool, n: usize, days_back: (i64, i64)) -> Vec<AuditEvent> {
    let now = Utc::now();
    let span = ((days_back.1 - days_back.0) * 86_400) as usize;
    (0..n)
        .map(|i| {
            // 80% of the principals are active.
            let u = r.below(PRINCIPALS_PER_BACKEND * 4 / 5);
            let habit = r.below(4);
            // A habit's app is a function of the principal: stable across events.
            let app = app_of(u, habit % 3);
            let at = now - Duration::days(days_back.0) - Duration::seconds(r.below(span) as i64);
            let ip = format!("10.0.{}.{}", u % 200, habit % 2);
            if vault {
                AuditEvent {
                    dedup_key: format!("v{i}-{}", days_back.0),
                    at,
                    actor: Some(format!("u{u}")),
                    credential: Some(format!("acc-{u}")),
                    action: if habit == 3 { "update" } else { "read" }.into(),
                    resource: Some(format!("secret/data/app{app}/k{habit}")),
                    outcome: if i % 50 == 0 {
                        Outcome::Deny
                    } else {
                        Outcome::Allow
                    },
                    source_ip: Some(ip),
                    raw: json!({"i": i}),
                }
            } else {
                AuditEvent {
                    dedup_key: format!("p{i}-{}", days_back.0),
                    at,
                    actor: Some(format!("r{u}")),
                    credential: Some(format!("login:r{u}")),
                    action: if habit == 3 { "UPDATE" } else { "SELECT" }.into(),
                    resource: Some(format!("s{}.t{app}", app % 10)),
                    outcome: Outcome::Allow,
                    source_ip: Some(ip),
                    raw: json!({"i": i}),
                }
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = rt.block_on(Workspace::open(dir.path())).expect("workspace");
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    rt.block_on(async {
        let store = ws.store();
        for (name, kind, inv) in [
            ("bao", BackendKind::Vault, vault_inventory(&mut r)),
            ("pg", BackendKind::Postgres, pg_inventory(&mut r)),
        ] {
            let row = store
                .insert_backend(
                    name,
                    kind,
                    "http://127.0.0.1:1",
                    &CredentialRef::None,
                    &json!({}),
                )
                .await
                .expect("backend");
            store
                .replace_inventory(row.id, &inv)
                .await
                .expect("inventory");
            let vault = kind == BackendKind::Vault;
            let old = events(&mut r, vault, OLD_EVENTS, (120, 200));
            store
                .insert_audit_batch(row.id, &old, None)
                .await
                .expect("old events");
            for chunk in 0..10 {
                let evs = events(&mut r, vault, EVENTS / 20, (chunk, chunk + 1));
                let evs: Vec<AuditEvent> = evs
                    .into_iter()
                    .map(|mut e| {
                        e.at -= Duration::days(chunk * 8);
                        e
                    })
                    .collect();
                store
                    .insert_audit_batch(row.id, &evs, None)
                    .await
                    .expect("events");
            }
        }
    });
    let settings = ReviewSettings::default();
    let req = ReviewRequest::default();
    let run = rt.block_on(ws.review_run(&req)).expect("run");
    let total: u64 = run.coverage.iter().map(|c| c.events_in_window).sum();
    let principals: u64 = run.coverage.iter().map(|c| c.principals).sum();
    eprintln!(
        "review bench data: {principals} principals, {total} events in the window, {} findings",
        run.findings.len()
    );
    assert!(total >= EVENTS as u64 && principals >= 10_000);

    // A load-independent figure beside criterion's wall time: CPU time of one full run (all
    // threads), from /proc/self/stat (Linux; clock ticks of 10 ms, so averaged over 5 runs).
    if let (Some(t0), w0) = (cpu_ticks(), std::time::Instant::now()) {
        for _ in 0..5 {
            black_box(rt.block_on(ws.review_run(&req)).expect("run"));
        }
        if let Some(t1) = cpu_ticks() {
            eprintln!(
                "review/full_run_sqlite: {:.0} ms CPU per run (all threads), {:.0} ms wall per run",
                (t1 - t0) as f64 * 10.0 / 5.0,
                w0.elapsed().as_secs_f64() * 1000.0 / 5.0
            );
        }
    }

    let mut g = c.benchmark_group("review");
    g.sample_size(10);
    g.bench_function("full_run_sqlite", |b| {
        b.iter(|| black_box(rt.block_on(ws.review_run(&req)).expect("run")))
    });
    let as_of = Utc::now();
    let since = as_of - Duration::days(90);
    g.bench_function("aggregate_sql", |b| {
        b.iter(|| {
            black_box(
                rt.block_on(ws.store().review_usage(since, as_of))
                    .expect("usage"),
            )
        })
    });
    let (inv, facts, usage) = rt.block_on(async {
        let usage = ws.store().review_usage(since, as_of).await.expect("usage");
        (
            ws.store().review_inventory().await.expect("inventory"),
            ws.store()
                .review_audit_facts(since, &usage)
                .await
                .expect("facts"),
            usage,
        )
    });
    let older: HashMap<i64, bool> = [(1, true), (2, true)].into_iter().collect();
    let inputs = build_inputs(inv, usage, facts, &older, &[], &settings, &[]);
    let rules = RuleSet::resolve(&settings, &[]).expect("rules");
    g.bench_function("evaluate_only", |b| {
        b.iter(|| {
            black_box(evaluate_inputs(
                &inputs,
                &settings,
                &rules,
                as_of,
                since,
                90,
                &[],
            ))
        })
    });
    g.finish();
}

/// utime + stime of this process in clock ticks (USER_HZ = 100 on Linux).
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = stat.rsplit_once(") ")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

criterion_group!(benches, bench);
criterion_main!(benches);
