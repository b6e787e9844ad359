//! Registered backends: name, kind, URL and a *reference* to where the credential lives.

use chrono::{DateTime, Utc};
use portcullis_model::{BackendKind, CheckSummary, CredentialRef};
use sqlx::Row;

use crate::{parse_ts, ts, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct BackendRow {
    pub id: i64,
    pub name: String,
    pub kind: BackendKind,
    pub url: String,
    pub credential_ref: CredentialRef,
    pub config: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub last_check: Option<CheckSummary>,
    /// Who the console is on the backend, as its last sync recorded it (`console_identity`).
    pub console_ids: Vec<String>,
}

/// The outcome of a check, as remembered for the Backends page.
#[derive(Debug, Clone)]
pub struct CheckRecord {
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub message: String,
}

/// sqlx 0.9 accepts only `'static` SQL, so the shared column list is spliced in at compile time.
macro_rules! select_backends {
    ($tail:literal) => {
        concat!(
            "SELECT id, name, kind, url, credential_ref, config, created_at, ",
            "last_check_at, last_check_ok, last_check_msg, ",
            "(SELECT json_group_array(value) FROM console_identity ci WHERE ci.backend_id = backends.id) AS console_ids ",
            "FROM backends ",
            $tail
        )
    };
}

fn row_to_backend(row: &sqlx::sqlite::SqliteRow) -> Result<BackendRow> {
    let corrupt = |what: &'static str, detail: String| StoreError::Corrupt { what, detail };
    let kind: String = row.try_get("kind")?;
    let cred: String = row.try_get("credential_ref")?;
    let config: String = row.try_get("config")?;
    let created: String = row.try_get("created_at")?;
    let check_at: Option<String> = row.try_get("last_check_at")?;
    let check_ok: Option<bool> = row.try_get("last_check_ok")?;
    let check_msg: Option<String> = row.try_get("last_check_msg")?;
    let console_ids: String = row.try_get("console_ids")?;
    let last_check = match (check_at.as_deref().and_then(parse_ts), check_ok) {
        (Some(at), Some(ok)) => Some(CheckSummary {
            at,
            ok,
            message: check_msg.unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(BackendRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        kind: kind.parse().map_err(|e| corrupt("backends.kind", e))?,
        url: row.try_get("url")?,
        credential_ref: serde_json::from_str(&cred)
            .map_err(|e| corrupt("backends.credential_ref", e.to_string()))?,
        config: serde_json::from_str(&config)
            .map_err(|e| corrupt("backends.config", e.to_string()))?,
        created_at: parse_ts(&created).ok_or_else(|| corrupt("backends.created_at", created))?,
        last_check,
        console_ids: serde_json::from_str(&console_ids)
            .map_err(|e| corrupt("console_identity", e.to_string()))?,
    })
}

impl Store {
    /// Records who the console is on a backend (see the `console_identity` table), replacing
    /// what an earlier sync recorded; empty values are ignored.
    pub async fn set_console_identity(&self, backend_id: i64, values: &[String]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM console_identity WHERE backend_id = ?")
            .bind(backend_id)
            .execute(&mut *tx)
            .await?;
        for v in values.iter().filter(|v| !v.is_empty()) {
            sqlx::query("INSERT OR IGNORE INTO console_identity (backend_id, value) VALUES (?, ?)")
                .bind(backend_id)
                .bind(v)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Who the console is on a backend, as its last sync recorded it.
    pub async fn console_identity(&self, backend_id: i64) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT value FROM console_identity WHERE backend_id = ? ORDER BY value",
        )
        .bind(backend_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(v,)| v).collect())
    }

    pub async fn insert_backend(
        &self,
        name: &str,
        kind: BackendKind,
        url: &str,
        credential_ref: &CredentialRef,
        config: &serde_json::Value,
    ) -> Result<BackendRow> {
        let cred = serde_json::to_string(credential_ref).map_err(|e| StoreError::Corrupt {
            what: "credential_ref",
            detail: e.to_string(),
        })?;
        let res = sqlx::query(
            "INSERT INTO backends (name, kind, url, credential_ref, config, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(name)
        .bind(kind.as_str())
        .bind(url)
        .bind(cred)
        .bind(config.to_string())
        .bind(ts(Utc::now()))
        .execute(&self.pool)
        .await;
        match res {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Conflict {
                    what: "backend",
                    name: name.to_string(),
                })
            }
            other => other?,
        };
        self.backend_by_name(name).await
    }

    pub async fn list_backends(&self) -> Result<Vec<BackendRow>> {
        let rows = sqlx::query(select_backends!("ORDER BY name"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_to_backend).collect()
    }

    pub async fn backend_by_name(&self, name: &str) -> Result<BackendRow> {
        let row = sqlx::query(select_backends!("WHERE name = ?"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "backend",
                name: name.to_string(),
            })?;
        row_to_backend(&row)
    }

    /// Removes a backend and everything cached from it. The journal keeps its own copy of names.
    pub async fn delete_backend(&self, name: &str) -> Result<()> {
        let res = sqlx::query("DELETE FROM backends WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "backend",
                name: name.to_string(),
            });
        }
        Ok(())
    }

    pub async fn record_check(&self, backend_id: i64, check: &CheckRecord) -> Result<()> {
        sqlx::query(
            "UPDATE backends SET last_check_at = ?, last_check_ok = ?, last_check_msg = ? WHERE id = ?",
        )
        .bind(ts(check.at))
        .bind(check.ok)
        .bind(&check.message)
        .bind(backend_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn add_list_check_remove() {
        let s = Store::in_memory().await.unwrap();
        let cred = CredentialRef::Env {
            var: "BAO_TOKEN".into(),
        };
        let b = s
            .insert_backend(
                "bao",
                BackendKind::Vault,
                "http://127.0.0.1:8200",
                &cred,
                &serde_json::json!({}),
            )
            .await
            .unwrap();
        assert_eq!(b.name, "bao");
        assert_eq!(b.credential_ref, cred);
        assert!(b.last_check.is_none());

        let dup = s
            .insert_backend(
                "bao",
                BackendKind::Vault,
                "x",
                &cred,
                &serde_json::json!({}),
            )
            .await;
        assert!(matches!(dup, Err(StoreError::Conflict { .. })));

        s.record_check(
            b.id,
            &CheckRecord {
                at: Utc::now(),
                ok: true,
                message: "token portcullis".into(),
            },
        )
        .await
        .unwrap();
        let listed = s.list_backends().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].last_check.as_ref().map(|c| c.ok), Some(true));

        s.delete_backend("bao").await.unwrap();
        assert!(s.list_backends().await.unwrap().is_empty());
        assert!(matches!(
            s.delete_backend("bao").await,
            Err(StoreError::NotFound { .. })
        ));
    }
}
