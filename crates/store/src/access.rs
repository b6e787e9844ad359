//! The rows the access map builds its in-memory graph from, read in one pass, and the generation
//! counter (bumped by triggers on every write to those tables) that tells when to rebuild.
//!
//! Audit events are not returned one by one: allowed events are aggregated in SQL by (backend,
//! credential, actor, action, resource) with their count and newest time, which is all "was this
//! grant used in the window" needs, and keeps a build over a million events cheap.

use crate::{parse_ts, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct AccessBackendRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccessPrincipalRow {
    pub backend_id: i64,
    pub external_id: String,
    pub kind: String,
    pub name: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccessRoleRow {
    pub backend_id: i64,
    pub external_id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccessPermissionRow {
    pub backend_id: i64,
    pub external_id: String,
    pub name: String,
    pub resource: String,
    pub action: String,
    /// The rule as the backend states it (JSON text).
    pub raw: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccessGrantRow {
    pub backend_id: i64,
    pub from_kind: String,
    pub from_id: String,
    pub to_kind: String,
    pub to_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccessCredentialRow {
    /// The cache's row id (what `portcullis credentials` prints).
    pub id: i64,
    pub backend_id: i64,
    pub external_id: String,
    pub kind: String,
    pub principal_external_id: Option<String>,
    pub client: Option<String>,
    pub scopes: Vec<String>,
    pub status: String,
}

/// Allowed audit events with the same (backend, credential, actor, action, resource).
#[derive(Debug, Clone, PartialEq)]
pub struct AccessUsageRow {
    pub backend_id: i64,
    pub credential: Option<String>,
    pub actor: Option<String>,
    pub action: String,
    pub resource: Option<String>,
    /// Newest event, milliseconds since the epoch.
    pub last_at_ms: i64,
    pub count: u64,
}

/// The statement texts behind one (backend, credential, actor, action) group of allowed
/// PostgreSQL events that name no object: pgaudit logs a function call that way, and only the
/// statement says which function ran. Bounded: the group's newest [`STATEMENTS_PER_GROUP`]
/// events, one row per distinct text with its count and newest time among them.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessStatementRow {
    pub backend_id: i64,
    pub credential: Option<String>,
    pub actor: Option<String>,
    pub action: String,
    /// The statement (the event's `$.message`), cut to 4,000 characters.
    pub text: String,
    /// Newest event with this text, milliseconds since the epoch.
    pub last_at_ms: i64,
    pub count: u64,
}

/// How many of a group's newest events have their statement read (as review reads them).
pub const STATEMENTS_PER_GROUP: i64 = 200;

/// Everything the access graph is built from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessRows {
    pub backends: Vec<AccessBackendRow>,
    pub principals: Vec<AccessPrincipalRow>,
    pub roles: Vec<AccessRoleRow>,
    pub permissions: Vec<AccessPermissionRow>,
    pub grants: Vec<AccessGrantRow>,
    pub credentials: Vec<AccessCredentialRow>,
    pub usage: Vec<AccessUsageRow>,
    pub statements: Vec<AccessStatementRow>,
}

impl Store {
    /// The counter every write to the access map's source tables bumps.
    pub async fn access_generation(&self) -> Result<i64> {
        let (gen,): (i64,) = sqlx::query_as("SELECT gen FROM access_generation WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(gen)
    }

    /// Reads all rows of the access map in one read transaction (a consistent snapshot), with the
    /// generation they belong to. Each table comes back as ONE JSON array built by SQLite: tens of
    /// thousands of rows cost one row's trip through the driver, and serde parses the rest.
    pub async fn access_rows(&self) -> Result<(i64, AccessRows)> {
        let mut tx = self.pool.begin().await?;
        let (gen,): (i64,) = sqlx::query_as("SELECT gen FROM access_generation WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        let mut rows = AccessRows::default();
        let backends: Vec<(i64, String, String)> = json_rows(
            &mut tx,
            "backends",
            "SELECT json_group_array(json_array(id, name, kind)) FROM (SELECT * FROM backends ORDER BY name)",
        )
        .await?;
        rows.backends = backends
            .into_iter()
            .map(|(id, name, kind)| AccessBackendRow { id, name, kind })
            .collect();
        let principals: Vec<(i64, String, String, String, i64)> = json_rows(
            &mut tx,
            "principals",
            "SELECT json_group_array(json_array(backend_id, external_id, kind, name, enabled)) FROM principals",
        )
        .await?;
        rows.principals = principals
            .into_iter()
            .map(
                |(backend_id, external_id, kind, name, enabled)| AccessPrincipalRow {
                    backend_id,
                    external_id,
                    kind,
                    name,
                    enabled: enabled != 0,
                },
            )
            .collect();
        let roles: Vec<(i64, String, String)> = json_rows(
            &mut tx,
            "roles",
            "SELECT json_group_array(json_array(backend_id, external_id, name)) FROM roles",
        )
        .await?;
        rows.roles = roles
            .into_iter()
            .map(|(backend_id, external_id, name)| AccessRoleRow {
                backend_id,
                external_id,
                name,
            })
            .collect();
        let permissions: Vec<(i64, String, String, String, String, String)> = json_rows(
            &mut tx,
            "permissions",
            "SELECT json_group_array(json_array(backend_id, external_id, name, resource, action, raw)) FROM permissions",
        )
        .await?;
        rows.permissions = permissions
            .into_iter()
            .map(
                |(backend_id, external_id, name, resource, action, raw)| AccessPermissionRow {
                    backend_id,
                    external_id,
                    name,
                    resource,
                    action,
                    raw,
                },
            )
            .collect();
        let grants: Vec<(i64, String, String, String, String)> = json_rows(
            &mut tx,
            "grants",
            "SELECT json_group_array(json_array(backend_id, from_kind, from_id, to_kind, to_id)) FROM grants",
        )
        .await?;
        rows.grants = grants
            .into_iter()
            .map(
                |(backend_id, from_kind, from_id, to_kind, to_id)| AccessGrantRow {
                    backend_id,
                    from_kind,
                    from_id,
                    to_kind,
                    to_id,
                },
            )
            .collect();
        type CredTuple = (
            i64,
            i64,
            String,
            String,
            Option<String>,
            Option<String>,
            String,
            String,
        );
        let credentials: Vec<CredTuple> = json_rows(
            &mut tx,
            "credentials",
            "SELECT json_group_array(json_array(id, backend_id, external_id, kind, principal_external_id,
                    client, scopes, status)) FROM credentials",
        )
        .await?;
        for (id, backend_id, external_id, kind, principal_external_id, client, scopes, status) in
            credentials
        {
            rows.credentials.push(AccessCredentialRow {
                id,
                backend_id,
                external_id,
                kind,
                principal_external_id,
                client,
                scopes: serde_json::from_str(&scopes).map_err(|e| StoreError::Corrupt {
                    what: "credentials.scopes",
                    detail: e.to_string(),
                })?,
                status,
            });
        }
        type UsageTuple = (
            i64,
            Option<String>,
            Option<String>,
            String,
            Option<String>,
            String,
            i64,
        );
        let usage: Vec<UsageTuple> = json_rows(
            &mut tx,
            "audit_events",
            "SELECT json_group_array(json_array(backend_id, credential, actor, action, resource, last_at, n))
             FROM (SELECT backend_id, credential, actor, action, resource, MAX(at) AS last_at, COUNT(*) AS n
                   FROM audit_events WHERE outcome = 'allow'
                   GROUP BY backend_id, credential, actor, action, resource)",
        )
        .await?;
        for (backend_id, credential, actor, action, resource, at, n) in usage {
            let last = parse_ts(&at).ok_or_else(|| StoreError::Corrupt {
                what: "audit_events.at",
                detail: at.clone(),
            })?;
            rows.usage.push(AccessUsageRow {
                backend_id,
                credential,
                actor,
                action,
                resource,
                last_at_ms: last.timestamp_millis(),
                count: n.max(0) as u64,
            });
        }
        rows.statements = access_statements(&mut tx, &rows).await?;
        tx.commit().await?;
        Ok((gen, rows))
    }
}

/// The statements of allowed PostgreSQL events without an object: one index seek per such usage
/// group (through `audit_events_usage`, the same lookup review makes), so the cost follows the
/// number of groups, not of events.
async fn access_statements(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    rows: &AccessRows,
) -> Result<Vec<AccessStatementRow>> {
    let postgres: Vec<i64> = rows
        .backends
        .iter()
        .filter(|b| b.kind == "postgres")
        .map(|b| b.id)
        .collect();
    let mut out = Vec::new();
    for g in rows.usage.iter().filter(|u| {
        postgres.contains(&u.backend_id)
            && u.resource.as_deref().is_none_or(str::is_empty)
            && !u.action.contains('.')
    }) {
        let texts: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT text, MAX(at), COUNT(*) FROM (
               SELECT substr(json_extract(e.raw, '$.message'), 1, 4000) AS text, e.at AS at
               FROM audit_events e INDEXED BY audit_events_usage
               WHERE e.backend_id = ? AND e.credential IS ? AND e.actor IS ? AND e.action = ?
                 AND e.resource IS ? AND e.outcome = 'allow'
               ORDER BY e.id DESC LIMIT ?)
             WHERE text IS NOT NULL AND text <> '' GROUP BY text",
        )
        .bind(g.backend_id)
        .bind(&g.credential)
        .bind(&g.actor)
        .bind(&g.action)
        .bind(&g.resource)
        .bind(STATEMENTS_PER_GROUP)
        .fetch_all(&mut **tx)
        .await?;
        for (text, at, n) in texts {
            let last = parse_ts(&at).ok_or_else(|| StoreError::Corrupt {
                what: "audit_events.at",
                detail: at.clone(),
            })?;
            out.push(AccessStatementRow {
                backend_id: g.backend_id,
                credential: g.credential.clone(),
                actor: g.actor.clone(),
                action: g.action.clone(),
                text,
                last_at_ms: last.timestamp_millis(),
                count: n.max(0) as u64,
            });
        }
    }
    Ok(out)
}

impl AccessRows {
    /// The rows a first sync of `inv` into an empty cache would give back, without a cache:
    /// for fuzzing and property tests that judge a connector's output with the access model at
    /// thousands of inputs a second. Ids are deduplicated as `replace_inventory` does (the last
    /// item with an id wins, as `by_id` keeps it) and credentials are numbered from 1 in id order; a test below holds
    /// it to the round trip through SQLite.
    pub fn of_inventory(backend: AccessBackendRow, inv: &portcullis_model::Inventory) -> Self {
        use crate::inventory::by_id;
        let b = backend.id;
        let principals = by_id(&inv.principals, |p| &p.external_id);
        let roles = by_id(&inv.roles, |r| &r.external_id);
        let permissions = by_id(&inv.permissions, |p| &p.external_id);
        let credentials = by_id(&inv.credentials, |c| &c.external_id);
        let grants: std::collections::BTreeSet<_> = inv
            .grants
            .iter()
            .map(|g| {
                (
                    g.from_kind.as_str(),
                    &g.from_id,
                    g.to_kind.as_str(),
                    &g.to_id,
                )
            })
            .collect();
        AccessRows {
            principals: principals
                .into_values()
                .map(|p| AccessPrincipalRow {
                    backend_id: b,
                    external_id: p.external_id.clone(),
                    kind: p.kind.as_str().into(),
                    name: p.name.clone(),
                    enabled: p.enabled,
                })
                .collect(),
            roles: roles
                .into_values()
                .map(|r| AccessRoleRow {
                    backend_id: b,
                    external_id: r.external_id.clone(),
                    name: r.name.clone(),
                })
                .collect(),
            permissions: permissions
                .into_values()
                .map(|p| AccessPermissionRow {
                    backend_id: b,
                    external_id: p.external_id.clone(),
                    name: p.name.clone(),
                    resource: p.resource.clone(),
                    action: p.action.as_str().into(),
                    raw: p.raw.to_string(),
                })
                .collect(),
            grants: grants
                .into_iter()
                .map(|(fk, fi, tk, ti)| AccessGrantRow {
                    backend_id: b,
                    from_kind: fk.into(),
                    from_id: fi.clone(),
                    to_kind: tk.into(),
                    to_id: ti.clone(),
                })
                .collect(),
            credentials: credentials
                .into_values()
                .zip(1..)
                .map(|(c, id)| AccessCredentialRow {
                    id,
                    backend_id: b,
                    external_id: c.external_id.clone(),
                    kind: c.kind.as_str().into(),
                    principal_external_id: c.principal_external_id.clone(),
                    client: c.client.clone(),
                    scopes: c.scopes.clone(),
                    status: c.status.as_str().into(),
                })
                .collect(),
            backends: vec![backend],
            usage: Vec::new(),
            statements: Vec::new(),
        }
    }
}

/// One query answering a single JSON array of row tuples, parsed into `T`s.
async fn json_rows<T: serde::de::DeserializeOwned>(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    what: &'static str,
    sql: &'static str,
) -> Result<Vec<T>> {
    let (text,): (String,) = sqlx::query_as(sql).fetch_one(&mut **tx).await?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
        what,
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_model::*;
    use serde_json::json;

    #[tokio::test]
    async fn writes_bump_the_generation_and_rows_come_back() {
        let s = Store::in_memory().await.unwrap();
        let g0 = s.access_generation().await.unwrap();
        let b = s
            .insert_backend(
                "bao",
                BackendKind::Vault,
                "http://x",
                &CredentialRef::None,
                &json!({}),
            )
            .await
            .unwrap();
        let g1 = s.access_generation().await.unwrap();
        assert!(g1 > g0, "adding a backend bumps the generation");
        let inv = Inventory {
            principals: vec![Principal {
                external_id: "alice".into(),
                kind: PrincipalKind::User,
                name: "alice".into(),
                enabled: true,
                attrs: json!({}),
            }],
            grants: vec![Grant {
                from_kind: NodeKind::Principal,
                from_id: "alice".into(),
                to_kind: NodeKind::Role,
                to_id: "r".into(),
            }],
            credentials: vec![Credential {
                external_id: "acc".into(),
                kind: CredentialKind::Accessor,
                principal_external_id: Some("alice".into()),
                client: None,
                scopes: vec!["r".into()],
                issued_at: None,
                expires_at: None,
                last_used_at: None,
                status: CredentialStatus::Active,
                attrs: json!({}),
            }],
            ..Inventory::default()
        };
        s.replace_inventory(b.id, &inv).await.unwrap();
        let g2 = s.access_generation().await.unwrap();
        assert!(g2 > g1);
        // An unchanged re-sync writes nothing, so the graph stays valid.
        s.replace_inventory(b.id, &inv).await.unwrap();
        assert_eq!(s.access_generation().await.unwrap(), g2);

        let (gen, rows) = s.access_rows().await.unwrap();
        assert_eq!(gen, g2);
        assert_eq!(rows.backends.len(), 1);
        assert_eq!(rows.principals[0].external_id, "alice");
        assert_eq!(rows.grants[0].to_id, "r");
        assert_eq!(rows.credentials[0].scopes, vec!["r".to_string()]);
        assert!(rows.usage.is_empty());
    }

    /// Sorts every table the way neither side promises, so the two can be compared.
    fn canon(mut r: AccessRows) -> AccessRows {
        r.principals
            .sort_by(|a, b| a.external_id.cmp(&b.external_id));
        r.roles.sort_by(|a, b| a.external_id.cmp(&b.external_id));
        r.permissions
            .sort_by(|a, b| a.external_id.cmp(&b.external_id));
        r.credentials.sort_by_key(|c| c.id);
        r.grants.sort_by(|a, b| {
            (&a.from_kind, &a.from_id, &a.to_kind, &a.to_id).cmp(&(
                &b.from_kind,
                &b.from_id,
                &b.to_kind,
                &b.to_id,
            ))
        });
        r
    }

    #[tokio::test]
    async fn rows_of_an_inventory_are_the_rows_a_sync_stores() {
        let s = Store::in_memory().await.unwrap();
        let b = s
            .insert_backend(
                "kc",
                BackendKind::Keycloak,
                "http://x",
                &CredentialRef::None,
                &json!({}),
            )
            .await
            .unwrap();
        let principal = |id: &str, name: &str, enabled| Principal {
            external_id: id.into(),
            kind: PrincipalKind::Service,
            name: name.into(),
            enabled,
            attrs: json!({"a": 1}),
        };
        let grant = |from: &str, to_kind, to: &str| Grant {
            from_kind: NodeKind::Principal,
            from_id: from.into(),
            to_kind,
            to_id: to.into(),
        };
        let cred = |id: &str, status| Credential {
            external_id: id.into(),
            kind: CredentialKind::RefreshToken,
            principal_external_id: Some("p2".into()),
            client: Some("app".into()),
            scopes: vec!["openid".into(), "a b".into()],
            issued_at: None,
            expires_at: None,
            last_used_at: None,
            status,
            attrs: json!({}),
        };
        // Duplicate ids and edges, out of order, as a hostile or sloppy backend may list them.
        let inv = Inventory {
            principals: vec![
                principal("p2", "old", true),
                principal("p1", "one", false),
                principal("p2", "two", true),
            ],
            roles: vec![Role {
                external_id: "r".into(),
                name: "R".into(),
                description: None,
            }],
            permissions: vec![Permission {
                external_id: "perm".into(),
                name: "read x".into(),
                resource: "x".into(),
                action: Action::Read,
                raw: json!({"k": ["v"]}),
            }],
            grants: vec![
                grant("p2", NodeKind::Role, "r"),
                grant("p1", NodeKind::Permission, "perm"),
                grant("p2", NodeKind::Role, "r"),
            ],
            credentials: vec![
                cred("t2", CredentialStatus::Active),
                cred("t1", CredentialStatus::Revoked),
            ],
        };
        s.replace_inventory(b.id, &inv).await.unwrap();
        let (_, stored) = s.access_rows().await.unwrap();
        let backend = stored.backends[0].clone();
        assert_eq!(
            canon(stored),
            canon(AccessRows::of_inventory(backend, &inv))
        );
    }
}
