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
