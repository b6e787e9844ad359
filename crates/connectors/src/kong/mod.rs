//! Kong Gateway through its Admin API (URL = the Admin API base, e.g. `http://kong:8001`, or a
//! workspace under it; optional credential = the `Kong-Admin-Token` value of Kong Enterprise RBAC).
//!
//! Kong is an API gateway, so "who can do what" is: consumers (and Enterprise consumer groups)
//! holding credentials of the auth plugins (key-auth, jwt, basic-auth, hmac-auth, oauth2 and its
//! tokens), ACL groups on consumers, and acl plugins allowing or denying groups on routes and
//! services. [`inventory::map_inventory`] documents the mapping; [`log`] reads file-log /
//! http-log lines for usage, since the Admin API keeps no request history.

pub mod admin;
pub mod inventory;
pub mod log;
mod revoke;

pub use log::parse_kong_log_line;

use async_trait::async_trait;
use chrono::Utc;
use portcullis_model::{
    BackendKind, Capabilities, CheckReport, Inventory, Progress, RevokeReceipt, RightCheck,
    Verification,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use crate::http::Http;
use crate::jsonl::{read_jsonl, FileCursor};
use crate::{
    display_url, parse_url, AuditSink, BackendConfig, Connector, ConnectorError, Cursor,
    ProgressFn, RevokeTarget,
};
use admin::{Admin, PAGE_SIZE};
use inventory::{EntityRef, GroupMembers, Snapshot};

pub fn capabilities() -> Capabilities {
    Capabilities {
        list_principals: true,
        list_credentials: true,
        token_lookup: false,
        audit: true,
        revoke: true,
        verify: true,
        notes: vec![
            "the Admin API keeps no request history: usage comes from file-log / http-log JSON lines (the backend's audit log file)".into(),
            "key material is never stored: keys and secrets are kept as SHA-256 fingerprints".into(),
            "acl plugin allow/deny lists are read, not edited: revoke the consumer's ACL group membership instead".into(),
            "consumer groups exist on Kong Enterprise only; elsewhere they are skipped".into(),
            "no token triage: Kong looks keys up by value only in a URL path, which would put the key in access logs".into(),
        ],
    }
}

/// Collections listed by `check` and `inventory`: (path, what for, required).
/// Optional ones answer 404 when their plugin is not loaded (or, for consumer groups, on Kong OSS).
const COLLECTIONS: &[(&str, &str, bool)] = &[
    ("consumers", "listing consumers", true),
    ("plugins", "reading acl plugin allow/deny lists", true),
    ("routes", "naming routes in permissions", true),
    ("services", "naming services in permissions", true),
    ("acls", "listing ACL group memberships", false),
    ("key-auths", "listing key-auth credentials", false),
    ("jwts", "listing jwt credentials", false),
    ("basic-auths", "listing basic-auth credentials", false),
    ("hmac-auths", "listing hmac-auth credentials", false),
    ("oauth2", "listing OAuth 2.0 applications", false),
    ("oauth2_tokens", "listing OAuth 2.0 tokens", false),
    (
        "consumer_groups",
        "listing consumer groups (Enterprise)",
        false,
    ),
];

pub struct Kong {
    admin: Admin,
    audit_log: Option<PathBuf>,
    token_configured: bool,
}

#[derive(Debug, Deserialize)]
struct RootInfo {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    edition: Option<String>,
}

/// `GET /consumer_groups/{id}/consumers`: documented as `{"consumers": [...]}`; paginated
/// `{"data": [...], "next": ...}` is accepted too.
#[derive(Debug, Deserialize)]
struct Members {
    #[serde(default)]
    consumers: Vec<EntityRef>,
    #[serde(default)]
    data: Vec<EntityRef>,
    #[serde(default)]
    next: Option<String>,
}

impl Kong {
    pub fn new(config: BackendConfig) -> Result<Self, ConnectorError> {
        let url = parse_url(&config.url)?;
        let base = display_url(&url);
        let base_url = url::Url::parse(&base)
            .map_err(|e| ConnectorError::InvalidConfig(format!("`{base}`: {e}")))?;
        let token_configured = config.secret.is_some();
        Ok(Kong {
            admin: Admin::new(
                Http::new(format!("Kong Admin API at {base}"), config.timeout)?,
                base_url,
                config.secret,
            ),
            audit_log: config.audit_log,
            token_configured,
        })
    }

    /// A collection that may be absent (plugin not loaded): 404 → empty, with a note.
    async fn optional<T: DeserializeOwned>(
        &self,
        collection: &str,
        notes: &mut Vec<String>,
    ) -> Result<Vec<T>, ConnectorError> {
        let right = format!("GET /{collection}");
        match self.admin.list_all(&[collection], &right).await {
            Err(ConnectorError::NotFound { .. }) => {
                notes.push(format!(
                    "/{collection} is not served (plugin not loaded, or not this edition): skipped"
                ));
                Ok(Vec::new())
            }
            other => other,
        }
    }

    async fn members(&self, group_id: &str) -> Result<Vec<String>, ConnectorError> {
        let right = format!("GET /consumer_groups/{group_id}/consumers");
        let mut url = self.admin.url(&["consumer_groups", group_id, "consumers"]);
        url.query_pairs_mut().append_pair("size", PAGE_SIZE);
        let mut ids = Vec::new();
        let mut seen = HashSet::new();
        loop {
            let page: Members = self.admin.get_url(url, &right).await?;
            ids.extend(page.consumers.into_iter().chain(page.data).map(|c| c.id));
            match page.next.filter(|n| !n.is_empty()) {
                Some(next) if seen.insert(next.clone()) => url = self.admin.resolve_next(&next)?,
                _ => return Ok(ids),
            }
        }
    }

    /// Reads everything the inventory is made of.
    pub async fn snapshot(&self, progress: &ProgressFn<'_>) -> Result<Snapshot, ConnectorError> {
        const TASK: &str = "kong inventory";
        let total = COLLECTIONS.len() as u64;
        progress(Progress::Started {
            task: TASK.into(),
            total: Some(total),
        });
        let mut notes = Vec::new();
        let mut s = Snapshot::default();
        let mut done = 0u64;
        let mut step = |what: &str| {
            done += 1;
            progress(Progress::Advanced {
                task: TASK.into(),
                done,
                total: Some(total),
                message: what.to_string(),
            });
        };
        s.consumers = self
            .admin
            .list_all(&["consumers"], "GET /consumers")
            .await?;
        step("consumers");
        s.plugins = self.admin.list_all(&["plugins"], "GET /plugins").await?;
        step("plugins");
        s.routes = self.admin.list_all(&["routes"], "GET /routes").await?;
        step("routes");
        s.services = self.admin.list_all(&["services"], "GET /services").await?;
        step("services");
        s.acls = self.optional("acls", &mut notes).await?;
        step("ACL groups");
        s.key_auths = self.optional("key-auths", &mut notes).await?;
        step("key-auth credentials");
        s.jwts = self.optional("jwts", &mut notes).await?;
        step("jwt credentials");
        s.basic_auths = self.optional("basic-auths", &mut notes).await?;
        step("basic-auth credentials");
        s.hmac_auths = self.optional("hmac-auths", &mut notes).await?;
        step("hmac-auth credentials");
        s.oauth2_apps = self.optional("oauth2", &mut notes).await?;
        step("OAuth 2.0 applications");
        s.oauth2_tokens = self.optional("oauth2_tokens", &mut notes).await?;
        step("OAuth 2.0 tokens");
        let groups: Vec<inventory::ConsumerGroup> =
            self.optional("consumer_groups", &mut notes).await?;
        for group in groups {
            let consumer_ids = self.members(&group.id).await?;
            s.consumer_groups.push(GroupMembers {
                group,
                consumer_ids,
            });
        }
        step("consumer groups");
        for n in &notes {
            tracing::info!(target: "portcullis::kong", "{n}");
        }
        progress(Progress::Finished {
            task: TASK.into(),
            ok: true,
            message: if notes.is_empty() {
                format!("{} consumers", s.consumers.len())
            } else {
                format!("{} consumers; {}", s.consumers.len(), notes.join("; "))
            },
        });
        Ok(s)
    }
}

#[async_trait]
impl Connector for Kong {
    fn kind(&self) -> BackendKind {
        BackendKind::Kong
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    async fn check(&self) -> Result<CheckReport, ConnectorError> {
        let started = Instant::now();
        let root: RootInfo = self.admin.get(&[], "GET / (node information)").await?;
        let mut rights = Vec::new();
        for (collection, why, required) in COLLECTIONS {
            let mut url = self.admin.url(&[collection]);
            url.query_pairs_mut().append_pair("size", "1");
            let right = format!("GET /{collection}");
            let granted = match self.admin.get_url::<serde_json::Value>(url, &right).await {
                Ok(_) => true,
                Err(e @ ConnectorError::Unauthorized { .. }) => return Err(e),
                Err(ConnectorError::NotFound { .. }) if !required => {
                    rights.push(RightCheck {
                        right,
                        needed_for: format!("{why} (not served: plugin not loaded)"),
                        granted: false,
                        optional: true,
                    });
                    continue;
                }
                Err(ConnectorError::Forbidden { .. }) | Err(ConnectorError::NotFound { .. }) => {
                    false
                }
                Err(e) => return Err(e),
            };
            rights.push(RightCheck {
                right,
                needed_for: (*why).to_string(),
                granted,
                optional: false,
            });
        }
        let server = root.version.as_ref().map(|v| {
            let edition = root
                .edition
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            let host = root
                .hostname
                .as_deref()
                .map(|h| format!(" on {h}"))
                .unwrap_or_default();
            format!("Kong {v}{edition}{host}")
        });
        Ok(CheckReport {
            backend: String::new(),
            ok: true,
            identity: Some(if self.token_configured {
                "Kong-Admin-Token (RBAC)".into()
            } else {
                "no Admin API token (open Admin API)".into()
            }),
            server,
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
        let Some(path) = &self.audit_log else {
            return Ok(None);
        };
        let summary = read_jsonl(
            path,
            FileCursor::parse(since.as_deref()),
            sink,
            log::line_outcome,
        )
        .await?;
        if summary.rejected_total > 0 {
            tracing::warn!(rejected = summary.rejected_total, first = ?summary.rejected.first(), "Kong log lines rejected");
        }
        Ok(Some(summary.cursor.encode()))
    }

    async fn revoke(&self, target: &RevokeTarget) -> Result<RevokeReceipt, ConnectorError> {
        revoke::revoke(&self.admin, target).await
    }

    async fn verify_revoked(&self, target: &RevokeTarget) -> Result<Verification, ConnectorError> {
        revoke::verify(&self.admin, target).await
    }
}
