//! PostgreSQL roles and privileges, spoken to over the wire protocol with sqlx.
//!
//! The role and database come from the URL (`postgres://ROLE@host:port/db`), the password from the
//! keychain or the environment. `check` reports the predefined roles and function rights the
//! console relies on, by name, so a DBA knows exactly what to grant.

use async_trait::async_trait;
use portcullis_model::{BackendKind, Capabilities, CheckReport, RightCheck};
use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Row};
use std::str::FromStr;
use std::time::{Duration, Instant};

mod audit;
mod inventory;
mod logread;
mod revoke;

pub use audit::parse_line as parse_jsonlog_line;
pub use inventory::{login_credential, privilege_permission, role_principal, PgRole};

use crate::jsonl::{read_jsonl, FileCursor};
use crate::{
    display_url, parse_url, AuditSink, BackendConfig, Connector, ConnectorError, Cursor,
    ProgressFn, RevokeTarget,
};
use portcullis_model::{Inventory, RevokeReceipt, Verification};

pub fn capabilities() -> Capabilities {
    Capabilities {
        list_principals: true,
        list_credentials: true,
        token_lookup: false,
        audit: true,
        revoke: true,
        verify: true,
        notes: vec![
            "credentials are live sessions (pg_stat_activity) and login rights".into(),
            "usage comes from pgaudit / jsonlog lines read over SQL or from a log file".into(),
        ],
    }
}

/// Server-side deadlines for every session the console opens, so that a REVOKE queued behind
/// another session's lock, or a catalog read on an overloaded server, ends as a `timeout` instead
/// of hanging: the client-side timeout covers only the connect.
fn session_timeouts(timeout: Duration) -> [(&'static str, String); 3] {
    let ms = timeout.as_millis().max(1).to_string();
    [
        ("statement_timeout", ms.clone()),
        ("lock_timeout", ms.clone()),
        ("idle_in_transaction_session_timeout", ms),
    ]
}

/// How much longer than the server's own deadline the client waits for a statement's answer.
const STATEMENT_GRACE: Duration = Duration::from_secs(5);

pub struct Postgres {
    options: PgConnectOptions,
    target: String,
    timeout: Duration,
    /// A jsonlog file to read instead of reading the log over SQL.
    audit_log: Option<std::path::PathBuf>,
}

impl Postgres {
    pub fn new(config: BackendConfig) -> Result<Self, ConnectorError> {
        let url = parse_url(&config.url)?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(ConnectorError::InvalidConfig(format!(
                "a PostgreSQL URL starts with postgres://ROLE@host:port/db, not {}://",
                url.scheme()
            )));
        }
        let target = format!("PostgreSQL at {}", display_url(&url));
        let mut options = PgConnectOptions::from_str(url.as_str())
            .map_err(|e| ConnectorError::InvalidConfig(format!("PostgreSQL URL: {e}")))?
            .application_name("portcullis")
            .options(session_timeouts(config.timeout))
            .disable_statement_logging();
        if let Some(pw) = &config.secret {
            options = options.password(pw.expose_secret());
        }
        Ok(Postgres {
            options,
            target,
            timeout: config.timeout,
            audit_log: config.audit_log,
        })
    }

    /// Opens one connection with the deadline applied.
    pub async fn connect(&self) -> Result<PgConnection, ConnectorError> {
        match tokio::time::timeout(self.timeout, self.options.connect()).await {
            Err(_) => Err(ConnectorError::Timeout {
                target: self.target.clone(),
                after: self.timeout,
            }),
            Ok(result) => result.map_err(|e| self.map_error(e, "connect")),
        }
    }

    /// Bounds one statement on the client side too: the server's `statement_timeout` cannot end a
    /// statement whose answer stalls on the network, and without this a sync waited for ever.
    /// The server's deadline comes first, so its clearer error wins when both could fire.
    pub(crate) async fn deadline<T>(
        &self,
        statement: impl std::future::Future<Output = T>,
    ) -> Result<T, ConnectorError> {
        tokio::time::timeout(self.timeout + STATEMENT_GRACE, statement)
            .await
            .map_err(|_| ConnectorError::Timeout {
                target: self.target.clone(),
                after: self.timeout + STATEMENT_GRACE,
            })
    }

    /// [`Postgres::deadline`] and [`Postgres::map_error`] for one statement.
    pub(crate) async fn bounded<T>(
        &self,
        right: &str,
        statement: impl std::future::Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, ConnectorError> {
        self.deadline(statement)
            .await?
            .map_err(|e| self.map_error(e, right))
    }

    /// Maps sqlx failures to connector errors; `right` names what the statement needed.
    pub fn map_error(&self, e: sqlx::Error, right: &str) -> ConnectorError {
        let target = self.target.clone();
        match e {
            sqlx::Error::Io(io) => ConnectorError::Unreachable {
                target,
                detail: io.to_string(),
            },
            sqlx::Error::Tls(t) => ConnectorError::Tls {
                target,
                detail: t.to_string(),
            },
            sqlx::Error::PoolTimedOut => ConnectorError::Timeout {
                target,
                after: self.timeout,
            },
            sqlx::Error::Database(db) => match db.code().as_deref() {
                // invalid_password, invalid_authorization_specification
                Some("28P01") | Some("28000") => ConnectorError::Unauthorized {
                    target,
                    detail: format!(
                        "{} (a wrong password, a role without LOGIN, or an expired VALID UNTIL — the server log says which)",
                        db.message()
                    ),
                },
                Some("42501") => ConnectorError::Forbidden {
                    target,
                    right: right.to_string(),
                    detail: Some(db.message().to_string()),
                },
                // query_canceled (statement_timeout), lock_not_available (lock_timeout)
                Some("57014") | Some("55P03") => ConnectorError::Timeout {
                    target,
                    after: self.timeout,
                },
                Some("3D000") => ConnectorError::NotFound {
                    target,
                    what: "database".into(),
                },
                _ => ConnectorError::Backend {
                    target,
                    status: 0,
                    detail: format!("{} ({})", db.message(), db.code().unwrap_or_default()),
                },
            },
            other => ConnectorError::Malformed {
                target,
                what: right.to_string(),
                detail: other.to_string(),
            },
        }
    }
}

#[async_trait]
impl Connector for Postgres {
    fn kind(&self) -> BackendKind {
        BackendKind::Postgres
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    async fn inventory(&self, progress: &ProgressFn<'_>) -> Result<Inventory, ConnectorError> {
        self.read_inventory(progress).await
    }

    async fn audit(
        &self,
        since: Option<Cursor>,
        sink: &mut dyn AuditSink,
    ) -> Result<Option<Cursor>, ConnectorError> {
        if let Some(path) = &self.audit_log {
            let summary = read_jsonl(
                path,
                FileCursor::parse(since.as_deref()),
                sink,
                audit::parse_line,
            )
            .await?;
            return Ok(Some(summary.cursor.encode()));
        }
        let cursor = self.read_log_over_sql(since, sink).await?;
        Ok(Some(cursor))
    }

    async fn revoke(&self, target: &RevokeTarget) -> Result<RevokeReceipt, ConnectorError> {
        self.do_revoke(target).await
    }

    async fn verify_revoked(&self, target: &RevokeTarget) -> Result<Verification, ConnectorError> {
        self.do_verify(target).await
    }

    async fn check(&self) -> Result<CheckReport, ConnectorError> {
        let started = Instant::now();
        let mut conn = self.connect().await?;
        let row = self.bounded("reading pg_roles", sqlx::query(
            "SELECT current_user::text AS me,
                    current_setting('server_version') AS version,
                    r.rolsuper, r.rolcreaterole,
                    r.rolvaliduntil::text AS valid_until,
                    pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER') AS read_stats,
                    pg_has_role(current_user, 'pg_signal_backend', 'MEMBER') AS signal,
                    has_function_privilege('pg_read_file(text, bigint, bigint)', 'EXECUTE') AS read_file,
                    has_function_privilege('pg_current_logfile(text)', 'EXECUTE') AS logfile
             FROM pg_roles r WHERE r.rolname = current_user",
        )
        .fetch_one(&mut conn)).await?;
        let get = |name: &str| -> Result<bool, ConnectorError> {
            row.try_get::<bool, _>(name)
                .map_err(|e| self.map_error(e, "reading pg_roles"))
        };
        let superuser = get("rolsuper")?;
        let rights = vec![
            RightCheck {
                right: "member of pg_read_all_stats".into(),
                needed_for: "seeing every session in pg_stat_activity".into(),
                granted: superuser || get("read_stats")?,
                optional: false,
            },
            RightCheck {
                right: "member of pg_signal_backend".into(),
                needed_for: "terminating sessions".into(),
                granted: superuser || get("signal")?,
                optional: false,
            },
            RightCheck {
                right: "CREATEROLE".into(),
                needed_for: "NOLOGIN and revoking memberships".into(),
                granted: superuser || get("rolcreaterole")?,
                optional: false,
            },
            RightCheck {
                right: "EXECUTE on pg_read_file(text, bigint, bigint)".into(),
                needed_for: "reading pgaudit / jsonlog lines over SQL".into(),
                granted: get("read_file")?,
                optional: false,
            },
            RightCheck {
                right: "EXECUTE on pg_current_logfile(text)".into(),
                needed_for: "finding the current jsonlog file".into(),
                granted: get("logfile")?,
                optional: false,
            },
        ];
        let me: String = row
            .try_get("me")
            .map_err(|e| self.map_error(e, "reading pg_roles"))?;
        let version: String = row
            .try_get("version")
            .map_err(|e| self.map_error(e, "reading pg_roles"))?;
        let valid_until: Option<String> = row
            .try_get("valid_until")
            .map_err(|e| self.map_error(e, "reading pg_roles"))?;
        let _ = conn.close().await;
        Ok(CheckReport {
            backend: String::new(),
            ok: true,
            identity: Some(if superuser {
                format!("role {me} (SUPERUSER — more than the console needs)")
            } else {
                format!("role {me}")
            }),
            server: Some(format!("PostgreSQL {version}")),
            credential_expires_at: valid_until.as_deref().and_then(parse_pg_timestamp),
            rights,
            latency_ms: started.elapsed().as_millis() as u64,
            error: None,
        })
    }
}

/// `rolvaliduntil::text` looks like `2027-01-01 00:00:00+00`; `infinity` means no expiry.
pub fn parse_pg_timestamp(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_str(&format!("{s}00"), "%Y-%m-%d %H:%M:%S%.f%z")
        .or_else(|_| chrono::DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .ok()
        .map(|d| d.with_timezone(&chrono::Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DEFAULT_TIMEOUT;
    use portcullis_model::ErrorCode;
    use secrecy::SecretString;

    #[test]
    fn rejects_non_postgres_urls() {
        let err = Postgres::new(BackendConfig {
            name: "pg".into(),
            kind: BackendKind::Postgres,
            url: "http://127.0.0.1:5432".into(),
            secret: None,
            timeout: DEFAULT_TIMEOUT,
            audit_log: None,
        })
        .err()
        .unwrap();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
    }

    #[test]
    fn parses_valid_until() {
        let t = parse_pg_timestamp("2027-01-01 00:00:00+00").unwrap();
        assert_eq!(t.to_rfc3339(), "2027-01-01T00:00:00+00:00");
        assert_eq!(parse_pg_timestamp("infinity"), None);
        assert_eq!(parse_pg_timestamp(""), None);
    }

    #[tokio::test]
    async fn closed_port_is_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let pg = Postgres::new(BackendConfig {
            name: "pg".into(),
            kind: BackendKind::Postgres,
            url: format!("postgres://portcullis@127.0.0.1:{port}/acme"),
            secret: Some(SecretString::from("pw".to_string())),
            timeout: Duration::from_secs(3),
            audit_log: None,
        })
        .unwrap();
        let err = pg.check().await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Unreachable, "{err}");
    }
}
