//! Reading audit events back: filtered pages newest first (keyset on the time-key id), counts,
//! timeline buckets, one event's raw record, and the aggregates the highlight detectors need.
//!
//! The engine parses the reviewer's query into an [`AuditFilter`]; this module only turns a
//! filter into SQL. Every value is bound, never spliced. Ids are time keys (`audit.rs`), so
//! "newest first" is `ORDER BY id DESC`, a page boundary is `id < cursor`, a time range is an id
//! range, and a full-text search walks the FTS index in rowid order and stops at the page size.

use portcullis_model::{AuditEventView, BackendKind, Outcome};
use sqlx::{QueryBuilder, Row, Sqlite};

use crate::{parse_ts, Result, Store, StoreError, SEQ_BITS};

/// A column a filter can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditColumn {
    Actor,
    Credential,
    Action,
    Resource,
    Outcome,
    SourceIp,
}

impl AuditColumn {
    fn sql(self) -> &'static str {
        match self {
            AuditColumn::Actor => "e.actor",
            AuditColumn::Credential => "e.credential",
            AuditColumn::Action => "e.action",
            AuditColumn::Resource => "e.resource",
            AuditColumn::Outcome => "e.outcome",
            AuditColumn::SourceIp => "e.source_ip",
        }
    }
}

/// How one value is compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueMatch {
    Exact(String),
    /// Case-insensitive equality (actions: `select` = `SELECT`).
    ExactNoCase(String),
    /// A SQLite GLOB pattern (the engine escapes literal `*?[`); a literal prefix followed by `*`
    /// uses the column's index.
    Glob(String),
    /// The column is empty (NULL or '').
    Empty,
}

/// Values of one column: any of them matches (`negated`: none of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnCond {
    pub column: AuditColumn,
    pub values: Vec<ValueMatch>,
    pub negated: bool,
}

/// Everything a search narrows by; all parts must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub backend_ids: Vec<i64>,
    pub not_backend_ids: Vec<i64>,
    pub conds: Vec<ColumnCond>,
    /// An FTS5 expression the event must match.
    pub fts: Option<String>,
    /// An FTS5 expression the event must not match (when there is no positive one to `NOT`).
    pub fts_exclude: Option<String>,
    /// Inclusive lower bound on the id (a time key).
    pub min_id: Option<i64>,
    /// Exclusive upper bound on the id.
    pub max_id: Option<i64>,
    /// The backends named hold few events ([`Store::audit_backends_hold_few`]): a page walks
    /// their rows by backend and sorts them, rather than walking every event newest first.
    pub few_in_backends: bool,
    /// The console's own requests ([`CONSOLE_OWN`]).
    pub console: ConsoleFilter,
}

/// What a filter does with the console's own requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConsoleFilter {
    /// Everything, whoever made it.
    #[default]
    Any,
    /// Not the console's own requests.
    Hide,
    /// Only the console's own requests.
    Only,
}

/// An event `e` made by the console itself: its actor or credential is one the backend's sync
/// recorded as the console's (`console_identity`). Two primary-key probes per row.
pub const CONSOLE_OWN: &str = console_own!();

/// [`CONSOLE_OWN`] as a literal, for static query strings.
macro_rules! console_own {
    () => {
        "EXISTS (SELECT 1 FROM console_identity ci WHERE ci.backend_id = e.backend_id AND ci.value IN (e.actor, e.credential))"
    };
}
use console_own;

/// How a page query reaches its rows. SQLite's planner, without statistics, often picks the
/// outcome index (or a covering index of another feature) and then sorts every match; a page
/// wants the rows already in time order so it can stop after `limit`. So the driver is chosen
/// here: a selective equality (credential, actor) walks that index, whose rowid suffix is time
/// order; free text walks the full-text index in rowid order; denials and errors (rare) walk
/// the outcome index; anything else walks the table backwards by rowid, which is time order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Driver {
    Index(&'static str),
    FullText,
    Rowid,
}

fn single_exact(c: &ColumnCond, column: AuditColumn) -> bool {
    c.column == column
        && !c.negated
        && !c.values.is_empty()
        && c.values.iter().all(|v| matches!(v, ValueMatch::Exact(_)))
}

impl AuditFilter {
    fn driver(&self) -> Driver {
        let by = |column: AuditColumn| self.conds.iter().any(|c| single_exact(c, column));
        // Free text: the engine has folded exact field values into the full-text expression
        // (column filters), so FTS5 intersects the doclists itself, in rowid order.
        if self.fts.is_some() {
            return Driver::FullText;
        }
        if by(AuditColumn::Credential) {
            Driver::Index("audit_events_credential_id")
        } else if by(AuditColumn::Actor) {
            Driver::Index("audit_events_actor_id")
        } else if self.fts.is_some() {
            Driver::FullText
        } else if self.conds.iter().any(|c| {
            single_exact(c, AuditColumn::Outcome)
                && c.values
                    .iter()
                    .all(|v| matches!(v, ValueMatch::Exact(o) if o != "allow"))
        }) {
            Driver::Index("audit_events_outcome_id")
        } else if self.few_in_backends && !self.backend_ids.is_empty() {
            // The dedup index (backend, millisecond, key): the backend's rows, then a small sort.
            Driver::Index("audit_events_dedup")
        } else {
            Driver::Rowid
        }
    }

    /// Pushes `FROM ... WHERE ...` for this filter, narrowed further to ids below `before`.
    /// `paged`: the query orders by time and stops early, so the driver is forced (see
    /// [`Driver`]); aggregates leave the choice to SQLite (a covering index is best there).
    fn push_from_where(&self, q: &mut QueryBuilder<Sqlite>, before: Option<i64>, paged: bool) {
        let driver = if paged {
            self.driver()
        } else if self.fts.is_some() {
            Driver::FullText
        } else {
            Driver::Rowid
        };
        let id = match driver {
            Driver::FullText => {
                // CROSS JOIN keeps the full-text index the outer loop.
                q.push(" FROM audit_fts f CROSS JOIN audit_events e ON e.id = f.rowid WHERE audit_fts MATCH ");
                q.push_bind(self.fts.clone().unwrap_or_default());
                "f.rowid"
            }
            Driver::Index(name) => {
                q.push(format!(" FROM audit_events e INDEXED BY {name} WHERE 1"));
                if let Some(fts) = &self.fts {
                    // Checked per row: FTS5 seeks each term's doclist to this one rowid.
                    q.push(" AND EXISTS (SELECT 1 FROM audit_fts WHERE audit_fts MATCH ")
                        .push_bind(fts.clone())
                        .push(" AND rowid = e.id)");
                }
                "e.id"
            }
            Driver::Rowid if paged => {
                q.push(" FROM audit_events e NOT INDEXED WHERE 1");
                "e.id"
            }
            Driver::Rowid => {
                q.push(" FROM audit_events e WHERE 1");
                "e.id"
            }
        };
        if let Some(b) = before {
            q.push(format!(" AND {id} < ")).push_bind(b);
        }
        if let Some(m) = self.max_id {
            q.push(format!(" AND {id} < ")).push_bind(m);
        }
        if let Some(m) = self.min_id {
            q.push(format!(" AND {id} >= ")).push_bind(m);
        }
        if !self.backend_ids.is_empty() {
            q.push(" AND e.backend_id IN (");
            let mut sep = q.separated(", ");
            for b in &self.backend_ids {
                sep.push_bind(*b);
            }
            q.push(")");
        }
        if !self.not_backend_ids.is_empty() {
            q.push(" AND e.backend_id NOT IN (");
            let mut sep = q.separated(", ");
            for b in &self.not_backend_ids {
                sep.push_bind(*b);
            }
            q.push(")");
        }
        for c in &self.conds {
            push_cond(q, c);
        }
        if let Some(ex) = &self.fts_exclude {
            q.push(" AND e.id NOT IN (SELECT rowid FROM audit_fts WHERE audit_fts MATCH ")
                .push_bind(ex.clone())
                .push(")");
        }
        match self.console {
            ConsoleFilter::Any => {}
            ConsoleFilter::Hide => {
                q.push(format!(" AND NOT {CONSOLE_OWN}"));
            }
            ConsoleFilter::Only => {
                q.push(format!(" AND {CONSOLE_OWN}"));
            }
        }
    }

    fn order_column(&self, paged: bool) -> &'static str {
        let full_text = if paged {
            self.driver() == Driver::FullText
        } else {
            self.fts.is_some()
        };
        if full_text {
            "f.rowid"
        } else {
            "e.id"
        }
    }
}

fn push_cond(q: &mut QueryBuilder<Sqlite>, c: &ColumnCond) {
    let col = c.column.sql();
    if c.values.is_empty() {
        return;
    }
    q.push(" AND (");
    for (i, v) in c.values.iter().enumerate() {
        if i > 0 {
            q.push(" OR ");
        }
        match v {
            ValueMatch::Exact(s) => {
                q.push(format!("{col} = ")).push_bind(s.clone());
            }
            ValueMatch::ExactNoCase(s) => {
                q.push(format!("{col} = "))
                    .push_bind(s.clone())
                    .push(" COLLATE NOCASE");
            }
            ValueMatch::Glob(p) => {
                q.push(format!("{col} GLOB ")).push_bind(p.clone());
            }
            ValueMatch::Empty => {
                q.push(format!("COALESCE({col}, '') = ''"));
            }
        }
    }
    if c.negated {
        // True when the condition is false or NULL: a negation keeps rows without the field.
        q.push(") IS NOT 1");
    } else {
        q.push(")");
    }
}

/// A row of a result page, with the backend as its id (the engine names it).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub id: i64,
    pub backend_id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor: Option<String>,
    pub credential: Option<String>,
    pub action: String,
    pub resource: Option<String>,
    pub outcome: Outcome,
    pub source_ip: Option<String>,
}

impl AuditRow {
    pub fn into_view(self, backend: String) -> AuditEventView {
        AuditEventView {
            id: self.id,
            backend,
            at: self.at,
            actor: self.actor,
            credential: self.credential,
            action: self.action,
            resource: self.resource,
            outcome: self.outcome,
            source_ip: self.source_ip,
        }
    }
}

pub(crate) fn outcome_of(s: &str) -> Outcome {
    match s {
        "allow" => Outcome::Allow,
        "deny" => Outcome::Deny,
        _ => Outcome::Error,
    }
}

fn row_of(r: &sqlx::sqlite::SqliteRow) -> Result<AuditRow> {
    let at: String = r.try_get("at")?;
    let outcome: String = r.try_get("outcome")?;
    Ok(AuditRow {
        id: r.try_get("id")?,
        backend_id: r.try_get("backend_id")?,
        at: parse_ts(&at).ok_or_else(|| StoreError::Corrupt {
            what: "audit_events.at",
            detail: at.clone(),
        })?,
        actor: r.try_get("actor")?,
        credential: r.try_get("credential")?,
        action: r.try_get("action")?,
        resource: r.try_get("resource")?,
        outcome: outcome_of(&outcome),
        source_ip: r.try_get("source_ip")?,
    })
}

const ROW_COLUMNS: &str =
    "SELECT e.id, e.backend_id, e.at, e.actor, e.credential, e.action, e.resource, e.outcome, e.source_ip";

/// One event with its raw record and backend.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub row: AuditRow,
    pub backend: String,
    pub backend_kind: BackendKind,
    pub dedup_key: String,
    pub raw: String,
}

/// Per-bucket counts: (bucket index, outcome, count).
pub type BucketCounts = Vec<(i64, Outcome, u64)>;

impl Store {
    /// Up to `limit` events matching `filter` with ids below `before`, newest first.
    pub async fn audit_page(
        &self,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRow>> {
        let mut q = QueryBuilder::new(ROW_COLUMNS);
        filter.push_from_where(&mut q, before, true);
        q.push(format!(
            " ORDER BY {} DESC LIMIT ",
            filter.order_column(true)
        ))
        .push_bind(i64::from(limit));
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter().map(row_of).collect()
    }

    /// How many events match, counting at most `cap`, and the smallest id among those counted
    /// (the newest `cap`): enough to say "exactly n" or to extrapolate.
    pub async fn audit_count_capped(
        &self,
        filter: &AuditFilter,
        cap: u32,
    ) -> Result<(u64, Option<i64>)> {
        let mut q = QueryBuilder::new("SELECT COUNT(*), MIN(id) FROM (SELECT ");
        q.push(filter.order_column(true)).push(" AS id");
        filter.push_from_where(&mut q, None, true);
        q.push(format!(
            " ORDER BY {} DESC LIMIT ",
            filter.order_column(true)
        ))
        .push_bind(i64::from(cap))
        .push(")");
        let (n, min): (i64, Option<i64>) = q.build_query_as().fetch_one(&self.pool).await?;
        Ok((n.max(0) as u64, min))
    }

    /// Whether the backends together hold at most `cap` events (counted up to `cap + 1`).
    pub async fn audit_backends_hold_few(&self, backend_ids: &[i64], cap: u32) -> Result<bool> {
        if backend_ids.is_empty() {
            return Ok(false);
        }
        let mut q = QueryBuilder::new(
            "SELECT COUNT(*) FROM (SELECT 1 FROM audit_events WHERE backend_id IN (",
        );
        let mut sep = q.separated(", ");
        for b in backend_ids {
            sep.push_bind(*b);
        }
        q.push(") LIMIT ").push_bind(i64::from(cap) + 1).push(")");
        let (n,): (i64,) = q.build_query_as().fetch_one(&self.pool).await?;
        Ok(n <= i64::from(cap))
    }

    /// Smallest and largest id matching the filter.
    pub async fn audit_id_range(&self, filter: &AuditFilter) -> Result<Option<(i64, i64)>> {
        let col = filter.order_column(false);
        let mut q = QueryBuilder::new(format!("SELECT MIN({col}), MAX({col})"));
        filter.push_from_where(&mut q, None, false);
        let (lo, hi): (Option<i64>, Option<i64>) = q.build_query_as().fetch_one(&self.pool).await?;
        Ok(lo.zip(hi))
    }

    /// Smallest and largest id of all cached events (rowid bounds: constant time).
    pub async fn audit_bounds(&self) -> Result<Option<(i64, i64)>> {
        let (lo, hi): (Option<i64>, Option<i64>) =
            // Two subqueries: SQLite answers a lone MIN or MAX of the rowid from the b-tree's
            // ends, but scans everything for both in one SELECT.
            sqlx::query_as(
                "SELECT (SELECT MIN(id) FROM audit_events), (SELECT MAX(id) FROM audit_events)",
            )
                .fetch_one(&self.pool)
                .await?;
        Ok(lo.zip(hi))
    }

    /// Counts per time bucket of `bucket_ms` milliseconds (bucket index = epoch ms / bucket_ms)
    /// and outcome.
    pub async fn audit_buckets(
        &self,
        filter: &AuditFilter,
        bucket_ms: i64,
    ) -> Result<BucketCounts> {
        let col = filter.order_column(false);
        let mut q = QueryBuilder::new(format!("SELECT ({col} >> {SEQ_BITS}) / "));
        q.push_bind(bucket_ms.max(1))
            .push(" AS b, e.outcome AS o, COUNT(*) AS n");
        filter.push_from_where(&mut q, None, false);
        q.push(" GROUP BY b, o ORDER BY b");
        let rows: Vec<(i64, String, i64)> = q.build_query_as().fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|(b, o, n)| (b, outcome_of(&o), n.max(0) as u64))
            .collect())
    }

    /// One event with its raw record.
    pub async fn audit_record(&self, id: i64) -> Result<AuditRecord> {
        let r = sqlx::query(
            "SELECT e.id, e.backend_id, e.at, e.actor, e.credential, e.action, e.resource, e.outcome,
                    e.source_ip, e.dedup_key, e.raw, b.name AS backend, b.kind AS kind
             FROM audit_events e JOIN backends b ON b.id = e.backend_id WHERE e.id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "audit event",
            name: id.to_string(),
        })?;
        let kind: String = r.try_get("kind")?;
        Ok(AuditRecord {
            row: row_of(&r)?,
            backend: r.try_get("backend")?,
            backend_kind: kind.parse().map_err(|e: String| StoreError::Corrupt {
                what: "backends.kind",
                detail: e,
            })?,
            dedup_key: r.try_get("dedup_key")?,
            raw: r.try_get("raw")?,
        })
    }

    /// Like [`Store::audit_page`] with each event's raw record, for exports.
    pub async fn audit_page_raw(
        &self,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(AuditRow, String)>> {
        let mut q = QueryBuilder::new(ROW_COLUMNS);
        q.push(", e.raw");
        filter.push_from_where(&mut q, before, true);
        q.push(format!(
            " ORDER BY {} DESC LIMIT ",
            filter.order_column(true)
        ))
        .push_bind(i64::from(limit));
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((row_of(r)?, r.try_get("raw")?)))
            .collect()
    }

    /// Backend ids and names, for naming rows and resolving `backend:` terms.
    pub async fn backend_names(&self) -> Result<Vec<(i64, String, BackendKind)>> {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, name, kind FROM backends ORDER BY name")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(id, name, kind)| {
                let kind = kind.parse().map_err(|e: String| StoreError::Corrupt {
                    what: "backends.kind",
                    detail: e,
                })?;
                Ok((id, name, kind))
            })
            .collect()
    }

    /// Denied events (id, backend, actor), by actor then time, the console's own left out (its
    /// verification lookups of revoked tokens are denials by design): the denial-burst
    /// detector's input.
    pub async fn audit_denials(&self, min_id: Option<i64>) -> Result<Vec<(i64, i64, String)>> {
        Ok(sqlx::query_as(concat!(
            "SELECT id, backend_id, actor FROM audit_events e INDEXED BY audit_events_outcome_id
                 WHERE outcome = 'deny' AND actor IS NOT NULL AND id >= ?1 AND NOT ",
            console_own!(),
            " ORDER BY backend_id, actor, id"
        ))
        .bind(min_id.unwrap_or(0))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Credentials that are revoked or expired, with the time they stopped being valid when known:
    /// the journal's `verified` revocation (its planned entry names the credential's cache id, or
    /// its target names backend, kind and id), else the expiry. (backend id, backend name,
    /// external id, principal, status, since).
    pub async fn dead_credentials(
        &self,
    ) -> Result<Vec<(i64, String, String, Option<String>, String, Option<String>)>> {
        // The journal is a file of its own (journal_db.rs): its verified revocations are read
        // there and handed to the cache's query as one JSON array.
        let verified: Vec<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT j.at, j.target, json_extract(p.detail, '$.credential_id')
             FROM journal j LEFT JOIN journal p ON p.seq = j.action_seq
             WHERE j.action = 'revoke' AND j.state = 'verified'",
        )
        .fetch_all(&self.journal_pool)
        .await?;
        let verified = serde_json::to_string(&verified).map_err(|e| StoreError::Corrupt {
            what: "journal",
            detail: e.to_string(),
        })?;
        Ok(sqlx::query_as(
            "WITH verified AS (
                 SELECT value ->> 0 AS at, value ->> 1 AS target, value ->> 2 AS credential_id
                 FROM json_each(?2)),
             dead AS (
                 SELECT c.backend_id, b.name, c.external_id, c.principal_external_id, c.status,
                        (SELECT MIN(v.at) FROM verified v
                         WHERE v.credential_id = c.id
                            OR v.target = b.name || ' ' || c.kind || ' ' || c.external_id) AS revoked_at,
                        CASE WHEN c.expires_at IS NOT NULL AND c.expires_at <= ?1 THEN c.expires_at END
                            AS expired_at
                 FROM credentials c JOIN backends b ON b.id = c.backend_id)
             SELECT backend_id, name, external_id, principal_external_id,
                    CASE WHEN revoked_at IS NOT NULL THEN 'revoked' ELSE status END,
                    COALESCE(revoked_at, expired_at)
             FROM dead
             WHERE revoked_at IS NOT NULL OR status IN ('revoked', 'expired') OR expired_at IS NOT NULL",
        )
        .bind(crate::ts(chrono::Utc::now()))
        .bind(verified)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Allowed events of one credential from `min_id` on: (count, first id, last id).
    pub async fn allowed_uses_since(
        &self,
        backend_id: i64,
        credential: &str,
        min_id: i64,
    ) -> Result<(u64, Option<i64>, Option<i64>)> {
        let (n, lo, hi): (i64, Option<i64>, Option<i64>) = sqlx::query_as(
            // Seek the credential inside the covering index; left to itself SQLite walks the
            // outcome index through every allowed event since `min_id`.
            "SELECT COUNT(*), MIN(id), MAX(id) FROM audit_events INDEXED BY audit_events_usage
             WHERE backend_id = ?1 AND credential = ?2 AND outcome = 'allow' AND id >= ?3",
        )
        .bind(backend_id)
        .bind(credential)
        .bind(min_id)
        .fetch_one(&self.pool)
        .await?;
        Ok((n.max(0) as u64, lo, hi))
    }

    /// Per (backend, credential, source address): events, first and last id, the console's own
    /// credentials left out. The new-address detector's input.
    pub async fn credential_sources(&self) -> Result<Vec<(i64, String, String, u64, i64, i64)>> {
        let rows: Vec<(i64, String, String, i64, i64, i64)> = sqlx::query_as(concat!(
            "SELECT backend_id, credential, source_ip, COUNT(*), MIN(id), MAX(id)
                 FROM audit_events e
                 WHERE credential IS NOT NULL AND source_ip IS NOT NULL AND source_ip != ''
                   AND outcome = 'allow' AND NOT ",
            console_own!(),
            " GROUP BY backend_id, credential, source_ip"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(b, c, s, n, lo, hi)| (b, c, s, n.max(0) as u64, lo, hi))
            .collect())
    }

    /// Returns of actors after a silence of at least `gap_ms`: (actor, id of the first event
    /// after the silence, id of the event before it, backend id). Streams through the actor
    /// index (its rowid suffix is time order), so no sort.
    pub async fn actor_returns(&self, gap_ms: i64) -> Result<Vec<(String, i64, i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT actor, id, prev, backend_id FROM (
                 SELECT actor, id, backend_id, LAG(id) OVER (PARTITION BY actor ORDER BY id) AS prev
                 FROM audit_events INDEXED BY audit_events_actor_id
                 WHERE actor IS NOT NULL AND actor != '')
             WHERE prev IS NOT NULL AND (id >> ?2) - (prev >> ?2) >= ?1
             ORDER BY id DESC",
        )
        .bind(gap_ms)
        .bind(i64::from(SEQ_BITS))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Events of an actor from `min_id` on: (count, last id).
    pub async fn actor_events_since(&self, actor: &str, min_id: i64) -> Result<(u64, i64)> {
        let (n, hi): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MAX(id) FROM audit_events WHERE actor = ?1 AND id >= ?2",
        )
        .bind(actor)
        .bind(min_id)
        .fetch_one(&self.pool)
        .await?;
        Ok((n.max(0) as u64, hi.unwrap_or(min_id)))
    }
}
