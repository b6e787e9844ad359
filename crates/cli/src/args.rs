//! The command line, declared with clap.

use clap::{Args, Parser, Subcommand};
use portcullis_model::BackendKind;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Who can do what with your API credentials — and revoke it fast",
    long_about = "Portcullis pulls principals, roles, scopes, credentials and audit events from OAuth 2.0 servers, \
                  Vault/OpenBao, PostgreSQL, Keycloak, Kong and Kubernetes into a local cache, and reviews and \
                  revokes access from there.\n\nExit codes: 0 ok, 1 negative verdict (e.g. a failed check), \
                  2 usage error, 3 could not run."
)]
pub struct Cli {
    /// Workspace directory (cache + settings). Default: the platform data directory.
    #[arg(long, global = true, env = "PORTCULLIS_WORKSPACE", value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Print results (and errors) as JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output on stderr (-v info, -vv debug); PORTCULLIS_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Register, list, check and remove backends.
    Backend {
        #[command(subcommand)]
        command: BackendCommand,
    },
    /// Counts from the cache per backend.
    Overview,
    /// Pull inventory and new audit events from backends into the cache (all when none named).
    /// Incremental and resumable; Ctrl-C stops after the current batch.
    Sync { backends: Vec<String> },
    /// List principals (users, services, clients, groups) from the cache.
    Principals {
        #[arg(long)]
        backend: Option<String>,
        /// Substring of the name or id.
        #[arg(long)]
        search: Option<String>,
    },
    /// List credentials from the cache, across backends.
    Credentials(CredentialArgs),
    /// Token triage: what a token is and which backend recognises it (token read from stdin).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Revoke cached credentials by id (see `portcullis credentials`), verified by the backend.
    Revoke {
        /// Credential ids.
        #[arg(required = true)]
        ids: Vec<i64>,
        /// Revoke without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Print the revocation journal; --verify checks its hash chain (exit 1 if broken).
    Journal {
        #[arg(long)]
        verify: bool,
    },
}

#[derive(Debug, Args)]
pub struct CredentialArgs {
    #[arg(long)]
    pub backend: Option<String>,
    /// Principal id or name.
    #[arg(long)]
    pub principal: Option<String>,
    /// active | expired | revoked | unknown
    #[arg(long, value_parser = parse_status)]
    pub status: Option<portcullis_model::CredentialStatus>,
    /// Only credentials that never expire.
    #[arg(long)]
    pub never_expires: bool,
    /// Substring of id, principal, client, scopes.
    #[arg(long)]
    pub search: Option<String>,
    /// expires | issued | last_used | principal | status
    #[arg(long)]
    pub sort: Option<String>,
    #[arg(long)]
    pub desc: bool,
    #[arg(long)]
    pub limit: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Inspect a token read from stdin (never pass a token as an argument).
    Inspect {
        /// Ask only this backend (default: every backend that can look tokens up).
        #[arg(long)]
        backend: Option<String>,
    },
    /// Revoke a token read from stdin on one backend, then verify it is dead.
    Revoke {
        #[arg(long)]
        backend: String,
    },
}

fn parse_status(s: &str) -> Result<portcullis_model::CredentialStatus, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| format!("unknown status `{s}` (active, expired, revoked, unknown)"))
}

#[derive(Debug, Subcommand)]
pub enum BackendCommand {
    /// Register a backend. The credential goes to the OS keychain (read from stdin or a hidden
    /// prompt), or only the NAME of an environment variable is stored (--credential-env).
    Add(AddArgs),
    /// List registered backends with their capabilities and last check.
    List,
    /// Check reachability, identity and the console's rights on a backend (exit 1 if it fails).
    Check { name: String },
    /// Remove a backend, its cached data and its keychain entry.
    Remove { name: String },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    pub name: String,
    /// oauth2 | vault | postgres | keycloak | kong | kubernetes
    #[arg(long, value_parser = parse_kind)]
    pub kind: BackendKind,
    /// Base URL; identities go in the user part (oauth2: https://CLIENT_ID@issuer,
    /// postgres: postgres://ROLE@host:port/db).
    #[arg(long)]
    pub url: String,
    /// A local audit log to read usage from (Vault file audit device, node-oidc-provider event
    /// log, PostgreSQL jsonlog file).
    #[arg(long, value_name = "PATH")]
    pub audit_log: Option<String>,
    /// Store only this environment variable's NAME; its value is read at each use (headless).
    #[arg(long, value_name = "VAR", conflicts_with = "no_credential")]
    pub credential_env: Option<String>,
    /// The backend needs no credential.
    #[arg(long)]
    pub no_credential: bool,
}

fn parse_kind(s: &str) -> Result<BackendKind, String> {
    s.parse()
}
