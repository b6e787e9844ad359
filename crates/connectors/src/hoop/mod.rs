//! hoop.dev, the access gateway for databases, servers and agents, through its gateway API
//! (URL = the gateway, e.g. `https://use.hoop.dev`; credential = a hoop API key, `hpk_…`, whose
//! groups are its rights: `auditor` to review, `admin` for API keys, the audit log and revoking;
//! [`portcullis_model::HOOP_RIGHTS`]).
//!
//! "Who can do what" on hoop is: users, service accounts, API keys and AI agents, their groups,
//! the connections each group may use by the `access_control` plugin and attributes, the modes
//! each connection enables, and the approval rules in front of them.
//! [`inventory::map_inventory`] documents the mapping, [`audit`] the sessions and the security
//! audit log, [`revoke`] what revocation does.

pub mod api;
pub mod audit;
pub mod inventory;
mod revoke;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use portcullis_model::{
    BackendKind, Capabilities, CheckReport, Inventory, Progress, RevokeReceipt, RightCheck,
    Verification, HOOP_RIGHTS,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::time::Instant;

use crate::http::Http;
use crate::{
    display_url, parse_url, AuditSink, BackendConfig, Connector, ConnectorError, Cursor,
    ProgressFn, RevokeTarget,
};
use api::Api;
use inventory::{Plugin, Snapshot};

/// How far back the first sync reads sessions (later syncs read from their cursor); open
/// sessions and just-in-time access older than this are long over.
const FIRST_SESSIONS_DAYS: i64 = 90;

pub fn capabilities() -> Capabilities {
    Capabilities {
        list_principals: true,
        list_credentials: true,
        token_lookup: false,
        audit: true,
        revoke: true,
        verify: true,
        notes: vec![
            "key values are never read: hoop lists API keys by id, masked key, groups and last use".into(),
            "users sign in through the identity provider; hoop lists no credential of theirs".into(),
            "a session's input and output are never read into the cache".into(),
            "an approval rule makes a connection's mode a partial grant: who skips review depends on all of a user's groups, listed with the rule".into(),
            "only an admin key lists API keys and AI agents and reads the security audit log".into(),
        ],
    }
}

pub struct Hoop {
    api: Api,
}

/// `GET /userinfo`: who the console's key is.
#[derive(Debug, Deserialize)]
struct Me {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
}

impl Hoop {
    pub fn new(config: BackendConfig) -> Result<Self, ConnectorError> {
        let url = parse_url(&config.url)?;
        let base = display_url(&url);
        let base_url = url::Url::parse(&base)
            .map_err(|e| ConnectorError::InvalidConfig(format!("`{base}`: {e}")))?;
        Ok(Hoop {
            api: Api::new(
                Http::new(format!("hoop at {base}"), config.timeout)?,
                &base_url,
                config.secret,
            ),
        })
    }

    /// A listing an auditor key may be refused (403) or an older gateway may not serve (404):
    /// empty, with a log line, rather than a failed sync.
    async fn optional<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        right: &str,
    ) -> Result<Vec<T>, ConnectorError> {
        match self.api.get(segments, &[], right).await {
            Ok(v) => Ok(v),
            Err(ConnectorError::Forbidden { .. } | ConnectorError::NotFound { .. }) => {
                tracing::info!(target: "portcullis::hoop", "{right}: not allowed or not served; skipped");
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }

    /// The `access_control` plugin, `None` when it is not enabled.
    async fn access_control(&self) -> Result<Option<Plugin>, ConnectorError> {
        let right = "GET /plugins/access_control";
        match self
            .api
            .get(&["plugins", "access_control"], &[], right)
            .await
        {
            Ok(p) => Ok(Some(p)),
            Err(ConnectorError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads everything the inventory is made of.
    pub async fn snapshot(&self, progress: &ProgressFn<'_>) -> Result<Snapshot, ConnectorError> {
        const TASK: &str = "hoop inventory";
        let total = Some(4);
        progress(Progress::Started {
            task: TASK.into(),
            total,
        });
        let step = |done: u64, message: String| {
            progress(Progress::Advanced {
                task: TASK.into(),
                done,
                total,
                message,
            })
        };
        let users: Vec<inventory::User> = self.api.get(&["users"], &[], "GET /users").await?;
        let service_accounts = self
            .api
            .get(&["serviceaccounts"], &[], "GET /serviceaccounts")
            .await?;
        step(1, format!("{} users", users.len()));
        let api_keys = self.optional(&["api-keys"], "GET /api-keys").await?;
        let ai_agents = self.optional(&["ai-agents"], "GET /ai-agents").await?;
        step(2, "API keys".into());
        let connections: Vec<inventory::Connection> = self
            .api
            .get(&["connections"], &[], "GET /connections")
            .await?;
        let access_control = self.access_control().await?;
        let rules = self
            .api
            .list_paged(
                &["access-requests", "rules"],
                &[],
                "GET /access-requests/rules",
            )
            .await?;
        let attributes = self
            .api
            .list_paged(&["attributes"], &[], "GET /attributes")
            .await?;
        step(3, format!("{} connections", connections.len()));
        let since = (Utc::now() - Duration::days(FIRST_SESSIONS_DAYS)).to_rfc3339();
        let (sessions, _) = self
            .api
            .list_sessions(&[("start_date", since.as_str())], "GET /sessions")
            .await?;
        let snapshot = Snapshot {
            users,
            service_accounts,
            api_keys,
            ai_agents,
            connections,
            access_control,
            rules,
            attributes,
            sessions,
        };
        progress(Progress::Finished {
            task: TASK.into(),
            ok: true,
            message: format!(
                "{} users, {} service accounts, {} keys, {} connections",
                snapshot.users.len(),
                snapshot.service_accounts.len(),
                snapshot.api_keys.len() + snapshot.ai_agents.len(),
                snapshot.connections.len()
            ),
        });
        Ok(snapshot)
    }

    /// One right probed with a one-item read: granted, refused (403/404) or a failure.
    async fn probe(&self, segments: &[&str], right: &str) -> Result<bool, ConnectorError> {
        match self
            .api
            .get::<Value>(segments, &[("page_size", "1")], right)
            .await
        {
            Ok(_) => Ok(true),
            Err(ConnectorError::Forbidden { .. } | ConnectorError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Sessions started after `after`, oldest first, as events.
    async fn session_events(
        &self,
        after: DateTime<Utc>,
    ) -> Result<Vec<portcullis_model::AuditEvent>, ConnectorError> {
        let start = after.to_rfc3339();
        let (raw, capped): (Vec<Value>, bool) = self
            .api
            .list_sessions(&[("start_date", start.as_str())], "GET /sessions")
            .await?;
        if capped {
            tracing::warn!(target: "portcullis::hoop", "more than {} sessions since {start}: the rest are read by the next sync", api::MAX_SESSION_OFFSET);
        }
        Ok(raw
            .iter()
            .filter_map(audit::map_session)
            .filter(|e| e.at > after)
            .collect())
    }

    /// Security audit log entries created after `after` (admins only; refused = none).
    async fn log_events(
        &self,
        after: DateTime<Utc>,
    ) -> Result<Vec<portcullis_model::AuditEvent>, ConnectorError> {
        let created = after.to_rfc3339();
        let raw: Vec<Value> = match self
            .api
            .list_paged(
                &["audit", "logs"],
                &[("created_after", created.as_str())],
                "GET /audit/logs",
            )
            .await
        {
            Ok(r) => r,
            Err(ConnectorError::Forbidden { .. } | ConnectorError::NotFound { .. }) => {
                tracing::info!(target: "portcullis::hoop", "no security audit log for this key (admin group only): skipped");
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        Ok(raw
            .iter()
            .filter_map(audit::map_log)
            .filter(|e| e.at > after)
            .collect())
    }
}

#[async_trait]
impl Connector for Hoop {
    fn kind(&self) -> BackendKind {
        BackendKind::Hoop
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    async fn check(&self) -> Result<CheckReport, ConnectorError> {
        let started = Instant::now();
        let me: Me = self.api.get(&["userinfo"], &[], "GET /userinfo").await?;
        let admin = me.groups.iter().any(|g| g == inventory::ADMIN_GROUP);
        let auditor = me.groups.iter().any(|g| g == inventory::AUDITOR_GROUP);
        let reads = admin || (auditor && self.probe(&["users"], "GET /users").await?);
        let keys = self.probe(&["api-keys"], "GET /api-keys").await?;
        let logs = self.probe(&["audit", "logs"], "GET /audit/logs").await?;
        let granted = [reads, keys, logs, admin];
        let rights = HOOP_RIGHTS
            .iter()
            .zip(granted)
            .map(|((r, why, optional), granted)| RightCheck {
                right: (*r).into(),
                needed_for: (*why).into(),
                granted,
                optional: *optional,
            })
            .collect();
        Ok(CheckReport {
            backend: String::new(),
            ok: true,
            identity: me
                .email
                .or(me.id)
                .map(|who| format!("{who} (groups: {})", me.groups.join(", "))),
            server: None,
            // hoop's API keys do not expire.
            credential_expires_at: None,
            rights,
            latency_ms: started.elapsed().as_millis() as u64,
            error: None,
        })
    }

    async fn inventory(&self, progress: &ProgressFn<'_>) -> Result<Inventory, ConnectorError> {
        let snapshot = self.snapshot(progress).await?;
        Ok(inventory::map_inventory(&snapshot, Utc::now()))
    }

    async fn audit(
        &self,
        since: Option<Cursor>,
        sink: &mut dyn AuditSink,
    ) -> Result<Option<Cursor>, ConnectorError> {
        let after: DateTime<Utc> = since
            .as_deref()
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| Utc::now() - Duration::days(FIRST_SESSIONS_DAYS));
        let mut events = self.session_events(after).await?;
        events.extend(self.log_events(after).await?);
        events.sort_by_key(|e| e.at);
        let Some(cursor) = audit::cursor_of(&events) else {
            return Ok(since);
        };
        sink.batch(events, cursor.clone()).await?;
        Ok(Some(cursor))
    }

    async fn console_identity(&self) -> Result<Vec<String>, ConnectorError> {
        let me: Me = self.api.get(&["userinfo"], &[], "GET /userinfo").await?;
        // A key is named by its id in sessions and the audit log, and its credential is
        // `api-key:ID`, which incident plans protect by that same id.
        Ok(me.id.into_iter().collect())
    }

    async fn revoke(&self, target: &RevokeTarget) -> Result<RevokeReceipt, ConnectorError> {
        revoke::revoke(&self.api, target).await
    }

    async fn verify_revoked(&self, target: &RevokeTarget) -> Result<Verification, ConnectorError> {
        revoke::verify(&self.api, target).await
    }
}
