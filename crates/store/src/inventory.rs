//! Replacing a backend's cached inventory with a fresh snapshot, writing only what changed.
//!
//! Each row carries a digest of its content; a row whose digest is unchanged is not rewritten, a
//! row missing from the snapshot is deleted — except credentials: one learnt by token triage stays
//! as it is (a backend that cannot list tokens would otherwise erase it), and one a sync no longer
//! lists keeps its row with a status that says it ended (`revoked` stays revoked, one past its
//! expiry becomes `expired`, anything else `deleted`), so the trail after a revocation — the
//! credential, its receipt in the journal, its audit events — never loses its subject. All of it
//! happens in one transaction, so a sync interrupted mid-write leaves the previous inventory
//! intact.

use chrono::Utc;
use portcullis_model::{Credential, Grant, Inventory, Permission, Principal, Role};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{Sqlite, Transaction};
use std::collections::{BTreeMap, HashMap, HashSet};

use crate::{ts, Result, Store};

/// How many rows a replacement inserted or updated, and deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InventoryChanges {
    pub written: u64,
    pub deleted: u64,
}

fn digest<T: Serialize>(item: &T) -> String {
    let bytes = serde_json::to_vec(item).unwrap_or_default();
    hex::encode(&Sha256::digest(&bytes)[..16])
}

fn opt_ts(t: Option<chrono::DateTime<Utc>>) -> Option<String> {
    t.map(ts)
}

async fn existing_digests(
    tx: &mut Transaction<'_, Sqlite>,
    sql: &'static str,
    backend_id: i64,
) -> Result<HashMap<String, String>> {
    let rows: Vec<(String, String)> = sqlx::query_as(sql)
        .bind(backend_id)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Deduplicates by external id (last wins) so a connector's repeat cannot fail the insert.
pub(crate) fn by_id<T>(items: &[T], id: impl Fn(&T) -> &str) -> BTreeMap<&str, &T> {
    items.iter().map(|i| (id(i), i)).collect()
}

impl Store {
    pub async fn replace_inventory(
        &self,
        backend_id: i64,
        inv: &Inventory,
    ) -> Result<InventoryChanges> {
        let now = ts(Utc::now());
        let mut changes = InventoryChanges::default();
        let mut tx = self.pool.begin().await?;

        // Principals.
        let old = existing_digests(
            &mut tx,
            "SELECT external_id, digest FROM principals WHERE backend_id = ?",
            backend_id,
        )
        .await?;
        let new = by_id(&inv.principals, |p: &Principal| &p.external_id);
        for (id, p) in &new {
            let d = digest(p);
            if old.get(*id) == Some(&d) {
                continue;
            }
            sqlx::query(
                "INSERT INTO principals (backend_id, external_id, kind, name, enabled, attrs, digest, first_seen, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
                 ON CONFLICT (backend_id, external_id) DO UPDATE SET kind = excluded.kind, name = excluded.name,
                   enabled = excluded.enabled, attrs = excluded.attrs, digest = excluded.digest, last_seen = excluded.last_seen",
            )
            .bind(backend_id)
            .bind(*id)
            .bind(p.kind.as_str())
            .bind(&p.name)
            .bind(p.enabled)
            .bind(p.attrs.to_string())
            .bind(d)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            changes.written += 1;
        }
        for id in old.keys().filter(|k| !new.contains_key(k.as_str())) {
            sqlx::query("DELETE FROM principals WHERE backend_id = ? AND external_id = ?")
                .bind(backend_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            changes.deleted += 1;
        }

        // Roles.
        let old = existing_digests(
            &mut tx,
            "SELECT external_id, digest FROM roles WHERE backend_id = ?",
            backend_id,
        )
        .await?;
        let new = by_id(&inv.roles, |r: &Role| &r.external_id);
        for (id, r) in &new {
            let d = digest(r);
            if old.get(*id) == Some(&d) {
                continue;
            }
            sqlx::query(
                "INSERT INTO roles (backend_id, external_id, name, description, digest, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (backend_id, external_id) DO UPDATE SET name = excluded.name,
                   description = excluded.description, digest = excluded.digest, last_seen = excluded.last_seen",
            )
            .bind(backend_id)
            .bind(*id)
            .bind(&r.name)
            .bind(&r.description)
            .bind(d)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            changes.written += 1;
        }
        for id in old.keys().filter(|k| !new.contains_key(k.as_str())) {
            sqlx::query("DELETE FROM roles WHERE backend_id = ? AND external_id = ?")
                .bind(backend_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            changes.deleted += 1;
        }

        // Permissions.
        let old = existing_digests(
            &mut tx,
            "SELECT external_id, digest FROM permissions WHERE backend_id = ?",
            backend_id,
        )
        .await?;
        let new = by_id(&inv.permissions, |p: &Permission| &p.external_id);
        for (id, p) in &new {
            let d = digest(p);
            if old.get(*id) == Some(&d) {
                continue;
            }
            sqlx::query(
                "INSERT INTO permissions (backend_id, external_id, name, resource, action, raw, digest, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (backend_id, external_id) DO UPDATE SET name = excluded.name, resource = excluded.resource,
                   action = excluded.action, raw = excluded.raw, digest = excluded.digest, last_seen = excluded.last_seen",
            )
            .bind(backend_id)
            .bind(*id)
            .bind(&p.name)
            .bind(&p.resource)
            .bind(p.action.as_str())
            .bind(p.raw.to_string())
            .bind(d)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            changes.written += 1;
        }
        for id in old.keys().filter(|k| !new.contains_key(k.as_str())) {
            sqlx::query("DELETE FROM permissions WHERE backend_id = ? AND external_id = ?")
                .bind(backend_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            changes.deleted += 1;
        }

        // Grants: identity is the whole edge.
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT from_kind, from_id, to_kind, to_id FROM grants WHERE backend_id = ?",
        )
        .bind(backend_id)
        .fetch_all(&mut *tx)
        .await?;
        let old: HashSet<(String, String, String, String)> = rows.into_iter().collect();
        let key = |g: &Grant| {
            (
                g.from_kind.as_str().to_string(),
                g.from_id.clone(),
                g.to_kind.as_str().to_string(),
                g.to_id.clone(),
            )
        };
        let new: HashSet<(String, String, String, String)> = inv.grants.iter().map(key).collect();
        for g in new.difference(&old) {
            sqlx::query(
                "INSERT INTO grants (backend_id, from_kind, from_id, to_kind, to_id, last_seen) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(backend_id)
            .bind(&g.0)
            .bind(&g.1)
            .bind(&g.2)
            .bind(&g.3)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            changes.written += 1;
        }
        for g in old.difference(&new) {
            sqlx::query(
                "DELETE FROM grants WHERE backend_id = ? AND from_kind = ? AND from_id = ? AND to_kind = ? AND to_id = ?",
            )
            .bind(backend_id)
            .bind(&g.0)
            .bind(&g.1)
            .bind(&g.2)
            .bind(&g.3)
            .execute(&mut *tx)
            .await?;
            changes.deleted += 1;
        }

        // Credentials.
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT external_id, digest, origin, status FROM credentials WHERE backend_id = ?",
        )
        .bind(backend_id)
        .fetch_all(&mut *tx)
        .await?;
        let old: HashMap<String, (String, String, String)> = rows
            .into_iter()
            .map(|(a, b, c, d)| (a, (b, c, d)))
            .collect();
        let new = by_id(&inv.credentials, |c: &Credential| &c.external_id);
        for (id, c) in &new {
            let d = digest(c);
            if old.get(*id).map(|(dg, _, _)| dg) == Some(&d) {
                continue;
            }
            upsert_credential(&mut tx, backend_id, c, &d, "sync", &now).await?;
            changes.written += 1;
        }
        for (id, (_, origin, status)) in &old {
            if origin == "sync" && !new.contains_key(id.as_str()) && !ended(status) {
                end_credential(&mut tx, backend_id, id, &now).await?;
                changes.deleted += 1;
            }
        }
        tx.commit().await?;
        Ok(changes)
    }

    /// Records a credential learnt by token triage (kept across syncs that cannot list it).
    pub async fn upsert_triaged_credential(&self, backend_id: i64, c: &Credential) -> Result<()> {
        let now = ts(Utc::now());
        let mut tx = self.pool.begin().await?;
        upsert_credential(&mut tx, backend_id, c, &digest(c), "triage", &now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a credential's status (after a verified revocation).
    pub async fn set_credential_status(
        &self,
        backend_id: i64,
        external_id: &str,
        status: portcullis_model::CredentialStatus,
    ) -> Result<bool> {
        let res = sqlx::query(
            "UPDATE credentials SET status = ?, digest = '' WHERE backend_id = ? AND external_id = ?",
        )
        .bind(status.as_str())
        .bind(backend_id)
        .bind(external_id)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() > 0)
    }
}

/// A status that already says the credential is over (nothing more for a sync to record).
fn ended(status: &str) -> bool {
    matches!(status, "revoked" | "expired" | "deleted")
}

/// Marks a credential a sync no longer lists as ended, keeping its row: past its expiry it
/// `expired`, otherwise it was `deleted` (a revocation already recorded its `revoked`). The
/// empty digest makes the next sync that lists it again rewrite it.
async fn end_credential(
    tx: &mut Transaction<'_, Sqlite>,
    backend_id: i64,
    external_id: &str,
    now: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE credentials SET digest = '',
           status = CASE WHEN expires_at IS NOT NULL AND expires_at <= ?1 THEN 'expired' ELSE 'deleted' END
         WHERE backend_id = ?2 AND external_id = ?3",
    )
    .bind(now)
    .bind(backend_id)
    .bind(external_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn upsert_credential(
    tx: &mut Transaction<'_, Sqlite>,
    backend_id: i64,
    c: &Credential,
    digest: &str,
    origin: &str,
    now: &str,
) -> Result<()> {
    let scopes = serde_json::to_string(&c.scopes).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO credentials (backend_id, external_id, kind, principal_external_id, client, scopes, issued_at,
                                  expires_at, last_used_at, status, attrs, digest, origin, first_seen, last_seen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)
         ON CONFLICT (backend_id, external_id) DO UPDATE SET kind = excluded.kind,
           principal_external_id = excluded.principal_external_id, client = excluded.client, scopes = excluded.scopes,
           issued_at = excluded.issued_at, expires_at = excluded.expires_at,
           last_used_at = COALESCE(excluded.last_used_at, credentials.last_used_at),
           status = excluded.status, digest = excluded.digest,
           -- The fingerprint triage recorded stays: it is how a pasted token is recognised
           -- once the backend has forgotten it.
           attrs = CASE WHEN json_valid(credentials.attrs) AND json_valid(excluded.attrs)
                          AND json_type(excluded.attrs) = 'object'
                          AND json_extract(excluded.attrs, '$.fingerprint') IS NULL
                          AND json_extract(credentials.attrs, '$.fingerprint') IS NOT NULL
                        THEN json_set(excluded.attrs, '$.fingerprint', json_extract(credentials.attrs, '$.fingerprint'))
                        ELSE excluded.attrs END,
           origin = CASE WHEN excluded.origin = 'sync' THEN 'sync' ELSE credentials.origin END,
           last_seen = excluded.last_seen",
    )
    .bind(backend_id)
    .bind(&c.external_id)
    .bind(c.kind.as_str())
    .bind(&c.principal_external_id)
    .bind(&c.client)
    .bind(scopes)
    .bind(opt_ts(c.issued_at))
    .bind(opt_ts(c.expires_at))
    .bind(opt_ts(c.last_used_at))
    .bind(c.status.as_str())
    .bind(c.attrs.to_string())
    .bind(digest)
    .bind(origin)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_model::*;
    use serde_json::json;
    use std::time::Duration;

    /// Registers the Vault backend `b`; its id.
    async fn add_backend(s: &Store) -> i64 {
        s.insert_backend(
            "b",
            BackendKind::Vault,
            "http://x",
            &CredentialRef::None,
            &json!({}),
        )
        .await
        .unwrap()
        .id
    }

    async fn store_with_backend() -> (Store, i64) {
        let s = Store::in_memory().await.unwrap();
        let b = add_backend(&s).await;
        (s, b)
    }

    fn inv() -> Inventory {
        Inventory {
            principals: vec![Principal {
                external_id: "alice".into(),
                kind: PrincipalKind::User,
                name: "alice".into(),
                enabled: true,
                attrs: json!({}),
            }],
            roles: vec![Role {
                external_id: "r".into(),
                name: "r".into(),
                description: None,
            }],
            permissions: vec![Permission {
                external_id: "p".into(),
                name: "read p".into(),
                resource: "p".into(),
                action: Action::Read,
                raw: json!(null),
            }],
            grants: vec![
                Grant {
                    from_kind: NodeKind::Principal,
                    from_id: "alice".into(),
                    to_kind: NodeKind::Role,
                    to_id: "r".into(),
                },
                Grant {
                    from_kind: NodeKind::Role,
                    from_id: "r".into(),
                    to_kind: NodeKind::Permission,
                    to_id: "p".into(),
                },
            ],
            credentials: vec![Credential {
                external_id: "acc1".into(),
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
        }
    }

    #[tokio::test]
    async fn credential_reads_map_every_column_and_read_only_what_is_asked() {
        // A cache file: status marking goes through the journal's appender, its own connection.
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("cache.db")).await.unwrap();
        let b = add_backend(&s).await;
        let mut inventory = inv();
        let issued = chrono::Utc::now() - chrono::Duration::hours(1);
        inventory.credentials.push(Credential {
            external_id: "acc2".into(),
            kind: CredentialKind::AccessToken,
            principal_external_id: Some("alice".into()),
            client: Some("cli".into()),
            scopes: vec!["a".into(), "b".into()],
            issued_at: Some(issued),
            expires_at: Some(issued + chrono::Duration::hours(2)),
            last_used_at: None,
            status: CredentialStatus::Active,
            attrs: json!({"meta": {"username": "alice"}}),
        });
        s.replace_inventory(b, &inventory).await.unwrap();
        let all = s
            .list_credentials(&CredentialFilter {
                limit: Some(100),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(all.len(), 2);
        let two = all.iter().find(|c| c.external_id == "acc2").unwrap();
        assert_eq!(two.backend, "b");
        assert_eq!(two.backend_kind, BackendKind::Vault);
        assert_eq!(two.kind, CredentialKind::AccessToken);
        assert_eq!(two.principal_name.as_deref(), Some("alice"));
        assert_eq!(two.client.as_deref(), Some("cli"));
        assert_eq!(two.scopes, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(
            two.issued_at.map(|t| t.timestamp()),
            Some(issued.timestamp())
        );
        assert_eq!(two.attrs["meta"]["username"], "alice");

        // By ids: only those asked for, in id order; an id not in the cache is left out.
        let ids: Vec<i64> = all.iter().map(|c| c.id).collect();
        let by_ids = s
            .credentials_by_ids(&[ids[1], 999_999, ids[0]])
            .await
            .unwrap();
        let mut want = ids.clone();
        want.sort_unstable();
        assert_eq!(by_ids.iter().map(|c| c.id).collect::<Vec<_>>(), want);
        assert!(s.credentials_by_ids(&[]).await.unwrap().is_empty());
        assert_eq!(s.credential_by_id(two.id).await.unwrap(), *two);
        assert!(matches!(
            s.credential_by_id(999_999).await,
            Err(crate::StoreError::NotFound { .. })
        ));

        // A filter that binds several values (search runs over six columns).
        let found = s
            .list_credentials(&CredentialFilter {
                search: Some("cli".into()),
                status: Some(CredentialStatus::Active),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].external_id, "acc2");

        // Status marking changes only what is not already so.
        let marked = [(b, "acc2".to_string()), (b, "nope".to_string())];
        let mut appender = s.journal_appender().unwrap();
        assert_eq!(
            appender
                .set_credential_statuses(&marked, CredentialStatus::Revoked, Duration::ZERO)
                .unwrap(),
            1
        );
        assert_eq!(
            appender
                .set_credential_statuses(&marked, CredentialStatus::Revoked, Duration::ZERO)
                .unwrap(),
            0
        );
        drop(appender);
        assert_eq!(
            s.credential_by_id(two.id).await.unwrap().status,
            CredentialStatus::Revoked
        );
    }

    #[tokio::test]
    async fn unchanged_inventory_is_not_rewritten_and_missing_rows_go() {
        let (s, b) = store_with_backend().await;
        let first = s.replace_inventory(b, &inv()).await.unwrap();
        assert_eq!(
            first,
            InventoryChanges {
                written: 6,
                deleted: 0
            }
        );
        let again = s.replace_inventory(b, &inv()).await.unwrap();
        assert_eq!(
            again,
            InventoryChanges {
                written: 0,
                deleted: 0
            }
        );

        let mut smaller = inv();
        smaller.grants.pop();
        smaller.principals[0].enabled = false;
        let third = s.replace_inventory(b, &smaller).await.unwrap();
        assert_eq!(
            third,
            InventoryChanges {
                written: 1,
                deleted: 1
            }
        );
        let c = s.counts(Some(b)).await.unwrap();
        assert_eq!((c.principals, c.grants, c.credentials), (1, 1, 1));
    }

    #[tokio::test]
    async fn triaged_credentials_survive_a_sync_that_cannot_see_them() {
        let (s, b) = store_with_backend().await;
        let mut triaged = inv().credentials[0].clone();
        triaged.external_id = "fp-of-a-pasted-token".into();
        s.upsert_triaged_credential(b, &triaged).await.unwrap();
        s.replace_inventory(b, &inv()).await.unwrap();
        assert_eq!(s.counts(Some(b)).await.unwrap().credentials, 2);
        assert!(s
            .set_credential_status(b, "fp-of-a-pasted-token", CredentialStatus::Revoked)
            .await
            .unwrap());
        // A listed token triage met keeps the fingerprint triage recorded through the syncs
        // that rewrite it: how a pasted token is recognised once the backend forgets it.
        let mut met = inv().credentials[0].clone();
        met.attrs = json!({"fingerprint": "fp-acc1"});
        s.upsert_triaged_credential(b, &met).await.unwrap();
        let mut changed = inv();
        changed.credentials[0].attrs = json!({"display_name": "x"});
        s.replace_inventory(b, &changed).await.unwrap();
        let found = s.credential_by_fingerprint("b", "fp-acc1").await.unwrap();
        assert_eq!(found.map(|c| c.external_id).as_deref(), Some("acc1"));
    }

    /// The trail after a revocation: a credential a sync no longer lists keeps its row, and its
    /// status says how it ended; listed again, it is what the backend says.
    #[tokio::test]
    async fn credentials_a_sync_no_longer_lists_stay_with_a_status_that_says_they_ended() {
        let (s, b) = store_with_backend().await;
        let mut full = inv();
        let past = chrono::Utc::now() - chrono::Duration::days(1);
        for (id, expires) in [
            ("revoked-one", None),
            ("lapsed", Some(past)),
            ("gone", None),
        ] {
            let mut c = full.credentials[0].clone();
            c.external_id = id.into();
            c.expires_at = expires;
            full.credentials.push(c);
        }
        s.replace_inventory(b, &full).await.unwrap();
        assert!(s
            .set_credential_status(b, "revoked-one", CredentialStatus::Revoked)
            .await
            .unwrap());
        let changes = s.replace_inventory(b, &inv()).await.unwrap();
        // Two ended here; the revoked one had ended already.
        assert_eq!(changes.deleted, 2);
        let status = |id: &'static str| {
            let s = s.clone();
            async move {
                let all = s
                    .list_credentials(&CredentialFilter {
                        search: Some(id.into()),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                all.into_iter()
                    .find(|c| c.external_id == id)
                    .map(|c| c.status)
            }
        };
        assert_eq!(status("revoked-one").await, Some(CredentialStatus::Revoked));
        assert_eq!(status("lapsed").await, Some(CredentialStatus::Expired));
        assert_eq!(status("gone").await, Some(CredentialStatus::Deleted));
        assert_eq!(status("acc1").await, Some(CredentialStatus::Active));
        // A second sync without them changes nothing.
        assert_eq!(s.replace_inventory(b, &inv()).await.unwrap().deleted, 0);
        // Listed again: live again, as the backend says.
        s.replace_inventory(b, &full).await.unwrap();
        assert_eq!(status("gone").await, Some(CredentialStatus::Active));
    }
}
