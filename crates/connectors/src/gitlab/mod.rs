//! GitLab through its REST API v4 (URL = the instance, e.g. `https://gitlab.example.com`;
//! credential = an administrator's personal access token: `read_api` to read, `api` to revoke).
//!
//! "Who can do what" on GitLab is: users (bots included, read from their `bot` flag), their
//! memberships of groups and projects at an access level, administrators, and the access
//! tokens (personal, project, group) that act for a user within their scopes.
//! [`inventory::map_inventory`] documents the mapping; [`audit`] the audit events (Premium /
//! Ultimate only: elsewhere a coverage note, not an error); [`revoke`] what revocation does.

pub mod api;
pub mod audit;
pub mod inventory;
mod revoke;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use portcullis_model::{
    BackendKind, Capabilities, CheckReport, Inventory, Progress, RevokeReceipt, RightCheck,
    Verification, GITLAB_RIGHTS,
};
use serde::Deserialize;
use std::time::Instant;

use crate::http::Http;
use crate::{
    display_url, parse_url, AuditSink, BackendConfig, Connector, ConnectorError, Cursor,
    ProgressFn, RevokeTarget,
};
use api::Api;
use inventory::{Member, Namespace, NamespaceKind, Snapshot, Token, User};

pub fn capabilities() -> Capabilities {
    Capabilities {
        list_principals: true,
        list_credentials: true,
        token_lookup: false,
        audit: true,
        revoke: true,
        verify: true,
        notes: vec![
            "token values are never read: GitLab lists tokens by id, scopes, expiry and last use".into(),
            "only an administrator's token lists every user's tokens; any other token lists its own user's".into(),
            "audit events exist on GitLab Premium and Ultimate (self-managed); they record changes, not which request a token made".into(),
            "a token's scopes limit what it may do with its user's memberships: read_api reads, api does everything its user may".into(),
            "no token triage: GitLab looks a token up by value only for the token itself (personal_access_tokens/self)".into(),
        ],
    }
}

pub struct GitLab {
    api: Api,
}

/// `GET /user`: who the console's token belongs to.
#[derive(Debug, Deserialize)]
struct Me {
    username: String,
    #[serde(default)]
    is_admin: Option<bool>,
}

/// `GET /user`, for the id the audit events name the console by.
#[derive(Debug, Deserialize)]
struct MeId {
    id: u64,
}

/// `GET /personal_access_tokens/self`: the console's own token.
#[derive(Debug, Deserialize)]
struct SelfToken {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    expires_at: Option<String>,
}

impl GitLab {
    pub fn new(config: BackendConfig) -> Result<Self, ConnectorError> {
        let url = parse_url(&config.url)?;
        let base = display_url(&url);
        let base_url = url::Url::parse(&base)
            .map_err(|e| ConnectorError::InvalidConfig(format!("`{base}`: {e}")))?;
        Ok(GitLab {
            api: Api::new(
                Http::new(format!("GitLab at {base}"), config.timeout)?,
                &base_url,
                config.secret,
            ),
        })
    }

    /// Every namespace of one kind with its direct members.
    async fn memberships(
        &self,
        kind: NamespaceKind,
        progress: &(dyn Fn(String) + Send + Sync),
    ) -> Result<Vec<(NamespaceKind, Namespace, Vec<Member>)>, ConnectorError> {
        let (collection, query): (&str, &[(&str, &str)]) = match kind {
            NamespaceKind::Group => ("groups", &[("all_available", "true")]),
            NamespaceKind::Project => ("projects", &[("simple", "true")]),
        };
        let list: Vec<Namespace> = self
            .api
            .list_all(&[collection], query, &format!("GET /{collection}"))
            .await?;
        let mut out = Vec::with_capacity(list.len());
        for (i, ns) in list.into_iter().enumerate() {
            let id = ns.id.to_string();
            let right = format!("GET /{collection}/:id/members");
            let members = self
                .api
                .list_all(&[collection, &id, "members"], &[], &right)
                .await?;
            if i % 50 == 0 {
                progress(format!("{} {}s", i + 1, kind.as_str()));
            }
            out.push((kind, ns, members));
        }
        Ok(out)
    }

    /// Reads everything the inventory is made of.
    pub async fn snapshot(&self, progress: &ProgressFn<'_>) -> Result<Snapshot, ConnectorError> {
        const TASK: &str = "gitlab inventory";
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
        let users: Vec<User> = self.api.list_all(&["users"], &[], "GET /users").await?;
        step(1, format!("{} users", users.len()));
        let mut memberships = self
            .memberships(NamespaceKind::Group, &|m| step(1, m))
            .await?;
        step(2, format!("{} groups", memberships.len()));
        let projects = self
            .memberships(NamespaceKind::Project, &|m| step(2, m))
            .await?;
        step(3, format!("{} projects", projects.len()));
        memberships.extend(projects);
        let tokens: Vec<Token> = self
            .api
            .list_all(
                &["personal_access_tokens"],
                &[],
                "GET /personal_access_tokens",
            )
            .await?;
        progress(Progress::Finished {
            task: TASK.into(),
            ok: true,
            message: format!(
                "{} users, {} memberships lists, {} tokens",
                users.len(),
                memberships.len(),
                tokens.len()
            ),
        });
        Ok(Snapshot {
            users,
            memberships,
            tokens,
        })
    }

    /// One right probed with a one-item listing: granted, refused (403/404) or a failure.
    async fn probe(&self, segments: &[&str], right: &str) -> Result<bool, ConnectorError> {
        match self
            .api
            .get::<serde_json::Value>(segments, &[("per_page", "1")], right)
            .await
        {
            Ok(_) => Ok(true),
            Err(ConnectorError::Forbidden { .. } | ConnectorError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

fn right(right: &str, needed_for: &str, granted: bool, optional: bool) -> RightCheck {
    RightCheck {
        right: right.into(),
        needed_for: needed_for.into(),
        granted,
        optional,
    }
}

#[async_trait]
impl Connector for GitLab {
    fn kind(&self) -> BackendKind {
        BackendKind::GitLab
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    async fn check(&self) -> Result<CheckReport, ConnectorError> {
        let started = Instant::now();
        let me: Me = self.api.get(&["user"], &[], "GET /user").await?;
        let token: Option<SelfToken> = match self
            .api
            .get(
                &["personal_access_tokens", "self"],
                &[],
                "GET /personal_access_tokens/self",
            )
            .await
        {
            Ok(t) => Some(t),
            Err(ConnectorError::Forbidden { .. } | ConnectorError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        let scopes = token.as_ref().map(|t| t.scopes.clone()).unwrap_or_default();
        let has = |s: &str| scopes.iter().any(|x| x == s);
        let admin = me.is_admin == Some(true);
        let audit = self.probe(&["audit_events"], "GET /audit_events").await?;
        let granted = [has("read_api") || has("api"), admin, has("api"), audit];
        let rights = GITLAB_RIGHTS
            .iter()
            .zip(granted)
            .map(|((r, why, optional), granted)| right(r, why, granted, *optional))
            .collect();
        let name = token.as_ref().and_then(|t| t.name.clone());
        Ok(CheckReport {
            backend: String::new(),
            ok: true,
            identity: Some(match name {
                Some(n) => format!("{} (token {n})", me.username),
                None => me.username,
            }),
            server: None,
            credential_expires_at: token
                .and_then(|t| t.expires_at)
                .and_then(|d| inventory::expiry(&d)),
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
        let after: Option<DateTime<Utc>> = since.as_deref().and_then(|c| c.parse().ok());
        let after_text = after.map(|a| a.to_rfc3339());
        let query: Vec<(&str, &str)> = after_text
            .as_deref()
            .map(|a| vec![("created_after", a)])
            .unwrap_or_default();
        let raw: Vec<serde_json::Value> = match self
            .api
            .list_all(&["audit_events"], &query, "GET /audit_events")
            .await
        {
            Ok(r) => r,
            Err(ConnectorError::Forbidden { .. } | ConnectorError::NotFound { .. }) => {
                tracing::info!(target: "portcullis::gitlab", "no audit events API (GitLab Premium / Ultimate only): skipped");
                return Ok(since);
            }
            Err(e) => return Err(e),
        };
        let mut events: Vec<_> = raw.into_iter().filter_map(audit::map_event).collect();
        events.sort_by_key(|e| e.at);
        let newest = events.last().map(|e| e.at).or(after);
        let cursor = newest.map(|t| t.to_rfc3339());
        if !events.is_empty() {
            if let Some(c) = &cursor {
                sink.batch(events, c.clone()).await?;
            }
        }
        Ok(cursor)
    }

    async fn console_identity(&self) -> Result<Vec<String>, ConnectorError> {
        let me: MeId = self.api.get(&["user"], &[], "GET /user").await?;
        Ok(vec![me.id.to_string()])
    }

    async fn revoke(&self, target: &RevokeTarget) -> Result<RevokeReceipt, ConnectorError> {
        revoke::revoke(&self.api, target).await
    }

    async fn verify_revoked(&self, target: &RevokeTarget) -> Result<Verification, ConnectorError> {
        revoke::verify(&self.api, target).await
    }
}
