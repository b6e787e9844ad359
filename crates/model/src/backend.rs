//! Backends: the systems Portcullis connects to, what each can do, and how its credential is found.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The closed set of backend kinds Portcullis knows how to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// An OAuth 2.0 / OIDC authorization server (discovery, introspection, revocation).
    Oauth2,
    /// HashiCorp Vault or OpenBao (same HTTP API).
    Vault,
    /// PostgreSQL roles and privileges.
    Postgres,
    /// Keycloak Admin REST API.
    Keycloak,
    /// Kong Gateway Admin API.
    Kong,
    /// Kubernetes RBAC.
    Kubernetes,
    /// A GitLab instance's users, memberships and access tokens (REST API v4).
    #[serde(rename = "gitlab")]
    GitLab,
    /// AWS Identity and Access Management (the AWS Query API, SigV4-signed).
    #[serde(rename = "aws-iam")]
    AwsIam,
    /// A hoop.dev access gateway: users, service accounts, API keys, connections and sessions.
    Hoop,
    /// A GitHub organisation: members, fine-grained PAT grants, SSO credential authorizations,
    /// GitHub App installations and the audit log (REST API, version 2022-11-28).
    #[serde(rename = "github")]
    GitHub,
}

impl BackendKind {
    pub const ALL: [BackendKind; 10] = [
        BackendKind::Oauth2,
        BackendKind::Vault,
        BackendKind::Postgres,
        BackendKind::Keycloak,
        BackendKind::Kong,
        BackendKind::Kubernetes,
        BackendKind::GitLab,
        BackendKind::AwsIam,
        BackendKind::Hoop,
        BackendKind::GitHub,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Oauth2 => "oauth2",
            BackendKind::Vault => "vault",
            BackendKind::Postgres => "postgres",
            BackendKind::Keycloak => "keycloak",
            BackendKind::Kong => "kong",
            BackendKind::Kubernetes => "kubernetes",
            BackendKind::GitLab => "gitlab",
            BackendKind::AwsIam => "aws-iam",
            BackendKind::Hoop => "hoop",
            BackendKind::GitHub => "github",
        }
    }

    /// A person's name for the kind, for headings and dialogs.
    pub fn label(self) -> &'static str {
        match self {
            BackendKind::Oauth2 => "OAuth 2.0 / OIDC server",
            BackendKind::Vault => "Vault / OpenBao",
            BackendKind::Postgres => "PostgreSQL",
            BackendKind::Keycloak => "Keycloak",
            BackendKind::Kong => "Kong Gateway",
            BackendKind::Kubernetes => "Kubernetes RBAC",
            BackendKind::GitLab => "GitLab",
            BackendKind::AwsIam => "AWS IAM",
            BackendKind::Hoop => "hoop.dev gateway",
            BackendKind::GitHub => "GitHub organisation",
        }
    }

    /// What the credential of this kind is, said to the person typing it.
    pub fn credential_hint(self) -> &'static str {
        match self {
            BackendKind::Oauth2 => "client secret of the console's client (client id goes in the URL as user: https://CLIENT_ID@host/)",
            BackendKind::Vault => "a Vault/OpenBao token for the console's own least-privilege policy",
            BackendKind::Postgres => "the password of the role named in the URL (postgres://ROLE@host:port/db)",
            BackendKind::Keycloak => "client secret of a service-account client (client id in the URL as user)",
            BackendKind::Kong => "an Admin API token (Kong-Admin-Token), if the Admin API requires one",
            BackendKind::Kubernetes => "a bearer token of a ServiceAccount allowed to read RBAC",
            BackendKind::GitLab => "an administrator's personal access token with scope read_api, and api to revoke (a non-administrator's token lists only its own user's tokens)",
            BackendKind::GitHub => "a GitHub App installation access token for the organisation (the URL names it: https://api.github.com/orgs/ORG); GitHub serves the fine-grained PAT grant endpoints to GitHub Apps only",
            BackendKind::AwsIam => "the secret access key of the console's IAM user (its access key id goes in the URL as user: https://AKIA…@iam.amazonaws.com/)",
            BackendKind::Hoop => "a hoop API key (hpk_…) in the auditor group to review; in the admin group to list API keys, read the security audit log and revoke",
        }
    }
}

/// What the console calls on AWS IAM, and what for: `backend check` probes each, and the
/// least-privilege policy shown in the Add-backend dialog and the README
/// ([`aws_iam_console_policy`]) grants exactly these.
pub const AWS_IAM_RIGHTS: &[(&str, &str)] = &[
    ("iam:GetUser", "naming the console's own IAM user"),
    ("iam:ListUsers", "listing users"),
    ("iam:ListGroups", "listing groups"),
    ("iam:ListRoles", "listing roles"),
    ("iam:ListGroupsForUser", "reading group memberships"),
    (
        "iam:ListAttachedUserPolicies",
        "reading users' managed policies",
    ),
    ("iam:ListUserPolicies", "listing users' inline policies"),
    ("iam:GetUserPolicy", "reading users' inline policies"),
    (
        "iam:ListAttachedGroupPolicies",
        "reading groups' managed policies",
    ),
    ("iam:ListGroupPolicies", "listing groups' inline policies"),
    ("iam:GetGroupPolicy", "reading groups' inline policies"),
    (
        "iam:ListAttachedRolePolicies",
        "reading roles' managed policies",
    ),
    ("iam:ListRolePolicies", "listing roles' inline policies"),
    ("iam:GetRolePolicy", "reading roles' inline policies"),
    (
        "iam:GetPolicy",
        "finding a managed policy's default version",
    ),
    ("iam:GetPolicyVersion", "reading managed policy documents"),
    (
        "iam:ListAccessKeys",
        "listing access keys (and verifying a revocation)",
    ),
    (
        "iam:GetAccessKeyLastUsed",
        "last use of each key (and finding a key's user)",
    ),
    ("iam:UpdateAccessKey", "revocation: deactivating a key"),
    ("iam:DeleteAccessKey", "revocation: deleting a key"),
];

/// What the console's GitLab token needs, what for, and whether the console works without it
/// (right, needed for, optional): `backend check` reports each, the Add-backend dialog lists
/// them. A personal access token of an administrator; only `read_api` is needed to review.
pub const GITLAB_RIGHTS: &[(&str, &str, bool)] = &[
    (
        "read_api scope (or api)",
        "reading users, memberships and tokens",
        false,
    ),
    (
        "administrator",
        "listing every user's tokens and who is an administrator",
        false,
    ),
    (
        "api scope",
        "revoking tokens, blocking users, removing members",
        true,
    ),
    (
        "GET /audit_events",
        "reading audit events (GitLab Premium / Ultimate)",
        true,
    ),
];

/// What the console's hoop API key needs, what for, and whether the console works without it
/// (right, needed for, optional). hoop gives an API key the rights of its groups: `auditor`
/// reads every connection, user and session; only `admin` lists API keys, reads the security
/// audit log and changes anything. `backend check` probes each; the Add-backend dialog lists them.
pub const HOOP_RIGHTS: &[(&str, &str, bool)] = &[
    (
        "group auditor (or admin): GET /users, /serviceaccounts, /connections, /plugins, /access-requests/rules, /sessions",
        "reading users, service accounts, connections, who may use them, approval rules and sessions",
        false,
    ),
    (
        "group admin: GET /api-keys, /ai-agents",
        "listing API keys and AI agents with their last use",
        true,
    ),
    (
        "group admin: GET /audit/logs",
        "reading the security audit log (changes made through the API)",
        true,
    ),
    (
        "group admin: DELETE /api-keys/:id, PUT /users/:id, PUT /serviceaccounts/:subject, POST /sessions/:id/kill, PUT /reviews/:id",
        "revoking keys, deactivating users and service accounts, killing sessions, revoking approvals",
        true,
    ),
];

/// What the console's GitHub token needs, what for, and whether the console works without it
/// (right, needed for, optional), in GitHub's own names for the permissions of a GitHub App (or
/// a fine-grained token): `backend check` probes each read, the Add-backend dialog and the
/// README list them. GitHub serves the PAT grant endpoints to GitHub Apps only.
pub const GITHUB_RIGHTS: &[(&str, &str, bool)] = &[
    (
        "organization permission \"Members: read\"",
        "listing members and who is an owner",
        false,
    ),
    (
        "organization permission \"Personal access tokens: read\"",
        "listing fine-grained PAT grants and requests",
        false,
    ),
    (
        "organization permission \"Personal access tokens: write\"",
        "revoking fine-grained PAT grants (not probed: only a revocation shows it)",
        true,
    ),
    (
        "organization permission \"Administration: read\"",
        "listing GitHub App installations",
        true,
    ),
    (
        "SSO credential authorizations (GitHub Enterprise Cloud, organisation owner)",
        "listing and removing SAML SSO authorizations of PATs and SSH keys",
        true,
    ),
    (
        "audit log read (GitHub Enterprise Cloud)",
        "reading the organisation's audit log",
        true,
    ),
];

/// The virtual role of every hoop principal while hoop's `access_control` plugin is off: it
/// holds every connection's modes (the connector writes it, the access dialect reads it).
pub const HOOP_EVERYONE: &str = "everyone (access_control off)";

/// The IAM policy granting exactly [`AWS_IAM_RIGHTS`] (IAM answers list calls only for
/// `Resource: *`; the revocation rights could be narrowed to `arn:aws:iam::ACCOUNT:user/*`).
pub fn aws_iam_console_policy() -> String {
    let actions: Vec<String> = AWS_IAM_RIGHTS
        .iter()
        .map(|(a, _)| format!("\"{a}\""))
        .collect();
    format!(
        "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{{\n    \"Sid\": \"PortcullisConsole\",\n    \"Effect\": \"Allow\",\n    \"Action\": [\n      {}\n    ],\n    \"Resource\": \"*\"\n  }}]\n}}",
        actions.join(",\n      ")
    )
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BackendKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BackendKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = BackendKind::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown backend kind `{s}` (known: {})", known.join(", "))
            })
    }
}

/// Where the console finds a backend's credential. Only a *reference* is ever stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum CredentialRef {
    /// The backend needs no credential (e.g. an unauthenticated local Admin API).
    None,
    /// In the OS keychain under service `portcullis`, account = `account`.
    Keychain { account: String },
    /// In the environment variable `var` (headless use); only the name is stored.
    Env { var: String },
}

impl CredentialRef {
    pub fn describe(&self) -> String {
        match self {
            CredentialRef::None => "no credential".to_string(),
            CredentialRef::Keychain { .. } => "OS keychain".to_string(),
            CredentialRef::Env { var } => format!("environment variable ${var}"),
        }
    }
}

/// What a backend can do, so that screens say plainly what is unavailable instead of guessing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Can list principals (users, roles, clients).
    pub list_principals: bool,
    /// Can list its live credentials (tokens, sessions, keys).
    pub list_credentials: bool,
    /// Can look a credential up by its value (token triage).
    pub token_lookup: bool,
    /// Has an audit trail the console can read (so usage-based findings are possible).
    pub audit: bool,
    /// Can revoke credentials.
    pub revoke: bool,
    /// Can prove a revoked credential is dead.
    pub verify: bool,
    /// Plain-language notes on limits ("no admin API lists tokens: bring tokens to triage").
    pub notes: Vec<String>,
}

/// A request to register a backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewBackend {
    pub name: String,
    pub kind: BackendKind,
    pub url: String,
    /// How the credential is supplied: keychain (the secret travels separately, once) or env var.
    pub credential: NewCredential,
    /// A local audit log to read usage from (Vault file audit device, node-oidc-provider event
    /// log, PostgreSQL jsonlog file), when the backend does not serve it over its API.
    #[serde(default)]
    pub audit_log: Option<String>,
}

/// The credential part of [`NewBackend`]. A keychain secret is taken once and never returned.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum NewCredential {
    None,
    Keychain { secret: String },
    Env { var: String },
}

impl fmt::Debug for NewCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NewCredential::None => f.write_str("None"),
            NewCredential::Keychain { .. } => f.write_str("Keychain { secret: <redacted> }"),
            NewCredential::Env { var } => write!(f, "Env {{ var: {var:?} }}"),
        }
    }
}

/// A registered backend as screens and `backend list` show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendInfo {
    pub id: i64,
    pub name: String,
    pub kind: BackendKind,
    pub url: String,
    pub credential: CredentialRef,
    #[serde(default)]
    pub audit_log: Option<String>,
    pub capabilities: Capabilities,
    pub created_at: DateTime<Utc>,
    pub last_check: Option<CheckSummary>,
    pub last_sync: Option<SyncRunInfo>,
}

/// The outcome of the last reachability + identity check, kept so the Backends page can show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckSummary {
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub message: String,
}

/// One right the console needs on a backend and whether it has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RightCheck {
    /// The right in the backend's own words (`sudo on auth/token/accessors`, `pg_read_all_stats`).
    pub right: String,
    /// What Portcullis uses it for.
    pub needed_for: String,
    pub granted: bool,
    /// A feature the backend may simply not have (a Kong plugin not loaded, Keycloak events not
    /// saved): reported, but its absence does not fail the check. A missing right that is not
    /// optional does.
    #[serde(default)]
    pub optional: bool,
}

/// The result of `backend check`: reachable, who the console is there, and which of its rights hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    pub backend: String,
    pub ok: bool,
    /// Who the backend says the console is (token display name, role, client id).
    pub identity: Option<String>,
    /// Server product and version where the backend tells it.
    pub server: Option<String>,
    /// When the console's own credential expires, if the backend says.
    pub credential_expires_at: Option<DateTime<Utc>>,
    pub rights: Vec<RightCheck>,
    pub latency_ms: u64,
    pub error: Option<crate::IpcError>,
}

/// One sync run of one backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRunInfo {
    pub id: i64,
    pub backend: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub ok: Option<bool>,
    pub counts: SyncCounts,
    pub error: Option<crate::IpcError>,
    /// A finished run whose inventory is synced but whose audit trail could not be read.
    #[serde(default)]
    pub audit_gap: Option<crate::IpcError>,
}

/// What a sync run saw and changed: inventory totals after the run, rows written, and audit
/// events that were new.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncCounts {
    pub principals: u64,
    pub roles: u64,
    pub permissions: u64,
    pub grants: u64,
    pub credentials: u64,
    pub audit_events: u64,
    #[serde(default)]
    pub rows_written: u64,
    #[serde(default)]
    pub rows_deleted: u64,
}

/// The outcome of syncing one backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncReport {
    pub backend: String,
    /// The inventory was read and written (a partial success still is: see `audit_gap`).
    pub ok: bool,
    pub counts: SyncCounts,
    pub duration_ms: u64,
    pub error: Option<crate::IpcError>,
    /// The inventory is synced but the audit trail could not be read: why, and what to do. Usage
    /// of this backend is then unknown past what the cache already held.
    #[serde(default)]
    pub audit_gap: Option<crate::IpcError>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_aws_console_policy_is_json_naming_every_right() {
        let v: serde_json::Value = serde_json::from_str(&super::aws_iam_console_policy()).unwrap();
        let actions = v["Statement"][0]["Action"].as_array().unwrap();
        assert_eq!(actions.len(), super::AWS_IAM_RIGHTS.len());
        assert_eq!(v["Statement"][0]["Resource"], "*");
    }

    #[test]
    fn the_aws_kind_is_spelled_with_a_dash_everywhere() {
        let k = super::BackendKind::AwsIam;
        assert_eq!(k.as_str(), "aws-iam");
        assert_eq!(serde_json::to_string(&k).unwrap(), "\"aws-iam\"");
        assert_eq!("aws-iam".parse::<super::BackendKind>().unwrap(), k);
    }

    #[test]
    fn every_kind_reads_back_from_its_name_and_github_is_github() {
        for k in super::BackendKind::ALL {
            assert_eq!(k.as_str().parse::<super::BackendKind>().unwrap(), k);
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        assert_eq!(super::BackendKind::GitHub.as_str(), "github");
    }
}
