//! A GitHub organisation through GitHub's REST API (URL = the API base and the organisation,
//! `https://api.github.com/orgs/ORG`, or `https://HOST/api/v3/orgs/ORG` on GitHub Enterprise
//! Server; credential = a GitHub App installation access token, since GitHub serves the
//! fine-grained PAT grant endpoints to GitHub Apps only).
//!
//! "Who can do what" in an organisation is, here: its members and owners, the fine-grained
//! personal access tokens granted access to it (limited by their permissions and by what their
//! owner may do), the SAML SSO authorizations of classic tokens and SSH keys (GitHub Enterprise
//! Cloud), and the GitHub Apps installed on it with their permissions.
//! [`inventory::map_inventory`] documents the mapping; [`audit`] the audit log (Enterprise Cloud
//! only: elsewhere a coverage note, not an error); `revoke.rs` what revocation does.

pub mod api;
pub mod audit;
pub mod inventory;
mod revoke;

pub use revoke::{target as credential_target, Target};

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use portcullis_model::{
    BackendKind, Capabilities, CheckReport, Inventory, Progress, RevokeReceipt, RightCheck,
    Verification, GITHUB_RIGHTS,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::time::Instant;

use crate::http::Http;
use crate::{
    display_url, parse_url, AuditSink, BackendConfig, Connector, ConnectorError, Cursor,
    ProgressFn, RevokeTarget,
};
use api::Api;
use inventory::{CredentialAuthorization, InstallationsPage, PatGrant, SimpleUser, Snapshot};

pub fn capabilities() -> Capabilities {
    Capabilities {
        list_principals: true,
        list_credentials: true,
        token_lookup: false,
        audit: true,
        revoke: true,
        verify: true,
        notes: vec![
            "token values are never read: GitHub lists PAT grants and SSO authorizations by id, permissions, expiry and last use".into(),
            "revoking a fine-grained PAT grant ends the token's access to this organisation only; the token itself lives on".into(),
            "removing an SSO credential authorization ends its SAML SSO authorization only; the token or SSH key lives on".into(),
            "the base repository permission, teams and repository collaborators are not read: members' repository rights are not in the access map".into(),
            "the audit log and SSO authorizations exist on GitHub Enterprise Cloud; elsewhere they are skipped".into(),
            "no token triage: GitHub looks no token up by value for an organisation".into(),
        ],
    }
}

pub struct GitHub {
    api: Api,
    org: String,
}

/// `GET /orgs/{org}`: the organisation the token reaches.
#[derive(Debug, Deserialize)]
struct Org {
    login: String,
    #[serde(default)]
    plan: Option<serde_json::Value>,
}

/// The API base and the organisation from `…/orgs/ORG`.
pub fn split_url(url: &url::Url) -> Result<(url::Url, String), ConnectorError> {
    let path = url.path().trim_end_matches('/');
    let (base_path, org) = path.rsplit_once("/orgs/").ok_or_else(|| {
        ConnectorError::InvalidConfig(format!(
            "`{url}`: a GitHub backend's URL names its organisation: https://api.github.com/orgs/ORG"
        ))
    })?;
    if org.is_empty() || org.contains('/') {
        return Err(ConnectorError::InvalidConfig(format!(
            "`{url}`: `{org}` is not an organisation name"
        )));
    }
    let mut base = url.clone();
    base.set_path(base_path);
    base.set_query(None);
    base.set_fragment(None);
    Ok((base, org.to_string()))
}

impl GitHub {
    pub fn new(config: BackendConfig) -> Result<Self, ConnectorError> {
        let url = parse_url(&config.url)?;
        let clean = display_url(&url);
        let clean = url::Url::parse(&clean)
            .map_err(|e| ConnectorError::InvalidConfig(format!("`{clean}`: {e}")))?;
        let (base, org) = split_url(&clean)?;
        Ok(GitHub {
            api: Api::new(
                Http::new(format!("GitHub at {clean}"), config.timeout)?,
                base,
                config.secret,
            ),
            org,
        })
    }

    fn org_path<'a>(&'a self, rest: &[&'a str]) -> Vec<&'a str> {
        let mut v = vec!["orgs", self.org.as_str()];
        v.extend_from_slice(rest);
        v
    }

    /// A listing of the organisation that is a plain array.
    async fn list<T: DeserializeOwned>(
        &self,
        rest: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Vec<T>, ConnectorError> {
        let right = format!("GET /orgs/{}/{}", self.org, rest.join("/"));
        self.api
            .list_all(&self.org_path(rest), query, &right, |v: Vec<T>| v)
            .await
    }

    /// A listing the console may be refused (plan, permission): `None`, said in the log.
    async fn optional<T>(
        &self,
        what: &str,
        read: impl std::future::Future<Output = Result<Vec<T>, ConnectorError>>,
    ) -> Result<Option<Vec<T>>, ConnectorError> {
        match read.await {
            Ok(v) => Ok(Some(v)),
            Err(ConnectorError::Forbidden { .. } | ConnectorError::NotFound { .. }) => {
                tracing::info!(target: "portcullis::github", "{what}: refused or absent on this organisation, skipped");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn installations(&self) -> Result<Vec<inventory::Installation>, ConnectorError> {
        let right = format!("GET /orgs/{}/installations", self.org);
        self.api
            .list_all(
                &self.org_path(&["installations"]),
                &[],
                &right,
                |p: InstallationsPage| p.installations,
            )
            .await
    }

    /// Reads everything the inventory is made of.
    pub async fn snapshot(&self, progress: &ProgressFn<'_>) -> Result<Snapshot, ConnectorError> {
        const TASK: &str = "github inventory";
        let total = Some(3);
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
        let members: Vec<SimpleUser> = self.list(&["members"], &[("role", "all")]).await?;
        let admins: Vec<SimpleUser> = self.list(&["members"], &[("role", "admin")]).await?;
        step(1, format!("{} members", members.len()));
        let grants = self
            .optional(
                "PAT grants",
                self.list::<PatGrant>(&["personal-access-tokens"], &[]),
            )
            .await?;
        let requests = self
            .optional(
                "PAT requests",
                self.list::<PatGrant>(&["personal-access-token-requests"], &[]),
            )
            .await?;
        step(
            2,
            format!("{} PAT grants", grants.as_ref().map_or(0, Vec::len)),
        );
        let authorizations = self
            .optional(
                "SSO credential authorizations",
                self.list::<CredentialAuthorization>(&["credential-authorizations"], &[]),
            )
            .await?;
        let installations = self
            .optional("App installations", self.installations())
            .await?;
        progress(Progress::Finished {
            task: TASK.into(),
            ok: true,
            message: format!(
                "{} members, {} PAT grants, {} SSO authorizations, {} app installations",
                members.len(),
                grants.as_ref().map_or(0, Vec::len),
                authorizations.as_ref().map_or(0, Vec::len),
                installations.as_ref().map_or(0, Vec::len),
            ),
        });
        Ok(Snapshot {
            org: self.org.clone(),
            members,
            admins: admins.into_iter().map(|a| a.login).collect(),
            grants,
            requests,
            authorizations,
            installations,
        })
    }

    /// One right probed with a one-item listing: granted, refused (403/404) or a failure.
    async fn probe(&self, rest: &[&str]) -> Result<bool, ConnectorError> {
        let right = format!("GET /orgs/{}/{}", self.org, rest.join("/"));
        match self
            .api
            .get::<serde_json::Value>(&self.org_path(rest), &[("per_page", "1")], &right)
            .await
        {
            Ok(_) => Ok(true),
            Err(ConnectorError::Forbidden { .. } | ConnectorError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Connector for GitHub {
    fn kind(&self) -> BackendKind {
        BackendKind::GitHub
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    async fn check(&self) -> Result<CheckReport, ConnectorError> {
        let started = Instant::now();
        let org: Org = self
            .api
            .get(&self.org_path(&[]), &[], &format!("GET /orgs/{}", self.org))
            .await?;
        let members = self.probe(&["members"]).await?;
        let pat_read = self.probe(&["personal-access-tokens"]).await?;
        // GitHub tells no one a token's permissions: the write right is known only when a
        // revocation is answered, so it is reported as not established.
        let pat_write = false;
        let installations = self.probe(&["installations"]).await?;
        let sso = self.probe(&["credential-authorizations"]).await?;
        let audit = self.probe(&["audit-log"]).await?;
        let granted = [members, pat_read, pat_write, installations, sso, audit];
        let rights = GITHUB_RIGHTS
            .iter()
            .zip(granted)
            .map(|((r, why, optional), granted)| RightCheck {
                right: (*r).into(),
                needed_for: (*why).into(),
                granted,
                optional: *optional,
            })
            .collect();
        let plan = org
            .plan
            .as_ref()
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .map(|n| format!("plan {n}"));
        Ok(CheckReport {
            backend: String::new(),
            ok: true,
            identity: Some(format!("organisation {}", org.login)),
            server: plan,
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
        let after: Option<DateTime<Utc>> = since.as_deref().and_then(|c| c.parse().ok());
        let phrase =
            after.map(|a| format!("created:>={}", a.to_rfc3339_opts(SecondsFormat::Secs, true)));
        let mut query = vec![("include", "all"), ("order", "asc")];
        if let Some(p) = phrase.as_deref() {
            query.push(("phrase", p));
        }
        let raw: Vec<serde_json::Value> = match self.list(&["audit-log"], &query).await {
            Ok(r) => r,
            Err(ConnectorError::Forbidden { .. } | ConnectorError::NotFound { .. }) => {
                tracing::info!(target: "portcullis::github", "no audit log API (GitHub Enterprise Cloud only): skipped");
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

    async fn revoke(&self, target: &RevokeTarget) -> Result<RevokeReceipt, ConnectorError> {
        revoke::revoke(&self.api, &self.org, target).await
    }

    async fn verify_revoked(&self, target: &RevokeTarget) -> Result<Verification, ConnectorError> {
        revoke::verify(&self.api, &self.org, target).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_names_the_api_base_and_the_organisation() {
        let split = |u: &str| split_url(&url::Url::parse(u).unwrap());
        let (base, org) = split("https://api.github.com/orgs/octo-org").unwrap();
        assert_eq!(
            (base.as_str(), org.as_str()),
            ("https://api.github.com/", "octo-org")
        );
        let (base, org) = split("https://ghe.example.com/api/v3/orgs/acme/").unwrap();
        assert_eq!(
            (base.as_str(), org.as_str()),
            ("https://ghe.example.com/api/v3", "acme")
        );
        assert!(split("https://api.github.com/").is_err());
        assert!(split("https://api.github.com/orgs/").is_err());
        assert!(split("https://api.github.com/orgs/a/b").is_err());
    }
}
