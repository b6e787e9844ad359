//! Kubernetes RBAC (kind `kubernetes`), from the live API or from `kubectl` output files.
//!
//! - URL `https://api-server:6443` (optionally with a proxy path prefix): the live API, with the
//!   backend's credential as a bearer token (a ServiceAccount token allowed to list RBAC objects).
//! - URL `file:///path/to/dump.yaml` or `file:///path/to/dir/`: an offline snapshot made of
//!   `kubectl get roles,clusterroles,rolebindings,clusterrolebindings,serviceaccounts -A -o yaml`
//!   output (see [`files`]); it can be reviewed but not changed. Kubeconfig files are not read:
//!   their credentials (exec plugins, client certificates) are out of this connector's reach, so
//!   the API URL and a token are given explicitly.
//!
//! [`inventory`] documents the mapping; [`audit`] reads audit.k8s.io JSON lines for usage.

pub mod api;
pub mod audit;
pub mod files;
pub mod inventory;
pub mod objects;
mod revoke;
pub mod rules;

pub use audit::parse_k8s_audit_line;
pub use files::inventory_from_files;

use async_trait::async_trait;
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use portcullis_model::{
    BackendKind, Capabilities, CheckReport, CredentialKind, Inventory, Progress, RevokeReceipt,
    RightCheck, TokenInfo, Verification,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Instant;

use crate::http::Http;
use crate::jsonl::{read_jsonl, FileCursor};
use crate::{
    display_url, parse_url, AuditSink, BackendConfig, Connector, ConnectorError, Cursor,
    ProgressFn, RevokeTarget,
};
use api::{Api, Attributes};
use objects::Objects;

pub fn capabilities() -> Capabilities {
    Capabilities {
        list_principals: true,
        list_credentials: true,
        token_lookup: true,
        audit: true,
        revoke: true,
        verify: true,
        notes: vec![
            "only legacy ServiceAccount token Secrets are listed as credentials: short-lived TokenRequest tokens and client certificates have no list API".into(),
            "Users and Groups exist only as names in bindings; group memberships made by the authenticator are not visible".into(),
            "usage comes from the API server's audit log (audit.k8s.io JSON lines), set as the backend's audit log file".into(),
            "a file:// URL reads kubectl output offline: it can be reviewed but not revoked".into(),
        ],
    }
}

/// One list endpoint of the live API.
pub struct ListEndpoint {
    pub path: &'static str,
    pub query: &'static [(&'static str, &'static str)],
    /// The kind of its items (the API leaves `kind` out of list items).
    pub kind: &'static str,
    /// Without the right to list an optional endpoint, the sync goes on without its objects.
    pub required: bool,
}

const fn endpoint(
    path: &'static str,
    query: &'static [(&'static str, &'static str)],
    kind: &'static str,
    required: bool,
) -> ListEndpoint {
    ListEndpoint {
        path,
        query,
        kind,
        required,
    }
}

/// The list endpoints read from the live API. ServiceAccounts and Secrets are optional.
pub const LIST_ENDPOINTS: &[ListEndpoint] = &[
    endpoint(
        "/apis/rbac.authorization.k8s.io/v1/roles",
        &[],
        "Role",
        true,
    ),
    endpoint(
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        &[],
        "ClusterRole",
        true,
    ),
    endpoint(
        "/apis/rbac.authorization.k8s.io/v1/rolebindings",
        &[],
        "RoleBinding",
        true,
    ),
    endpoint(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        &[],
        "ClusterRoleBinding",
        true,
    ),
    endpoint("/api/v1/serviceaccounts", &[], "ServiceAccount", false),
    endpoint(
        "/api/v1/secrets",
        &[("fieldSelector", "type=kubernetes.io/service-account-token")],
        "Secret",
        false,
    ),
];

/// Rights checked by `check`: (verb, group, resource, needed for).
const RIGHTS: &[(&str, &str, &str, &str)] = &[
    (
        "list",
        "rbac.authorization.k8s.io",
        "roles",
        "reading Roles",
    ),
    (
        "list",
        "rbac.authorization.k8s.io",
        "clusterroles",
        "reading ClusterRoles",
    ),
    (
        "list",
        "rbac.authorization.k8s.io",
        "rolebindings",
        "reading RoleBindings",
    ),
    (
        "list",
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        "reading ClusterRoleBindings",
    ),
    ("list", "", "serviceaccounts", "listing ServiceAccounts"),
    (
        "list",
        "",
        "secrets",
        "listing legacy ServiceAccount token Secrets",
    ),
    (
        "create",
        "authorization.k8s.io",
        "subjectaccessreviews",
        "verifying revocations",
    ),
    (
        "create",
        "authentication.k8s.io",
        "tokenreviews",
        "token triage",
    ),
    (
        "update",
        "rbac.authorization.k8s.io",
        "rolebindings",
        "removing a subject from a RoleBinding",
    ),
    (
        "update",
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        "removing a subject from a ClusterRoleBinding",
    ),
    (
        "delete",
        "rbac.authorization.k8s.io",
        "rolebindings",
        "deleting a RoleBinding",
    ),
    (
        "delete",
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        "deleting a ClusterRoleBinding",
    ),
    ("delete", "", "secrets", "deleting a legacy token Secret"),
];

enum Source {
    Api(Api),
    Files(PathBuf),
}

pub struct Kubernetes {
    source: Source,
    audit_log: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
struct VersionInfo {
    #[serde(default, rename = "gitVersion")]
    git_version: Option<String>,
}

impl Kubernetes {
    pub fn new(config: BackendConfig) -> Result<Self, ConnectorError> {
        if config.url.starts_with("file:") {
            let url = url::Url::parse(&config.url).map_err(|e| {
                ConnectorError::InvalidConfig(format!("`{}` is not a URL: {e}", config.url))
            })?;
            let path = url.to_file_path().map_err(|_| {
                ConnectorError::InvalidConfig(format!(
                    "`{}` is not a local file path (use file:///absolute/path)",
                    config.url
                ))
            })?;
            return Ok(Kubernetes {
                source: Source::Files(path),
                audit_log: config.audit_log,
            });
        }
        let url = parse_url(&config.url)?;
        let base = display_url(&url);
        let base_url = url::Url::parse(&base)
            .map_err(|e| ConnectorError::InvalidConfig(format!("`{base}`: {e}")))?;
        Ok(Kubernetes {
            source: Source::Api(Api::new(
                Http::new(format!("Kubernetes API at {base}"), config.timeout)?,
                base_url,
                config.secret,
            )),
            audit_log: config.audit_log,
        })
    }

    fn api(&self) -> Result<&Api, ConnectorError> {
        match &self.source {
            Source::Api(api) => Ok(api),
            Source::Files(p) => Err(ConnectorError::Unsupported(format!(
                "this Kubernetes backend is an offline snapshot ({}): register the API server URL to change or verify anything",
                p.display()
            ))),
        }
    }

    /// Reads every object from the live API.
    pub async fn objects(&self, progress: &ProgressFn<'_>) -> Result<Objects, ConnectorError> {
        const TASK: &str = "kubernetes inventory";
        let api = self.api()?;
        let total = LIST_ENDPOINTS.len() as u64;
        progress(Progress::Started {
            task: TASK.into(),
            total: Some(total),
        });
        let mut objects = Objects::default();
        let mut notes = Vec::new();
        for (
            done,
            ListEndpoint {
                path,
                query,
                kind,
                required,
            },
        ) in LIST_ENDPOINTS.iter().enumerate()
        {
            let right = format!(
                "list {} (all namespaces)",
                path.rsplit('/').next().unwrap_or(path)
            );
            let items = match api.list(path, query, kind, &right).await {
                Ok(items) => items,
                Err(ConnectorError::Forbidden { .. }) if !required => {
                    notes.push(format!("no right to {right}: {kind}s skipped"));
                    Vec::new()
                }
                Err(e) => return Err(e),
            };
            for (i, item) in items.into_iter().enumerate() {
                objects
                    .add(item, &format!("{path}, item {}", i + 1))
                    .map_err(|e| ConnectorError::Malformed {
                        target: api.target().to_string(),
                        what: e.at,
                        detail: e.reason,
                    })?;
            }
            progress(Progress::Advanced {
                task: TASK.into(),
                done: done as u64 + 1,
                total: Some(total),
                message: format!("{kind}s"),
            });
        }
        for n in &notes {
            tracing::warn!(target: "portcullis::kubernetes", "{n}");
        }
        progress(Progress::Finished {
            task: TASK.into(),
            ok: true,
            message: if notes.is_empty() {
                "RBAC read".into()
            } else {
                format!("RBAC read; {}", notes.join("; "))
            },
        });
        Ok(objects)
    }
}

/// `exp` / `iat` of a JWT, read without verifying (the API server's TokenReview did that).
fn jwt_times(token: &str) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let claims = token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    let at = |k: &str| {
        claims
            .as_ref()
            .and_then(|c| c.get(k))
            .and_then(Value::as_i64)
            .and_then(|s| Utc.timestamp_opt(s, 0).single())
    };
    (at("iat"), at("exp"))
}

#[async_trait]
impl Connector for Kubernetes {
    fn kind(&self) -> BackendKind {
        BackendKind::Kubernetes
    }

    fn capabilities(&self) -> Capabilities {
        let mut c = capabilities();
        if matches!(self.source, Source::Files(_)) {
            c.token_lookup = false;
            c.revoke = false;
            c.verify = false;
        }
        c
    }

    async fn check(&self) -> Result<CheckReport, ConnectorError> {
        let started = Instant::now();
        let api = match &self.source {
            Source::Files(path) => {
                let objects = files::objects_from_files(std::slice::from_ref(path))?;
                return Ok(CheckReport {
                    backend: String::new(),
                    ok: true,
                    identity: None,
                    server: Some(format!(
                        "kubectl output at {} ({} Roles, {} ClusterRoles, {} RoleBindings, {} ClusterRoleBindings)",
                        path.display(),
                        objects.roles.len(),
                        objects.cluster_roles.len(),
                        objects.role_bindings.len(),
                        objects.cluster_role_bindings.len()
                    )),
                    credential_expires_at: None,
                    rights: vec![],
                    latency_ms: started.elapsed().as_millis() as u64,
                    error: None,
                });
            }
            Source::Api(api) => api,
        };
        let version: VersionInfo = api.get(api.url("/version", &[]), "GET /version").await?;
        let identity = match api
            .post_review::<Value>(
                api.url("/apis/authentication.k8s.io/v1/selfsubjectreviews", &[]),
                &json!({ "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview" }),
                "create selfsubjectreviews",
            )
            .await
        {
            Ok(v) => v
                .pointer("/status/userInfo/username")
                .and_then(Value::as_str)
                .map(str::to_string),
            Err(e @ ConnectorError::Unauthorized { .. }) => return Err(e),
            // Before Kubernetes 1.28 the API is absent; who-am-I is then unknown, not an error.
            Err(_) => None,
        };
        let mut rights = Vec::new();
        for (verb, group, resource, why) in RIGHTS {
            let attrs = Attributes::Resource {
                verb: (*verb).into(),
                group: (*group).into(),
                resource: (*resource).into(),
                subresource: None,
                name: None,
                namespace: None,
            };
            let decision = api.can_i(&attrs).await?;
            rights.push(RightCheck {
                right: attrs.describe(),
                needed_for: (*why).into(),
                granted: decision.allowed,
                optional: false,
            });
        }
        Ok(CheckReport {
            backend: String::new(),
            ok: true,
            identity,
            server: version.git_version.map(|v| format!("Kubernetes {v}")),
            credential_expires_at: None,
            rights,
            latency_ms: started.elapsed().as_millis() as u64,
            error: None,
        })
    }

    async fn inventory(&self, progress: &ProgressFn<'_>) -> Result<Inventory, ConnectorError> {
        match &self.source {
            Source::Files(path) => {
                progress(Progress::Started {
                    task: "kubernetes inventory".into(),
                    total: None,
                });
                let inv = inventory_from_files(std::slice::from_ref(path))?;
                progress(Progress::Finished {
                    task: "kubernetes inventory".into(),
                    ok: true,
                    message: format!("read {}", path.display()),
                });
                Ok(inv)
            }
            Source::Api(_) => Ok(inventory::build_inventory(&self.objects(progress).await?)),
        }
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
            audit::line_outcome,
        )
        .await?;
        if summary.rejected_total > 0 {
            tracing::warn!(rejected = summary.rejected_total, first = ?summary.rejected.first(), "Kubernetes audit lines rejected");
        }
        Ok(Some(summary.cursor.encode()))
    }

    /// TokenReview: the API server authenticates the token and says whose it is.
    async fn lookup_token(
        &self,
        token: &SecretString,
    ) -> Result<Option<TokenInfo>, ConnectorError> {
        let api = self.api()?;
        let review: Value = api
            .post_review(
                api.url("/apis/authentication.k8s.io/v1/tokenreviews", &[]),
                &json!({
                    "apiVersion": "authentication.k8s.io/v1",
                    "kind": "TokenReview",
                    "spec": { "token": token.expose_secret() },
                }),
                "create tokenreviews (authentication.k8s.io)",
            )
            .await?;
        let status = review.get("status").cloned().unwrap_or(Value::Null);
        if status.get("authenticated").and_then(Value::as_bool) != Some(true) {
            return Ok(None);
        }
        let user = status.get("user").cloned().unwrap_or(Value::Null);
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let strings = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let credential_id = user
            .pointer("/extra/authentication.kubernetes.io~1credential-id/0")
            .and_then(Value::as_str)
            .map(str::to_string);
        let (issued_at, expires_at) = jwt_times(token.expose_secret());
        Ok(Some(TokenInfo {
            backend: String::new(),
            fingerprint: crate::fingerprint(token.expose_secret()),
            active: true,
            kind: CredentialKind::AccessToken,
            external_id: credential_id,
            client: None,
            subject: s(&user, "username"),
            scopes: vec![],
            audience: strings(status.get("audiences")),
            issued_at,
            expires_at,
            attrs: json!({
                "uid": s(&user, "uid"),
                "groups": strings(user.get("groups")),
                "legacy_or_unbounded": expires_at.is_none(),
            }),
        }))
    }

    async fn revoke(&self, target: &RevokeTarget) -> Result<RevokeReceipt, ConnectorError> {
        revoke::revoke(self.api()?, target).await
    }

    async fn verify_revoked(&self, target: &RevokeTarget) -> Result<Verification, ConnectorError> {
        revoke::verify(self.api()?, target).await
    }
}
