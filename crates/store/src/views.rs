//! Read models for screens and the CLI: credentials and principals joined with their backend,
//! filtered and sorted in SQL.

use portcullis_model::{
    AuditEventView, BackendKind, CredentialFilter, CredentialKind, CredentialStatus,
    CredentialView, Outcome, PrincipalKind, PrincipalView,
};
use sqlx::Row;

use crate::{parse_ts, ts, Result, Store, StoreError};

fn corrupt(what: &'static str, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        what,
        detail: detail.into(),
    }
}

fn cred_kind(s: &str) -> Result<CredentialKind> {
    serde_json::from_value(serde_json::Value::String(s.into()))
        .map_err(|_| corrupt("credentials.kind", s))
}

fn cred_status(s: &str) -> Result<CredentialStatus> {
    serde_json::from_value(serde_json::Value::String(s.into()))
        .map_err(|_| corrupt("credentials.status", s))
}

/// One row of [`CREDENTIAL_SELECT`], by column position (a lookup by name per column per row
/// costs more than the rest of the mapping).
fn row_to_credential(r: &rusqlite::Row<'_>) -> Result<CredentialView> {
    let text = |i: usize| -> Result<String> { Ok(r.get::<_, String>(i)?) };
    let opt = |i: usize| -> Result<Option<String>> { Ok(r.get::<_, Option<String>>(i)?) };
    let not_text = |i: usize, e: rusqlite::types::FromSqlError| {
        corrupt("credentials", format!("column {i} is not text: {e}"))
    };
    let str_at = |i: usize| -> Result<&str> { r.get_ref(i)?.as_str().map_err(|e| not_text(i, e)) };
    let time = |i: usize| -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        Ok(r.get_ref(i)?
            .as_str_or_null()
            .map_err(|e| not_text(i, e))?
            .and_then(parse_ts))
    };
    let bkind = str_at(2)?;
    Ok(CredentialView {
        id: r.get(0)?,
        backend: text(1)?,
        backend_kind: bkind
            .parse::<BackendKind>()
            .map_err(|e| corrupt("backends.kind", e))?,
        external_id: text(3)?,
        kind: cred_kind(str_at(4)?)?,
        principal: opt(5)?,
        principal_name: opt(6)?,
        client: opt(7)?,
        scopes: serde_json::from_str(str_at(8)?).unwrap_or_default(),
        issued_at: time(9)?,
        expires_at: time(10)?,
        last_used_at: time(11)?,
        status: cred_status(str_at(12)?)?,
        origin: text(13)?,
        attrs: serde_json::from_str(str_at(14)?).unwrap_or(serde_json::Value::Null),
    })
}

/// SQL text and its arguments, for reads run through rusqlite (see [`Store::credential_rows`]).
struct RawQuery {
    sql: String,
    args: Vec<rusqlite::types::Value>,
}

impl RawQuery {
    /// [`CREDENTIAL_SELECT`] as of `now`, up to its `WHERE`: what every credential read starts
    /// with.
    fn credentials(now: String) -> RawQuery {
        let mut q = RawQuery {
            sql: CREDENTIAL_SELECT.to_string(),
            args: Vec::new(),
        };
        q.bind(now).push(CREDENTIAL_FROM);
        q
    }

    fn push(&mut self, sql: &str) -> &mut RawQuery {
        self.sql.push_str(sql);
        self
    }

    fn bind(&mut self, v: impl Into<rusqlite::types::Value>) -> &mut RawQuery {
        self.sql.push('?');
        self.args.push(v.into());
        self
    }
}

const CREDENTIAL_SELECT: &str = "SELECT c.id, b.name AS backend, b.kind AS backend_kind, c.external_id, c.kind,
        c.principal_external_id, p.name AS principal_name, c.client, c.scopes, c.issued_at, c.expires_at,
        c.last_used_at, CASE WHEN c.status = 'active' AND c.expires_at IS NOT NULL AND c.expires_at <= ";

/// The rest of [`CREDENTIAL_SELECT`], after the bound "now". Column order is what
/// [`row_to_credential`] reads.
const CREDENTIAL_FROM: &str = " THEN 'expired' ELSE c.status END AS status, c.origin, c.attrs
     FROM credentials c JOIN backends b ON b.id = c.backend_id
     LEFT JOIN principals p ON p.backend_id = c.backend_id AND p.external_id = c.principal_external_id";

impl Store {
    /// The credentials with these ids, in id order; ids not in the cache are left out. Reads only
    /// them, however big the cache: what a run over a selection re-reads before sending.
    pub async fn credentials_by_ids(&self, ids: &[i64]) -> Result<Vec<CredentialView>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids =
            serde_json::to_string(ids).map_err(|e| corrupt("credential ids", e.to_string()))?;
        let mut q = RawQuery::credentials(ts(chrono::Utc::now()));
        // One bound JSON array rather than a parameter per id: no limit on how many.
        q.push(" WHERE c.id IN (SELECT value FROM json_each(")
            .bind(ids)
            .push(")) ORDER BY c.id");
        self.credential_rows(q).await
    }

    /// Runs a query over [`CREDENTIAL_SELECT`] through rusqlite on a pooled connection: through
    /// sqlx every row is copied value by value and handed across threads one at a time, which
    /// made reading a cache of a few thousand credentials take tens of milliseconds.
    async fn credential_rows(&self, q: RawQuery) -> Result<Vec<CredentialView>> {
        self.with_raw_connection(|db| {
            let mut st = db.prepare(&q.sql)?;
            let mut rows = st.query(rusqlite::params_from_iter(q.args.iter()))?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(row_to_credential(r)?);
            }
            Ok(out)
        })
        .await
    }

    pub async fn list_credentials(&self, f: &CredentialFilter) -> Result<Vec<CredentialView>> {
        let now = ts(chrono::Utc::now());
        let mut q = RawQuery::credentials(now.clone());
        q.push(" WHERE 1 = 1");
        if let Some(b) = &f.backend {
            q.push(" AND b.name = ").bind(b.clone());
        }
        if let Some(p) = &f.principal {
            q.push(" AND (c.principal_external_id = ")
                .bind(p.clone())
                .push(" OR p.name = ")
                .bind(p.clone())
                .push(")");
        }
        if let Some(k) = f.kind {
            q.push(" AND c.kind = ").bind(k.as_str().to_string());
        }
        if let Some(s) = f.status {
            match s {
                CredentialStatus::Expired => {
                    q.push(
                        " AND (c.status = 'expired' OR (c.status = 'active' AND c.expires_at <= ",
                    )
                    .bind(now.clone())
                    .push("))");
                }
                CredentialStatus::Active => {
                    q.push(" AND c.status = 'active' AND (c.expires_at IS NULL OR c.expires_at > ")
                        .bind(now.clone())
                        .push(")");
                }
                other => {
                    q.push(" AND c.status = ").bind(other.as_str().to_string());
                }
            }
        }
        if f.never_expires {
            q.push(" AND c.expires_at IS NULL");
        }
        if let Some(s) = f.search.as_ref().filter(|s| !s.trim().is_empty()) {
            let like = format!("%{}%", s.trim().replace('%', "\\%").replace('_', "\\_"));
            q.push(" AND (c.external_id LIKE ")
                .bind(like.clone())
                .push(" ESCAPE '\\'");
            for col in [
                "c.principal_external_id",
                "p.name",
                "c.client",
                "c.scopes",
                "b.name",
            ] {
                q.push(" OR ")
                    .push(col)
                    .push(" LIKE ")
                    .bind(like.clone())
                    .push(" ESCAPE '\\'");
            }
            q.push(")");
        }
        let dir = if f.descending { " DESC" } else { " ASC" };
        let order = match f.sort.as_deref() {
            Some("expires") => "c.expires_at IS NULL, c.expires_at",
            Some("issued") => "c.issued_at",
            Some("last_used") => "c.last_used_at IS NULL, c.last_used_at",
            Some("principal") => "COALESCE(p.name, c.principal_external_id)",
            Some("status") => "c.status",
            _ => "b.name, COALESCE(p.name, c.principal_external_id)",
        };
        q.push(" ORDER BY ").push(order).push(dir).push(", c.id");
        q.push(" LIMIT ").bind(i64::from(f.limit.unwrap_or(10_000)));
        self.credential_rows(q).await
    }

    pub async fn credential_by_id(&self, id: i64) -> Result<CredentialView> {
        let mut q = RawQuery::credentials(ts(chrono::Utc::now()));
        q.push(" WHERE c.id = ").bind(id);
        self.credential_rows(q)
            .await?
            .pop()
            .ok_or_else(|| StoreError::NotFound {
                what: "credential",
                name: id.to_string(),
            })
    }

    /// The cached credential a backend knows by `external_id` (what its audit events name), if
    /// any.
    pub async fn credential_by_external_id(
        &self,
        backend: &str,
        external_id: &str,
    ) -> Result<Option<CredentialView>> {
        let mut q = RawQuery::credentials(ts(chrono::Utc::now()));
        q.push(" WHERE b.name = ")
            .bind(backend.to_string())
            .push(" AND c.external_id = ")
            .bind(external_id.to_string());
        Ok(self.credential_rows(q).await?.pop())
    }

    /// The cached credential of `backend` a token with this SHA-256 `fingerprint` was: known by
    /// the fingerprint itself (OAuth 2.0 tokens) or recorded with it when triage met the token
    /// (`attrs.fingerprint`). What lets triage recognise a token the backend no longer knows.
    pub async fn credential_by_fingerprint(
        &self,
        backend: &str,
        fingerprint: &str,
    ) -> Result<Option<CredentialView>> {
        let mut q = RawQuery::credentials(ts(chrono::Utc::now()));
        q.push(" WHERE b.name = ")
            .bind(backend.to_string())
            .push(" AND (c.external_id = ")
            .bind(fingerprint.to_string())
            .push(" OR (json_valid(c.attrs) AND json_extract(c.attrs, '$.fingerprint') = ")
            .bind(fingerprint.to_string())
            .push(")) ORDER BY c.id DESC LIMIT 1");
        Ok(self.credential_rows(q).await?.pop())
    }

    pub async fn list_principals(
        &self,
        backend: Option<&str>,
        search: Option<&str>,
    ) -> Result<Vec<PrincipalView>> {
        let like = search.map(|s| format!("%{}%", s.trim()));
        let rows = sqlx::query(
            "SELECT p.id, b.name AS backend, b.kind AS backend_kind, p.external_id, p.kind, p.name, p.enabled, p.attrs,
                    (SELECT json_group_array(g.to_id) FROM grants g WHERE g.backend_id = p.backend_id
                       AND g.from_kind = 'principal' AND g.from_id = p.external_id) AS grants,
                    (SELECT COUNT(*) FROM credentials c WHERE c.backend_id = p.backend_id
                       AND c.principal_external_id = p.external_id) AS credentials
             FROM principals p JOIN backends b ON b.id = p.backend_id
             WHERE (?1 IS NULL OR b.name = ?1) AND (?2 IS NULL OR p.name LIKE ?2 OR p.external_id LIKE ?2)
             ORDER BY b.name, p.name",
        )
        .bind(backend)
        .bind(like)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                let bkind: String = r.try_get("backend_kind")?;
                let grants: String = r.try_get("grants")?;
                let attrs: String = r.try_get("attrs")?;
                let mut grants: Vec<String> = serde_json::from_str(&grants).unwrap_or_default();
                grants.sort();
                Ok(PrincipalView {
                    id: r.try_get("id")?,
                    backend: r.try_get("backend")?,
                    backend_kind: bkind
                        .parse()
                        .map_err(|e: String| corrupt("backends.kind", e))?,
                    external_id: r.try_get("external_id")?,
                    kind: serde_json::from_value::<PrincipalKind>(serde_json::Value::String(
                        kind.clone(),
                    ))
                    .map_err(|_| corrupt("principals.kind", kind))?,
                    name: r.try_get("name")?,
                    enabled: r.try_get("enabled")?,
                    grants,
                    credentials: r.try_get::<i64, _>("credentials")?.max(0) as u64,
                    attrs: serde_json::from_str(&attrs).unwrap_or(serde_json::Value::Null),
                })
            })
            .collect()
    }

    /// Newest events naming a credential (by id, or by the HMAC it appears under).
    pub async fn events_for_credential(
        &self,
        backend_id: i64,
        external_id: &str,
        limit: i64,
    ) -> Result<Vec<AuditEventView>> {
        let rows = sqlx::query(
            "SELECT e.id, b.name AS backend, e.at, e.actor, e.credential, e.action, e.resource, e.outcome, e.source_ip
             FROM audit_events e JOIN backends b ON b.id = e.backend_id
             WHERE e.backend_id = ?1 AND e.credential = ?2
             ORDER BY e.at DESC, e.id DESC LIMIT ?3",
        )
        .bind(backend_id)
        .bind(external_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let at: String = r.try_get("at")?;
                let outcome: String = r.try_get("outcome")?;
                Ok(AuditEventView {
                    id: r.try_get("id")?,
                    backend: r.try_get("backend")?,
                    at: parse_ts(&at).ok_or_else(|| corrupt("audit_events.at", at.clone()))?,
                    actor: r.try_get("actor")?,
                    credential: r.try_get("credential")?,
                    action: r.try_get("action")?,
                    resource: r.try_get("resource")?,
                    outcome: match outcome.as_str() {
                        "allow" => Outcome::Allow,
                        "deny" => Outcome::Deny,
                        _ => Outcome::Error,
                    },
                    source_ip: r.try_get("source_ip")?,
                })
            })
            .collect()
    }

    /// All grant edges of a backend as (from_kind, from_id, to_kind, to_id).
    pub async fn grant_edges(
        &self,
        backend_id: i64,
    ) -> Result<Vec<(String, String, String, String)>> {
        Ok(sqlx::query_as(
            "SELECT from_kind, from_id, to_kind, to_id FROM grants WHERE backend_id = ?",
        )
        .bind(backend_id)
        .fetch_all(&self.pool)
        .await?)
    }
}
