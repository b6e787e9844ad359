//! What a permission means in its backend's own terms: which actions and resources it covers
//! (Vault path globs and `+` segments, SQL objects and columns, Kubernetes RBAC wildcards, scopes,
//! Keycloak roles as rights of their realm or client, in `keycloak`, AWS IAM statements with
//! their `*`/`?` wildcards, `NotAction` and `NotResource`, in `iam`), how explicit denies
//! override grants ([`DenyRule`]),
//! which audit events exercise it, and how risky it is.
//!
//! The graph itself is backend-agnostic; only this module knows backend syntax. A backend kind
//! without a dialect of its own gets [`Dialect::Generic`] (`*` globs over the permission's resource
//! and id, the normalised action), so a connector added later works in the access map unchanged
//! and can gain precise matching here later.

use portcullis_model::{
    string_list as str_list, Action, BackendKind, Coverage, Risk, HOOP_EVERYONE, PROTOCOL_SCOPES,
};
use serde_json::Value;

use super::iam::{self, IamRule};
use super::keycloak::{self, RoleQuery, RoleRight};
use super::pattern::{glob_match, VaultPattern};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Vault,
    Postgres,
    /// OAuth 2.0 scopes: a scope is exercised by a `token.used` event naming it.
    Scopes,
    Kubernetes,
    /// Keycloak: realm and client roles are rights of their realm or client, asked by role name.
    Keycloak,
    /// GitLab: a group's rights reach everything under its path; a token's scopes are classes
    /// of API access to its user's rights.
    GitLab,
    /// GitHub organisations: an owner's rights reach every repository of the organisation; a
    /// fine-grained PAT's permissions and a classic token's scopes are classes of access to its
    /// owner's rights.
    GitHub,
    /// AWS IAM: policy statements (Allow/Deny, Action/NotAction, Resource/NotResource).
    Iam,
    /// hoop.dev: a connection's access modes (`connect`, `exec`, `runbooks`, `schema`) are its
    /// verbs; a mode behind an approval rule is a partial grant.
    Hoop,
    Generic,
}

/// How an explicit deny overrides grants in one evaluation context; `query.rs` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyRule {
    /// Vault/OpenBao: the most specific matching path rule decides, and a `deny` in it wins
    /// whatever the capability asked.
    MostSpecificPath,
    /// A deny covering the asked resource wins, whatever the action (Kong's acl plugin deny
    /// lists, every dialect without a deny syntax of its own).
    ResourceDeny,
    /// AWS IAM: any matching explicit Deny (its actions and its resources) wins; else any
    /// matching Allow; else nothing (the implicit deny).
    AnyMatchingDeny,
}

impl Dialect {
    /// Whether the backend refuses every credential of a disabled principal: OpenBao answers
    /// "invalid token" for a disabled entity's tokens, Keycloak ends a disabled user's sessions.
    /// PostgreSQL keeps a NOLOGIN role's open sessions running, so there they stay live. GitLab
    /// refuses the tokens of a blocked, deactivated or banned user, GitHub those of a suspended
    /// App installation; hoop every request of an inactive user, and a revoked key's.
    pub fn disabled_principal_voids_credentials(self) -> bool {
        matches!(
            self,
            Dialect::Vault | Dialect::Keycloak | Dialect::GitLab | Dialect::GitHub | Dialect::Hoop
        )
    }

    pub fn for_kind(kind: Option<BackendKind>) -> Dialect {
        match kind {
            Some(BackendKind::Vault) => Dialect::Vault,
            Some(BackendKind::Postgres) => Dialect::Postgres,
            Some(BackendKind::Oauth2) => Dialect::Scopes,
            Some(BackendKind::Kubernetes) => Dialect::Kubernetes,
            Some(BackendKind::Keycloak) => Dialect::Keycloak,
            Some(BackendKind::GitLab) => Dialect::GitLab,
            Some(BackendKind::GitHub) => Dialect::GitHub,
            Some(BackendKind::AwsIam) => Dialect::Iam,
            Some(BackendKind::Hoop) => Dialect::Hoop,
            _ => Dialect::Generic,
        }
    }

    /// How explicit denies override grants in this backend.
    pub fn deny_rule(self) -> DenyRule {
        match self {
            Dialect::Vault => DenyRule::MostSpecificPath,
            Dialect::Iam => DenyRule::AnyMatchingDeny,
            _ => DenyRule::ResourceDeny,
        }
    }

    /// Whether a question's resource is written in this backend's own syntax, so that a
    /// backend-wide grant (`Resource: *`) answers it even without a narrower grant on it: an
    /// ARN is an AWS resource.
    pub fn owns_resource(self, text: &str) -> bool {
        self == Dialect::Iam && text.starts_with("arn:")
    }
}

/// A PostgreSQL predefined role whose rights the documentation states and no catalog lists.
pub struct PgPredefined {
    pub role: &'static str,
    pub action: Action,
    /// Table privileges it implies on every table, view and sequence (none: server rights).
    pub privileges: &'static [&'static str],
    pub what: &'static str,
}

/// The one table of predefined roles: the access graph's implied permissions come from here.
pub const PG_PREDEFINED: [PgPredefined; 5] = [
    PgPredefined {
        role: "pg_read_all_data",
        action: Action::Read,
        privileges: &["SELECT", "USAGE"],
        what: "SELECT on every table, view and sequence",
    },
    PgPredefined {
        role: "pg_write_all_data",
        action: Action::Write,
        privileges: &["INSERT", "UPDATE", "DELETE", "USAGE"],
        what: "INSERT, UPDATE, DELETE on every table, view and sequence",
    },
    PgPredefined {
        role: "pg_read_server_files",
        action: Action::Admin,
        privileges: &[],
        what: "read any file on the server",
    },
    PgPredefined {
        role: "pg_write_server_files",
        action: Action::Admin,
        privileges: &[],
        what: "write any file on the server",
    },
    PgPredefined {
        role: "pg_execute_server_program",
        action: Action::Admin,
        privileges: &[],
        what: "run programs on the server",
    },
];

impl PgPredefined {
    /// The implied permission: id, label, resource and the raw facts the matcher reads.
    pub fn permission(&self) -> (String, String, &'static str, Value) {
        let kind = if self.privileges.is_empty() {
            "server"
        } else {
            "all"
        };
        (
            format!("{kind}:*.*:{}", self.role),
            format!("{} ({})", self.what, self.role),
            "*.*",
            serde_json::json!({"object_kind": kind, "privileges": self.privileges, "wildcard": true, "predefined_role": self.role}),
        )
    }
}

/// The Vault/OpenBao `root` policy's one implied permission: id, label, resource, raw facts.
pub fn vault_root_permission() -> (&'static str, &'static str, &'static str, Value) {
    (
        "*|root",
        "every capability on every path (root policy)",
        "*",
        serde_json::json!({"superuser": true, "capabilities": ["create", "read", "update", "patch", "delete", "list", "sudo"]}),
    )
}

/// A permission as the matcher sees it, parsed once when the graph is built.
#[derive(Debug, Clone)]
pub struct PermMeta {
    pub action: Action,
    pub resource: String,
    /// The backend's own verbs it grants (Vault capabilities, SQL privilege, Kubernetes verb).
    pub verbs: Vec<String>,
    pub wildcard: bool,
    /// Covers every resource and action of its backend (PostgreSQL SUPERUSER, Vault `root`).
    pub superuser: bool,
    /// Covers every action on its own object (PostgreSQL OWNER).
    pub owner: bool,
    /// PostgreSQL object kind (table, view, column, routine, schema, cluster, all).
    pub object_kind: Option<String>,
    pub vault: Option<VaultPattern>,
    /// PostgreSQL object name, parsed once.
    pub sql: Option<SqlName>,
    /// A Keycloak role's right: its realm or client and the role.
    pub keycloak: Option<RoleRight>,
    /// Covers its resource and every path under it (a GitLab group's subgroups and projects).
    pub subtree: bool,
    /// An AWS IAM statement's patterns.
    pub iam: Option<IamRule>,
    /// Needs someone's approval first (a hoop access-request rule): it never covers fully.
    pub conditional: bool,
    pub risk: Risk,
}

impl PermMeta {
    pub fn parse(
        dialect: Dialect,
        external_id: &str,
        resource: &str,
        action: Action,
        raw: &Value,
    ) -> PermMeta {
        let mut m = PermMeta {
            action,
            resource: resource.to_string(),
            verbs: Vec::new(),
            wildcard: resource.contains('*') || raw.get("wildcard") == Some(&Value::Bool(true)),
            superuser: raw.get("superuser") == Some(&Value::Bool(true)),
            owner: false,
            object_kind: None,
            vault: None,
            sql: None,
            keycloak: None,
            subtree: false,
            iam: None,
            conditional: false,
            risk: Risk::Low,
        };
        match dialect {
            Dialect::Vault => {
                m.verbs = str_list(raw.get("capabilities"));
                m.wildcard = resource.contains('*') || resource.split('/').any(|s| s == "+");
                m.vault = Some(VaultPattern::parse(resource));
            }
            Dialect::Postgres => {
                let privilege = raw
                    .get("privilege")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                m.object_kind = raw
                    .get("object_kind")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                m.superuser |= privilege == "SUPERUSER";
                m.owner = privilege == "OWNER";
                m.verbs = str_list(raw.get("privileges"));
                m.sql = Some(SqlName::parse(resource));
                if !privilege.is_empty() {
                    m.verbs.push(privilege);
                }
            }
            Dialect::Kubernetes => {
                if let Some((verb, _)) = external_id.split_once(' ') {
                    m.verbs.push(verb.to_string());
                }
            }
            Dialect::Keycloak => {
                m.keycloak = RoleRight::from_raw(raw);
                if let Some(r) = &m.keycloak {
                    m.verbs.push(r.role.clone());
                }
            }
            Dialect::GitLab | Dialect::GitHub => {
                m.subtree = raw.get("inherited") == Some(&Value::Bool(true));
            }
            Dialect::Iam => m.iam = IamRule::from_raw(raw),
            Dialect::Hoop => {
                m.verbs = raw
                    .get("verb")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .into_iter()
                    .collect();
                m.conditional = raw.get("approval").is_some_and(|a| !a.is_null());
            }
            Dialect::Scopes | Dialect::Generic => {}
        }
        m.risk = risk_of(&m);
        m
    }
}

impl Dialect {
    /// Whether the backend's audit events can show which right a request used. Keycloak's record
    /// logins, logouts, token issuance and admin operations, never the role or scope a request
    /// needed (`org.keycloak.events.Details`), so "never used" cannot be known of its rights.
    /// GitLab's audit events record changes (members, tokens, settings), not which right a
    /// request needed; AWS IAM has no audit events here at all (CloudTrail is another service)
    /// and a key's last use names no action. GitHub's audit log records changes and accesses,
    /// never the permission a request used.
    pub fn audit_names_rights_used(self) -> bool {
        !matches!(
            self,
            Dialect::Keycloak | Dialect::GitLab | Dialect::GitHub | Dialect::Iam
        )
    }

    /// Whether a credential's scopes name roles or permissions of the graph at all; GitLab's
    /// and GitHub's are classes of access ([`Dialect::scope_actions`]), whatever a node is
    /// called.
    pub fn scopes_name_nodes(self) -> bool {
        !matches!(self, Dialect::GitLab | Dialect::GitHub)
    }

    /// The action classes a credential's scopes let it use of its principal's rights, for a
    /// backend whose scopes are classes of API access rather than names of roles or
    /// permissions (GitLab: `read_api` reads, `write_repository` reads and pushes, `api` does
    /// everything its user may). None: scopes are matched by name, as everywhere else.
    pub fn scope_actions(self, scopes: &[String]) -> Option<Vec<Action>> {
        if self.scopes_name_nodes() {
            return None;
        }
        let mut out: Vec<Action> = Vec::new();
        for s in scopes {
            let classes = match self {
                Dialect::GitHub => github_scope_actions(s),
                _ => gitlab_scope_actions(s),
            };
            for c in classes {
                if !out.contains(c) {
                    out.push(*c);
                }
            }
        }
        Some(out)
    }
}

/// Every action class: what a scope that does everything its user may allows.
const ALL_ACTIONS: &[Action] = &[
    Action::Read,
    Action::Write,
    Action::Admin,
    Action::Execute,
    Action::Other,
];

/// GitLab: `read_api` reads, `write_repository` reads and pushes, `api` does everything.
fn gitlab_scope_actions(scope: &str) -> &'static [Action] {
    match scope {
        "api" | "sudo" => ALL_ACTIONS,
        "read_api" | "read_repository" | "read_registry" | "read_virtual_registry" => {
            &[Action::Read]
        }
        "write_repository" | "write_registry" | "write_virtual_registry" => {
            &[Action::Read, Action::Write]
        }
        // read_user, runners, AI features, the Kubernetes proxy, self_rotate,
        // admin_mode (which only widens `api`): no rights over groups and projects.
        _ => &[],
    }
}

/// GitHub: a fine-grained permission `KIND:NAME:LEVEL` (as the connector writes a PAT grant's
/// `permissions`) allows its level's class and the ones below; a classic scope (an SSO
/// authorization's) the classes GitHub documents for it. Other scopes (user, gist,
/// notifications …) carry no rights over the organisation's repositories.
fn github_scope_actions(scope: &str) -> &'static [Action] {
    let level = match scope.rsplit_once(':') {
        Some((head, level)) if head.contains(':') => level,
        _ => scope,
    };
    match level {
        "read" => &[Action::Read],
        "write" => &[Action::Read, Action::Write],
        "admin" => ALL_ACTIONS,
        _ => match scope {
            "repo" | "admin:org" => ALL_ACTIONS,
            "public_repo" | "write:org" | "write:packages" => &[Action::Read, Action::Write],
            "workflow" => &[Action::Write],
            "delete_repo" => &[Action::Admin],
            "read:org" | "read:packages" | "repo:status" => &[Action::Read],
            _ => &[],
        },
    }
}

impl Dialect {
    /// Whether a credential's scope strings may name roles (a Vault token's policies are its
    /// rights) or only permissions: a Keycloak consent lists client scopes, whose names are often
    /// those of realm roles too (`offline_access`).
    pub fn scopes_name_roles(self) -> bool {
        self != Dialect::Keycloak
    }

    /// How an audit event counts: the one rule for the access map's last use and for reviews.
    /// Only a request exercises rights: an OAuth `token.used` at the resource server (not the
    /// token's issue), a Vault request (not the login that created the token), a PostgreSQL
    /// statement (not the connection).
    pub fn use_class(
        self,
        action: &str,
        resource: Option<&str>,
        names_credential: bool,
    ) -> UseClass {
        match self {
            Dialect::Scopes => match action {
                "token.used" => UseClass::Access,
                // A refresh (the fingerprint names the refresh token) is the refresh token's use.
                "grant.success" if names_credential => UseClass::Login,
                _ => UseClass::None,
            },
            Dialect::Vault if resource.is_some_and(is_vault_login) => UseClass::Login,
            Dialect::Postgres if action.eq_ignore_ascii_case("login") => UseClass::Login,
            Dialect::Keycloak => {
                let a = action.to_ascii_uppercase();
                if a.starts_with("LOGIN") || a.starts_with("REFRESH") || a == "CODE_TO_TOKEN" {
                    UseClass::Login
                } else {
                    UseClass::Access
                }
            }
            _ => UseClass::Access,
        }
    }

    /// Whether an event of `class` is a use of the credential it names: a Vault login event
    /// names the token it created, which the login did not use.
    pub fn uses_named_credential(self, class: UseClass) -> bool {
        match class {
            UseClass::Access => true,
            UseClass::Login => self != Dialect::Vault,
            UseClass::None => false,
        }
    }

    /// A grant every principal of the backend holds by construction (Vault's `default` policy,
    /// PostgreSQL's `PUBLIC`, the OAuth/OIDC protocol scopes): real rights, never a finding.
    pub fn builtin_grant(self, to_id: &str) -> bool {
        match self {
            Dialect::Vault => to_id == "default",
            Dialect::Postgres => to_id == "PUBLIC",
            Dialect::Scopes | Dialect::Keycloak => PROTOCOL_SCOPES.contains(&to_id),
            // While hoop's access_control plugin is off, every principal is in the virtual
            // role that opens every connection: that membership is hoop's, not a choice.
            Dialect::Hoop => to_id == HOOP_EVERYONE,
            Dialect::Kubernetes
            | Dialect::GitLab
            | Dialect::GitHub
            | Dialect::Iam
            | Dialect::Generic => false,
        }
    }

    /// A principal or role the backend has without listing it (PostgreSQL `PUBLIC` and the
    /// predefined `pg_` roles, Vault's `root` and `default` policies, Kubernetes `system:` users).
    pub fn builtin_node(self, id: &str) -> bool {
        match self {
            Dialect::Postgres => id == "PUBLIC" || id.starts_with("pg_"),
            Dialect::Vault => id == "root" || id == "default",
            Dialect::Kubernetes => id.starts_with("system:"),
            Dialect::Scopes
            | Dialect::Keycloak
            | Dialect::GitLab
            | Dialect::GitHub
            | Dialect::Iam
            | Dialect::Hoop
            | Dialect::Generic => false,
        }
    }
}

/// How an allowed audit event counts (see [`Dialect::use_class`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseClass {
    /// A request that exercised rights (and the credential it named).
    Access,
    /// An authentication (password login, refresh): activity, not a use of rights.
    Login,
    /// Not a use (issuance, introspection, the server's own bookkeeping).
    None,
}

/// `auth/<mount>/login[/...]`: an authentication, not a request.
fn is_vault_login(path: &str) -> bool {
    let mut parts = path.split('/');
    parts.next() == Some("auth") && parts.nth(1) == Some("login")
}

impl PermMeta {
    /// Covers every resource of its backend (SUPERUSER, `root`, predefined all-data roles, a
    /// bare `*` rule).
    pub fn backend_wide(&self) -> bool {
        self.superuser
            || self.object_kind.as_deref() == Some("all")
            || self.resource == "*"
            || self.resource == "cluster/*/*"
    }
}

/// Admin, superuser and wide writes are high; writes, executes and wide reads are medium.
fn risk_of(m: &PermMeta) -> Risk {
    match m.action {
        _ if m.superuser => Risk::High,
        Action::Admin => Risk::High,
        Action::Write | Action::Execute | Action::Other if m.wildcard => Risk::High,
        Action::Write | Action::Execute => Risk::Medium,
        Action::Read if m.wildcard => Risk::Medium,
        _ => Risk::Low,
    }
}

/// An action as asked: a class (None = any action) and maybe the backend's own verb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionQuery {
    pub class: Option<Action>,
    pub verb: Option<String>,
}

/// Vault rules are bucketed by their first three path segments (`secret/data/APP`).
const VAULT_KEY_SEGMENTS: usize = 3;

const VAULT_CAPS: [&str; 9] = [
    "create", "read", "update", "patch", "delete", "list", "sudo", "deny", "scan",
];
const SQL_PRIVILEGES: [&str; 12] = [
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "REFERENCES",
    "TRIGGER",
    "EXECUTE",
    "USAGE",
    "CREATE",
    "CONNECT",
    "TEMPORARY",
];
const K8S_VERBS: [&str; 12] = [
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "escalate",
    "bind",
    "impersonate",
    "approve",
];

/// hoop's access modes, asked by name (`who-can connect pgdemo`).
const HOOP_VERBS: [&str; 4] = ["connect", "exec", "runbooks", "schema"];

/// read / write / admin / execute / deny / other, and everyday synonyms of them.
pub fn action_class(word: &str) -> Option<Option<Action>> {
    let w = word.to_ascii_lowercase();
    Some(Some(match w.as_str() {
        "any" | "*" | "use" => return Some(None),
        "read" | "get" | "list" | "watch" | "view" | "select" | "usage" | "scan" | "head"
        | "options" => Action::Read,
        "write" | "create" | "update" | "patch" | "delete" | "insert" | "truncate" | "post"
        | "put" | "deletecollection" => Action::Write,
        "admin" | "sudo" | "owner" | "superuser" | "escalate" | "bind" | "impersonate" => {
            Action::Admin
        }
        "execute" | "exec" | "call" => Action::Execute,
        "deny" => Action::Deny,
        "other" => Action::Other,
        _ => return None,
    }))
}

impl Dialect {
    /// The question's action in this backend's terms; None when the word means nothing here.
    pub fn parse_action(self, word: &str) -> Option<ActionQuery> {
        if self == Dialect::Iam {
            // `service:Action` (patterns allowed) is IAM's own verb; read/write/… ask by class.
            if iam::is_action(word) {
                return Some(ActionQuery {
                    class: None,
                    verb: Some(word.to_string()),
                });
            }
            return action_class(word).map(|class| ActionQuery { class, verb: None });
        }
        if self == Dialect::Hoop && HOOP_VERBS.contains(&word.to_ascii_lowercase().as_str()) {
            return Some(ActionQuery {
                class: None,
                verb: Some(word.to_ascii_lowercase()),
            });
        }
        if self == Dialect::Keycloak {
            // Any word may be a role's name; "read" and the like also ask by action class.
            return Some(match action_class(word) {
                Some(None) => ActionQuery {
                    class: None,
                    verb: None,
                },
                class => ActionQuery {
                    class: class.flatten(),
                    verb: Some(word.to_string()),
                },
            });
        }
        let lower = word.to_ascii_lowercase();
        let upper = word.to_ascii_uppercase();
        let native = match self {
            Dialect::Vault => VAULT_CAPS
                .contains(&lower.as_str())
                .then_some(lower.clone()),
            Dialect::Postgres => SQL_PRIVILEGES.contains(&upper.as_str()).then_some(upper),
            Dialect::Kubernetes => K8S_VERBS.contains(&lower.as_str()).then_some(lower.clone()),
            Dialect::Scopes
            | Dialect::Generic
            | Dialect::Keycloak
            | Dialect::GitLab
            | Dialect::GitHub
            | Dialect::Iam
            | Dialect::Hoop => None,
        };
        let class = action_class(word)?;
        Some(ActionQuery {
            class,
            verb: native,
        })
    }

    fn action_ok(self, m: &PermMeta, q: &ActionQuery) -> bool {
        if self == Dialect::Keycloak {
            return keycloak::action_ok(m, q);
        }
        if m.superuser || m.owner {
            return true;
        }
        match self {
            Dialect::Kubernetes if m.verbs.iter().any(|v| v == "*") => return true,
            _ => {}
        }
        if let Some(v) = &q.verb {
            return m.verbs.iter().any(|x| x == v);
        }
        match q.class {
            None => true,
            Some(c) => m.action == c,
        }
    }

    /// Whether the permission grants the asked action on (part of) the asked resource, and how
    /// much of it. Deny rules match whatever the action: the caller decides what they override.
    pub fn grant_match(
        self,
        m: &PermMeta,
        external_id: &str,
        action: &ActionQuery,
        resource: &ParsedResource,
    ) -> Option<Coverage> {
        if let (Dialect::Iam, ParsedResource::Text(q)) = (self, resource) {
            return iam::statement_match(m.iam.as_ref()?, m.action, action, q);
        }
        let deny = m.action == Action::Deny;
        if !deny && !self.action_ok(m, action) {
            return None;
        }
        match (self, resource) {
            (Dialect::Vault, ParsedResource::Vault(q)) => {
                if m.superuser {
                    return Some(Coverage::Full);
                }
                let rule = m.vault.as_ref()?;
                if rule.covers(q) {
                    Some(Coverage::Full)
                } else if rule.overlaps(q) {
                    Some(Coverage::Partial)
                } else {
                    None
                }
            }
            (Dialect::Postgres, ParsedResource::Sql(q)) => pg_match(m, q),
            (Dialect::Kubernetes, ParsedResource::Kube(q)) => kube_match(m, q),
            (Dialect::Keycloak, ParsedResource::Keycloak(q)) => {
                keycloak::resource_match(m, external_id, q, text_match)
            }
            (Dialect::GitLab | Dialect::GitHub, ParsedResource::Text(q)) => {
                path_tree_match(m, external_id, q)
            }
            // Approval first: the grant is real, but never decisive on its own.
            (Dialect::Hoop, ParsedResource::Text(q)) => {
                text_match(m, external_id, q).map(
                    |c| {
                        if m.conditional {
                            Coverage::Partial
                        } else {
                            c
                        }
                    },
                )
            }
            (_, ParsedResource::Text(q)) => text_match(m, external_id, q),
            _ => None,
        }
    }

    /// Whether a resource could be written in this backend's syntax at all (a Vault path has a
    /// mount and a `/`; a SQL name has no `/`).
    pub fn plausible(self, text: &str) -> bool {
        match self {
            Dialect::Vault => text.contains('/') || text == "*",
            Dialect::Postgres => !text.contains('/') && text.split('.').count() <= 3,
            _ => true,
        }
    }

    pub fn parse_resource(self, text: &str) -> ParsedResource {
        match self {
            Dialect::Vault => ParsedResource::Vault(VaultPattern::parse(text)),
            Dialect::Postgres => ParsedResource::Sql(SqlName::parse(text)),
            Dialect::Kubernetes => ParsedResource::Kube(KubeRes::parse_query(text)),
            Dialect::Keycloak => ParsedResource::Keycloak(RoleQuery::parse(text)),
            Dialect::Scopes | Dialect::Iam | Dialect::Hoop | Dialect::Generic => {
                ParsedResource::Text(text.to_string())
            }
            Dialect::GitLab | Dialect::GitHub => {
                ParsedResource::Text(text.trim_matches('/').to_string())
            }
        }
    }

    /// The bucket an event must share with this permission for it to be worth matching; None
    /// for permissions that may match events in any bucket (globs early in a path, superusers,
    /// every dialect without buckets).
    pub fn perm_key(self, m: &PermMeta) -> Option<String> {
        match self {
            Dialect::Vault if !m.superuser => m.vault.as_ref()?.literal_key(VAULT_KEY_SEGMENTS),
            Dialect::Postgres => {
                let parts = &m.sql.as_ref()?.parts;
                let kind = m.object_kind.as_deref().unwrap_or("table");
                if m.superuser || matches!(kind, "all" | "schema" | "cluster") || parts.len() < 2 {
                    return None;
                }
                if parts[..2].iter().any(|p| p.contains('*')) {
                    return None;
                }
                Some(format!("{}.{}", parts[0], parts[1]))
            }
            _ => None,
        }
    }

    /// An audit event's action and resource, parsed once for this dialect.
    pub fn event<'a>(self, action: &'a str, resource: Option<&'a str>) -> Event<'a> {
        let sql = match (self, resource) {
            (Dialect::Postgres, Some(r)) => Some(SqlName::parse(r)),
            _ => None,
        };
        let parts: Vec<&'a str> = match (self, resource) {
            (Dialect::Vault, Some(r)) => r.split('/').collect(),
            _ => Vec::new(),
        };
        let key = match self {
            Dialect::Vault if parts.len() >= VAULT_KEY_SEGMENTS => {
                Some(parts[..VAULT_KEY_SEGMENTS].join("/"))
            }
            Dialect::Postgres => sql
                .as_ref()
                .filter(|n| n.parts.len() >= 2)
                .map(|n| format!("{}.{}", n.parts[0], n.parts[1])),
            _ => None,
        };
        Event {
            key,
            action,
            resource,
            parts,
            sql,
            kube: match (self, resource) {
                (Dialect::Kubernetes, Some(r)) => Some(KubeRes::parse_query(r)),
                _ => None,
            },
            upper: action.to_ascii_uppercase(),
        }
    }

    /// Whether an allowed audit event exercised this permission; the number ranks how specific
    /// the match is, so only the most specific grants get the credit (Vault picks the most
    /// specific path rule; a SQL table grant beats ownership, which beats SUPERUSER).
    pub fn event_match(self, m: &PermMeta, external_id: &str, ev: &Event<'_>) -> Option<i64> {
        if m.action == Action::Deny {
            return None;
        }
        match self {
            Dialect::Vault => {
                ev.resource?;
                let caps: &[&str] = match ev.action {
                    "read" => &["read"],
                    "list" => &["list"],
                    "create" => &["create", "update"],
                    "update" => &["update", "create"],
                    "patch" => &["patch"],
                    "delete" => &["delete"],
                    "scan" => &["scan"],
                    _ => return None,
                };
                if m.superuser {
                    return Some(i64::MIN);
                }
                let rule = m.vault.as_ref()?;
                (m.verbs.iter().any(|v| caps.contains(&v.as_str()))
                    && rule.matches_parts(&ev.parts))
                .then_some(0)
            }
            Dialect::Postgres => {
                let first = ev.upper.split_whitespace().next().unwrap_or_default();
                let needed = match first {
                    "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "TRUNCATE" | "EXECUTE" => first,
                    "CREATE" | "ALTER" | "DROP" | "COMMENT" => "OWNER",
                    _ => return None,
                };
                if m.superuser {
                    return Some(0);
                }
                let q = ev.sql.as_ref()?;
                if q.parts.len() < 2 {
                    return None;
                }
                match m.object_kind.as_deref() {
                    Some("all") => return m.verbs.iter().any(|v| v == needed).then_some(1),
                    Some("server") => return None,
                    _ => {}
                }
                if !m.owner && !m.verbs.iter().any(|v| v == needed) {
                    return None;
                }
                pg_match(m, q)?;
                Some(if m.owner { 2 } else { 3 })
            }
            Dialect::Scopes => {
                if ev.action != "token.used" {
                    return None;
                }
                ev.resource?
                    .split_whitespace()
                    .any(|s| s == external_id || glob_match(external_id, s))
                    .then_some(if m.wildcard { 0 } else { 1 })
            }
            Dialect::Kubernetes => {
                let q = ActionQuery {
                    class: action_class(ev.action).flatten(),
                    verb: Some(ev.action.to_string()),
                };
                let r = ev.kube.as_ref()?;
                (self.action_ok(m, &q) && kube_match(m, r) == Some(Coverage::Full))
                    .then_some(if m.wildcard { 0 } else { 1 })
            }
            // Keycloak's events say who logged in to which client from where, and which scopes a
            // token was issued with; none names a role or a scope a request needed, so none
            // is a use of one. GitLab's and GitHub's record changes, never the right a request
            // used.
            Dialect::Keycloak | Dialect::GitLab | Dialect::GitHub => None,
            // IAM has no audit trail here (CloudTrail is another service): a key's last use
            // comes from GetAccessKeyLastUsed and names no action.
            Dialect::Iam => None,
            // A session names its connection and its verb: the mode it used.
            Dialect::Hoop => {
                let r = ev.resource?;
                if m.superuser {
                    return Some(0);
                }
                (m.verbs.iter().any(|v| v == ev.action) && (m.resource == r || external_id == r))
                    .then_some(1)
            }
            Dialect::Generic => {
                let class = action_class(ev.action).flatten()?;
                if !(m.action == class || m.action == Action::Other || m.superuser) {
                    return None;
                }
                let r = ev.resource?;
                (r == external_id || r == m.resource || glob_match(&m.resource, r))
                    .then_some(if m.wildcard { 0 } else { 1 })
            }
        }
    }
}

/// An audit event as the matcher sees it (see [`Dialect::event`]).
pub struct Event<'a> {
    /// The bucket of [`Dialect::perm_key`] this event falls in.
    pub key: Option<String>,
    pub action: &'a str,
    pub resource: Option<&'a str>,
    parts: Vec<&'a str>,
    sql: Option<SqlName>,
    kube: Option<KubeRes>,
    upper: String,
}

/// A question's resource, parsed once per backend dialect.
#[derive(Debug, Clone)]
pub enum ParsedResource {
    Vault(VaultPattern),
    Sql(SqlName),
    Kube(KubeRes),
    Keycloak(RoleQuery),
    Text(String),
}

impl ParsedResource {
    pub fn is_concrete(&self) -> bool {
        match self {
            ParsedResource::Vault(p) => p.is_concrete(),
            ParsedResource::Sql(s) => !s.parts.iter().any(|p| p.contains('*')),
            ParsedResource::Kube(k) => !k.has_wildcard(),
            ParsedResource::Keycloak(q) => !q.text.contains('*'),
            ParsedResource::Text(t) => !t.contains('*'),
        }
    }
}

/// `schema[.object[.column]]`, routine arguments dropped (`billing.f(integer)` → `billing.f`).
#[derive(Debug, Clone)]
pub struct SqlName {
    pub parts: Vec<String>,
}

impl SqlName {
    pub fn parse(text: &str) -> SqlName {
        let base = text.split('(').next().unwrap_or(text).trim();
        SqlName {
            parts: base.split('.').map(|s| s.replace('"', "")).collect(),
        }
    }
}

fn pg_match(m: &PermMeta, q: &SqlName) -> Option<Coverage> {
    let concrete = !q.parts.iter().any(|p| p.contains('*'));
    let any = q.parts.len() == 1 && q.parts[0] == "*";
    if m.superuser {
        return Some(Coverage::Full);
    }
    let kind = m.object_kind.as_deref().unwrap_or("table");
    match kind {
        // pg_read_all_data / pg_write_all_data: every table, view and sequence.
        "all" => (q.parts.len() >= 2 || any).then_some(Coverage::Full),
        "cluster" => (q.parts == ["cluster"] || any).then_some(Coverage::Full),
        // Server files and programs: no table, schema or routine is one of them.
        "server" => None,
        "schema" => {
            if q.parts.len() == 1 && glob_match(&q.parts[0], &m.resource) {
                Some(if concrete {
                    Coverage::Full
                } else {
                    Coverage::Partial
                })
            } else {
                None
            }
        }
        _ => {
            let parsed;
            let mine = match &m.sql {
                Some(n) => &n.parts,
                None => {
                    parsed = SqlName::parse(&m.resource);
                    &parsed.parts
                }
            };
            let n = q.parts.len().min(mine.len());
            if !(0..n).all(|i| glob_match(&q.parts[i], &mine[i])) {
                return None;
            }
            // The grant names a whole object and the question one of its columns: covered.
            // The question is wider than the grant (a schema, a table of which only some
            // columns are granted, a pattern): partly covered.
            if q.parts.len() >= mine.len() && concrete {
                Some(Coverage::Full)
            } else {
                Some(Coverage::Partial)
            }
        }
    }
}

/// `{scope}/{group}/{resource}[/{sub}][#{name}]` or `url:{path}`; see the Kubernetes connector.
#[derive(Debug, Clone)]
pub struct KubeRes {
    url: Option<String>,
    scope: String,
    group: String,
    resource: String,
    sub: Option<String>,
    name: Option<String>,
}

impl KubeRes {
    fn parse(text: &str) -> KubeRes {
        if let Some(u) = text.strip_prefix("url:") {
            return KubeRes {
                url: Some(u.to_string()),
                scope: String::new(),
                group: String::new(),
                resource: String::new(),
                sub: None,
                name: None,
            };
        }
        let (body, name) = match text.split_once('#') {
            Some((b, n)) => (b, Some(n.to_string())),
            None => (text, None),
        };
        let mut it = body.splitn(4, '/');
        let scope = it.next().unwrap_or("*").to_string();
        let group = it.next().unwrap_or("*").to_string();
        let resource = it.next().unwrap_or("*").to_string();
        let sub = it.next().map(str::to_string);
        KubeRes {
            url: None,
            scope,
            group,
            resource,
            sub,
            name,
        }
    }

    /// A question may leave out scope and group: `secrets` means `*/*/secrets`.
    fn parse_query(text: &str) -> KubeRes {
        let scoped = text.starts_with("ns:")
            || text.starts_with("cluster/")
            || text.starts_with("url:")
            || text.starts_with("*/");
        if scoped {
            KubeRes::parse(text)
        } else {
            KubeRes::parse(&format!("*/*/{text}"))
        }
    }

    fn has_wildcard(&self) -> bool {
        [&self.scope, &self.group, &self.resource]
            .iter()
            .any(|s| s.contains('*'))
            || self.sub.as_deref().is_some_and(|s| s.contains('*'))
            || self.url.as_deref().is_some_and(|s| s.contains('*'))
    }
}

/// One segment: does the rule's value take in the question's (Some(true)), or only share some
/// values with it (Some(false))?
fn kube_seg(rule: &str, ask: &str) -> Option<bool> {
    if rule == "*" || rule == ask {
        Some(true)
    } else if glob_match(ask, rule) {
        Some(false)
    } else {
        None
    }
}

fn kube_match(m: &PermMeta, q: &KubeRes) -> Option<Coverage> {
    let r = KubeRes::parse(&m.resource);
    if let Some(u) = &r.url {
        let ask = q.url.as_deref()?;
        return if glob_match(u, ask) {
            Some(Coverage::Full)
        } else if glob_match(ask, u) {
            Some(Coverage::Partial)
        } else {
            None
        };
    }
    if q.url.is_some() {
        return None;
    }
    let mut full = true;
    if r.scope != "cluster" {
        full &= kube_seg(&r.scope, &q.scope)?;
    }
    full &= kube_seg(&r.group, &q.group)?;
    if r.resource != "*" {
        full &= kube_seg(&r.resource, &q.resource)?;
        match (&r.sub, &q.sub) {
            (None, None) => {}
            (Some(rs), Some(qs)) => full &= kube_seg(rs, qs)?,
            // `pods/*` asked as `pods`: the pods themselves are not covered.
            (Some(_), None) if q.resource.contains('*') => full = false,
            (Some(_), None) | (None, Some(_)) => return None,
        }
    } else {
        match (&r.sub, &q.sub) {
            // `*/scale`: that subresource of every resource.
            (Some(rs), Some(qs)) => full &= kube_seg(rs, qs)?,
            (Some(_), None) => return None,
            _ => {}
        }
    }
    match (&r.name, &q.name) {
        (None, _) => {}
        (Some(rn), Some(qn)) => full &= kube_seg(rn, qn)?,
        (Some(_), None) => full = false,
    }
    Some(if full {
        Coverage::Full
    } else {
        Coverage::Partial
    })
}

/// A GitLab or GitHub right covers its own path and, for a group (an organisation's owner), every
/// path under it; a question with `*` covers the rights whose path it matches, partly.
fn path_tree_match(m: &PermMeta, external_id: &str, q: &str) -> Option<Coverage> {
    let under = m.subtree
        && q.len() > m.resource.len()
        && q.starts_with(m.resource.as_str())
        && q.as_bytes()[m.resource.len()] == b'/';
    if m.superuser || m.resource == "*" || m.resource == q || external_id == q || under {
        return Some(Coverage::Full);
    }
    if q.contains('*') && (glob_match(q, &m.resource) || glob_match(q, &format!("{}/", m.resource)))
    {
        return Some(Coverage::Partial);
    }
    // A question about a group asks about what is under it too.
    let above = m.resource.len() > q.len()
        && m.resource.starts_with(q)
        && m.resource.as_bytes()[q.len()] == b'/';
    above.then_some(Coverage::Partial)
}

fn text_match(m: &PermMeta, external_id: &str, q: &str) -> Option<Coverage> {
    if m.superuser || external_id == q || m.resource == q {
        return Some(Coverage::Full);
    }
    if glob_match(external_id, q) || glob_match(&m.resource, q) {
        return Some(Coverage::Full);
    }
    if glob_match(q, external_id) || glob_match(q, &m.resource) {
        return Some(Coverage::Partial);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vault(path: &str, caps: &[&str], action: Action) -> PermMeta {
        PermMeta::parse(
            Dialect::Vault,
            &format!("{path}|{}", action.as_str()),
            path,
            action,
            &json!({"path": path, "capabilities": caps}),
        )
    }

    fn pg(kind: &str, obj: &str, privilege: &str, action: Action) -> PermMeta {
        PermMeta::parse(
            Dialect::Postgres,
            &format!("{kind}:{obj}:{privilege}"),
            obj,
            action,
            &json!({"object_kind": kind, "object": obj, "privilege": privilege}),
        )
    }

    fn ask(d: Dialect, action: &str, resource: &str, m: &PermMeta, id: &str) -> Option<Coverage> {
        d.grant_match(
            m,
            id,
            &d.parse_action(action).unwrap(),
            &d.parse_resource(resource),
        )
    }

    #[test]
    fn vault_read_means_the_read_capability() {
        let d = Dialect::Vault;
        let r = vault("secret/payments/*", &["read", "list"], Action::Read);
        assert_eq!(
            ask(d, "read", "secret/payments/x", &r, ""),
            Some(Coverage::Full)
        );
        let l = vault("secret/payments/*", &["list"], Action::Read);
        assert_eq!(ask(d, "read", "secret/payments/x", &l, ""), None);
        assert_eq!(
            ask(d, "list", "secret/payments/x", &l, ""),
            Some(Coverage::Full)
        );
        let plus = vault("secret/+/x", &["read"], Action::Read);
        assert_eq!(
            ask(d, "read", "secret/payments/x", &plus, ""),
            Some(Coverage::Full)
        );
        assert_eq!(ask(d, "write", "secret/payments/x", &plus, ""), None);
        // Deny rules match whatever is asked; the evaluation decides.
        let deny = vault("secret/payments/x", &["deny"], Action::Deny);
        assert_eq!(
            ask(d, "read", "secret/payments/x", &deny, ""),
            Some(Coverage::Full)
        );
    }

    #[test]
    fn sql_tables_columns_owners_and_superusers() {
        let d = Dialect::Postgres;
        let col = pg("column", "payments.cards.last4", "SELECT", Action::Read);
        assert_eq!(
            ask(d, "read", "payments.cards", &col, ""),
            Some(Coverage::Partial)
        );
        assert_eq!(
            ask(d, "SELECT", "payments.cards.last4", &col, ""),
            Some(Coverage::Full)
        );
        assert_eq!(ask(d, "INSERT", "payments.cards", &col, ""), None);
        let table = pg("table", "payments.cards", "SELECT", Action::Read);
        assert_eq!(
            ask(d, "read", "payments.cards", &table, ""),
            Some(Coverage::Full)
        );
        assert_eq!(
            ask(d, "read", "payments.*", &table, ""),
            Some(Coverage::Partial)
        );
        assert_eq!(ask(d, "read", "billing.cards", &table, ""), None);
        let owner = pg("table", "payments.cards", "OWNER", Action::Admin);
        assert_eq!(
            ask(d, "DELETE", "payments.cards", &owner, ""),
            Some(Coverage::Full)
        );
        let su = pg("cluster", "cluster", "SUPERUSER", Action::Admin);
        assert_eq!(
            ask(d, "write", "anything.at_all", &su, ""),
            Some(Coverage::Full)
        );
        let usage = pg("schema", "payments", "USAGE", Action::Read);
        assert_eq!(ask(d, "read", "payments.cards", &usage, ""), None);
        let routine = pg(
            "routine",
            "billing.issue_invoice(integer, integer)",
            "EXECUTE",
            Action::Execute,
        );
        assert_eq!(
            ask(d, "execute", "billing.issue_invoice", &routine, ""),
            Some(Coverage::Full)
        );
        assert_eq!(
            d.event_match(
                &routine,
                "",
                &d.event("EXECUTE", Some("billing.issue_invoice(integer,integer)"))
            ),
            Some(3)
        );
    }

    #[test]
    fn kubernetes_wildcards_and_scopes() {
        let d = Dialect::Kubernetes;
        let perm = |id: &str| {
            let (verb, res) = id.split_once(' ').unwrap();
            PermMeta::parse(
                d,
                id,
                res,
                super::super::dialect::action_class(verb)
                    .flatten()
                    .unwrap_or(Action::Admin),
                &json!({"wildcard": id.contains('*')}),
            )
        };
        let all = perm("* cluster/*/*");
        assert_eq!(
            ask(d, "get", "ns:prod/core/secrets#db", &all, "* cluster/*/*"),
            Some(Coverage::Full)
        );
        let get_secrets = perm("get ns:prod/core/secrets");
        assert_eq!(
            ask(d, "get", "ns:prod/core/secrets#db", &get_secrets, ""),
            Some(Coverage::Full)
        );
        assert_eq!(
            ask(d, "get", "ns:dev/core/secrets#db", &get_secrets, ""),
            None
        );
        assert_eq!(
            ask(d, "delete", "ns:prod/core/secrets", &get_secrets, ""),
            None
        );
        assert_eq!(
            ask(d, "read", "secrets", &get_secrets, ""),
            Some(Coverage::Partial)
        );
        let named = perm("get ns:prod/core/secrets#db");
        assert_eq!(
            ask(d, "get", "ns:prod/core/secrets", &named, ""),
            Some(Coverage::Partial)
        );
        let logs = perm("get cluster/core/pods/log");
        assert_eq!(ask(d, "get", "ns:a/core/pods", &logs, ""), None);
        assert_eq!(
            ask(d, "get", "ns:a/core/pods/log", &logs, ""),
            Some(Coverage::Full)
        );
    }

    #[test]
    fn scopes_match_by_name_resource_and_glob() {
        let d = Dialect::Scopes;
        let m = PermMeta::parse(
            d,
            "invoices:read",
            "invoices",
            Action::Read,
            &json!({"scope": "invoices:read"}),
        );
        assert_eq!(
            ask(d, "read", "invoices", &m, "invoices:read"),
            Some(Coverage::Full)
        );
        assert_eq!(
            ask(d, "any", "invoices:read", &m, "invoices:read"),
            Some(Coverage::Full)
        );
        assert_eq!(ask(d, "write", "invoices", &m, "invoices:read"), None);
        assert_eq!(
            ask(d, "any", "invoices:*", &m, "invoices:read"),
            Some(Coverage::Partial)
        );
        assert_eq!(
            d.event_match(
                &m,
                "invoices:read",
                &d.event("token.used", Some("invoices:read"))
            ),
            Some(1)
        );
        assert_eq!(
            d.event_match(
                &m,
                "invoices:read",
                &d.event("grant.success", Some("invoices:read"))
            ),
            None
        );
    }

    #[test]
    fn risk_grows_with_action_and_breadth() {
        assert_eq!(
            vault("secret/*", &["read"], Action::Read).risk,
            Risk::Medium
        );
        assert_eq!(vault("secret/x", &["read"], Action::Read).risk, Risk::Low);
        assert_eq!(vault("*", &["update"], Action::Write).risk, Risk::High);
        assert_eq!(vault("a/b", &["sudo"], Action::Admin).risk, Risk::High);
    }
}
