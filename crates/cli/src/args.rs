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
                  Vault/OpenBao, PostgreSQL, Keycloak, Kong, Kubernetes, AWS IAM, GitLab, GitHub organisations and hoop.dev into a local cache, and reviews and \
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
    /// Revoke and verify: named targets (credential ids from `portcullis credentials`,
    /// login:BACKEND/PRINCIPAL, grant:BACKEND/FROM>TO) or an incident selection (--select).
    /// Every action is journalled before it is sent. Interrupted actions of an earlier run are
    /// resumed first (see `portcullis resume`).
    Revoke(RevokeArgs),
    /// Print the revocation journal; --verify checks its hash chain (exit 1 if broken);
    /// --unfinished lists actions an interrupted run left open.
    Journal {
        #[arg(long)]
        verify: bool,
        #[arg(long, conflicts_with = "verify")]
        unfinished: bool,
    },
    /// Finish the actions an interrupted revocation left open: each is verified first and sent
    /// again only if still alive (and never where a second send could do harm).
    Resume(ResumeArgs),
    /// Effective permissions of a principal (or, with --credential, a credential) in every
    /// backend, each with its grant paths, last use and the blast radius; with PERMISSION, only
    /// matching permissions and every path that grants them (why).
    Explain(ExplainArgs),
    /// Who can do ACTION on RESOURCE across backends, with grant paths. ACTION: read, write,
    /// admin, execute, any, or a backend's verb (Vault capability, SQL privilege, Kubernetes
    /// verb, Keycloak role name). RESOURCE in the backend's syntax: a Vault path (globs:
    /// secret/data/payments/*, secret/+/x), schema.table[.column], a scope,
    /// ns:NAMESPACE/GROUP/RESOURCE[#NAME]. Keycloak roles, as explain prints them: the role as
    /// ACTION on 'client CLIENT_ID' (or the client id alone) or 'realm [REALM]'
    /// (`who-can orders-editor hx-portal`), or the whole right with any
    /// (`who-can any 'client hx-portal: orders-editor'`, `who-can any 'realm acme: auditor'`).
    WhoCan(WhoCanArgs),
    /// Least-privilege reviews: findings over the cache (exit 1 with --fail-on when a finding at
    /// or above that severity exists), the rule catalogue, settings, and review campaigns.
    Review {
        #[command(subcommand)]
        command: ReviewCommand,
    },
    /// Evidence exports: `evidence verify DIR` checks every file against the manifest (exit 1
    /// and names the file on a mismatch).
    Evidence {
        #[command(subcommand)]
        command: EvidenceCommand,
    },
    /// The audit trail of every backend: search, show one event, timeline, highlights, export,
    /// and import of audit files. QUERY: free text and field:value filters, e.g.
    /// `actor:alice outcome:deny resource:secret/*  since:-1h` (see `portcullis audit search --help`).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Build a demo workspace from a generated organisation (two backends, OpenBao and
    /// PostgreSQL, with principals, grants, credentials and months of audit history), labelled
    /// as demo data wherever it shows. It goes into --workspace DIR, which must be new or empty
    /// (a demo is never mixed into a real workspace), else into its own directory beside the
    /// default workspace. Then: `portcullis --workspace DIR overview`, or open the app on it.
    Demo {
        /// The organisation's seed: the same seed gives the same organisation.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// small | large
        #[arg(long, default_value = "small", value_parser = parse_demo_size)]
        size: portcullis_model::DemoSize,
    },
    /// Print a shell completion script to stdout, e.g.
    /// `portcullis completions bash > ~/.local/share/bash-completion/completions/portcullis`
    /// (the packages install them for bash, zsh and fish already).
    Completions {
        /// bash | zsh | fish | elvish | powershell
        shell: clap_complete::Shell,
    },
    /// Write the manual: portcullis.1 and one page per subcommand, into DIR (used by
    /// `make package`; hidden from the manual itself).
    #[command(hide = true)]
    ManPages {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Search audit events, newest first.
    ///
    /// QUERY: words are searched in the full-text index; field:value filters narrow by backend,
    /// actor (user), credential (cred), action, resource, outcome (allow|deny|error), source (ip),
    /// since, until. "Quote values" with spaces; `-` negates a term; a trailing `*` is a prefix
    /// (resource:secret/billing/*); the same field twice means either. Times: RFC 3339,
    /// 2026-11-22, today, now, or relative -30m, -1h, -7d. The console's own requests (its
    /// syncs, checks and verification lookups) are left out unless the query says console:show
    /// (or console:only).
    Search(AuditSearchArgs),
    /// Show one event with the raw record its backend delivered.
    Show { id: i64 },
    /// Events per time bucket for a query; --svg writes the histogram.
    Timeline {
        #[arg(default_value = "")]
        query: String,
        /// Most buckets to draw.
        #[arg(long, default_value_t = 60)]
        buckets: u32,
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
    },
    /// Highlights: denial bursts, use after revocation, new source addresses, dormant principals.
    Highlights,
    /// Export every event matching a query as CSV or JSON lines (streamed).
    Export {
        #[arg(default_value = "")]
        query: String,
        /// csv | jsonl
        #[arg(long, default_value = "csv")]
        format: portcullis_model::ExportFormat,
        /// Output file (mode 0600); stdout when absent.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Import an audit file into a registered backend. Re-importing adds nothing; rejected lines
    /// are listed with their line numbers; progress goes to stderr.
    Import {
        /// vault | k8s | pgaudit | kong | oidc-provider
        #[arg(long)]
        format: portcullis_model::AuditFormat,
        /// The registered backend the events belong to.
        #[arg(long)]
        backend: String,
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct AuditSearchArgs {
    #[arg(default_value = "")]
    pub query: String,
    /// Only events at or after T (same forms as since:).
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Only events before T (same forms as until:).
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    pub until: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// The next_cursor of a previous page.
    #[arg(long)]
    pub cursor: Option<String>,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Targets: 12 (credential id), login:BACKEND/PRINCIPAL, grant:BACKEND/FROM>TO.
    #[arg(required_unless_present = "select", conflicts_with = "select")]
    pub targets: Vec<String>,
    /// Incident selection, e.g. 'principal=alice' or 'client=ci-bot since=14:00 backend=oidc'.
    /// Keys: principal (a name or id, resolved as explain resolves it), client (the client a
    /// credential was issued to, or any client of a Keycloak session), scope, permission (a
    /// permission or role id or name, e.g. client-role:hx-portal:orders-editor or
    /// client:hx-portal:orders-editor; selects credentials whose principal, or which
    /// themselves, hold it as explain shows), backend, fingerprint, source (IP or CIDR: used
    /// from it per the audit trail, or an address the credential records, e.g. a Keycloak
    /// session's or a PostgreSQL session's), since, until (issue time: RFC 3339, YYYY-MM-DD,
    /// HH:MM today, or 2h/30m/7d ago), grants=yes (also revoke the principals' direct
    /// memberships and privileges; off by default). Every key narrows; comma-separated values
    /// widen.
    #[arg(long, value_name = "SELECTION")]
    pub select: Option<String>,
    /// Same as grants=yes in the selection (only with --select).
    #[arg(long)]
    pub include_grants: bool,
    /// Show every action, what it will and will not do and its collateral; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Send without asking. With --select it must name the count the dry run showed
    /// (--yes=N): nothing is sent if the plan has a different number of actions.
    #[arg(
        long,
        value_name = "N",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "0"
    )]
    pub yes: Option<u32>,
    /// Why, or the ticket: journalled with every action of the run and told in its report.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Token values for tokens a backend revokes only by value (OAuth 2.0), one per line, from a
    /// file or `-` (stdin). Matched to the plan by fingerprint; never stored or printed.
    #[arg(long, value_name = "FILE")]
    pub tokens_from: Option<std::path::PathBuf>,
    /// Actions in flight at once per backend.
    #[arg(long, default_value_t = 16)]
    pub concurrency: u32,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// Values of tokens revoked by value whose action was interrupted (one per line, or `-`).
    #[arg(long, value_name = "FILE")]
    pub tokens_from: Option<std::path::PathBuf>,
    /// Actions in flight at once per backend.
    #[arg(long, default_value_t = 16)]
    pub concurrency: u32,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Name, external id or node id (BACKEND/KIND/ID) of a principal, or of a credential (its id
    /// from `portcullis credentials`) with --credential.
    pub principal: String,
    /// Only permissions whose id, name or resource matches this.
    pub permission: Option<String>,
    /// PRINCIPAL names a credential.
    #[arg(long)]
    pub credential: bool,
    /// Only this backend.
    #[arg(long)]
    pub backend: Option<String>,
    /// Most grant paths shown per permission (default 8; 32 with PERMISSION).
    #[arg(long)]
    pub max_paths: Option<u32>,
}

#[derive(Debug, Args)]
pub struct WhoCanArgs {
    pub action: String,
    pub resource: String,
    /// Only this backend.
    #[arg(long)]
    pub backend: Option<String>,
    /// Most grant paths shown per matching permission (default 4).
    #[arg(long)]
    pub max_paths: Option<u32>,
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
    /// oauth2 | vault | postgres | keycloak | kong | kubernetes | aws-iam | gitlab | github
    #[arg(long, value_parser = parse_kind)]
    pub kind: BackendKind,
    /// Base URL; identities go in the user part (oauth2: https://CLIENT_ID@issuer,
    /// postgres: postgres://ROLE@host:port/db, aws-iam: https://ACCESS_KEY_ID@iam.amazonaws.com/;
    /// the secret access key is the credential); github names its organisation in the path
    /// (https://api.github.com/orgs/ORG).
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

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Run the rules over the cache for a window (for cron and CI: see --fail-on).
    Run(ReviewRunArgs),
    /// The rule catalogue: ids, severities, parameters, and whether each is on here.
    Rules,
    /// Print the workspace's review settings (JSON), or replace them with --set-file FILE
    /// (window_days, disabled_rules, params "RULE.PARAM", exemptions, ignored_grants,
    /// declared_credentials).
    Settings {
        #[arg(long, value_name = "FILE")]
        set_file: Option<PathBuf>,
    },
    /// Review campaigns: create, list, show, decide, signoff, export.
    Campaign {
        #[command(subcommand)]
        command: CampaignCommand,
    },
}

#[derive(Debug, Args)]
pub struct ReviewRunArgs {
    /// Review window: 90d (or a number of days). Default: the workspace's (90 days).
    #[arg(long, value_parser = parse_days)]
    pub window: Option<u32>,
    /// Only these backends (repeat).
    #[arg(long = "backend", value_name = "NAME")]
    pub backends: Vec<String>,
    /// Only these principals, by id or name (repeat).
    #[arg(long = "principal", value_name = "NAME")]
    pub principals: Vec<String>,
    /// Only these rules (repeat; see `portcullis review rules`).
    #[arg(long = "rule", value_name = "ID")]
    pub rules: Vec<String>,
    /// table | json | csv | html
    #[arg(long, default_value = "table", value_parser = ["table", "json", "csv", "html"])]
    pub format: String,
    /// Write the report to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 1 when a finding at or above this severity exists (info, low, medium, high, critical).
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<portcullis_model::Severity>,
    /// Also export the run as evidence (JSON, CSV, HTML + manifest) into this empty directory.
    #[arg(long, value_name = "DIR")]
    pub evidence: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Start a campaign: the scope's findings now become its items.
    Create {
        name: String,
        #[arg(long = "backend", value_name = "NAME")]
        backends: Vec<String>,
        #[arg(long = "principal", value_name = "NAME")]
        principals: Vec<String>,
        #[arg(long = "rule", value_name = "ID")]
        rules: Vec<String>,
        #[arg(long, value_parser = parse_days)]
        window: Option<u32>,
        /// Due date, YYYY-MM-DD.
        #[arg(long, value_parser = parse_date)]
        due: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Campaigns with their progress.
    List,
    /// A campaign's items (numbered) and decisions; --plan the revocation plan, --drift the
    /// changes since the previous campaign.
    Show {
        id: i64,
        #[arg(long)]
        plan: bool,
        #[arg(long)]
        drift: bool,
    },
    /// Decide items: by number or key (--item, repeat), every undecided item (--all), or the
    /// undecided items of a rule (--rule). Each decision is journalled.
    Decide {
        id: i64,
        #[arg(long = "item", value_name = "N|KEY")]
        items: Vec<String>,
        #[arg(long)]
        all: bool,
        #[arg(long = "rule", value_name = "ID")]
        rules: Vec<String>,
        /// keep | revoke | reduce (to the proposed set)
        #[arg(long, value_parser = parse_verdict)]
        verdict: portcullis_model::Verdict,
        #[arg(long)]
        note: Option<String>,
        /// Default: $PORTCULLIS_ACTOR or the OS user.
        #[arg(long)]
        reviewer: Option<String>,
    },
    /// Sign a campaign off (every item must be decided).
    Signoff {
        id: i64,
        #[arg(long)]
        reviewer: Option<String>,
    },
    /// Export a campaign as evidence (campaign.json, decisions.csv, plan.json, drift.json,
    /// campaign.html, manifest.json) into an empty directory.
    Export {
        id: i64,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Check an evidence directory against its manifest and this workspace's journal: the journal
    /// head the manifest pinned must be in the journal (a journal shortened or rewritten since the
    /// export fails the check).
    Verify {
        dir: PathBuf,
        /// Check only the files against the manifest, not the journal head (for an auditor who
        /// holds the export but not the workspace that made it).
        #[arg(long)]
        files_only: bool,
    },
}

fn parse_demo_size(s: &str) -> Result<portcullis_model::DemoSize, String> {
    portcullis_model::DemoSize::parse(s).ok_or_else(|| format!("unknown size `{s}` (small, large)"))
}

fn parse_days(s: &str) -> Result<u32, String> {
    let n = s.trim().strip_suffix('d').unwrap_or(s.trim());
    match n.parse::<u32>() {
        Ok(d) if (1..=3650).contains(&d) => Ok(d),
        _ => Err(format!(
            "`{s}` is not a window: give days, e.g. 90d (1 to 3650)"
        )),
    }
}

fn parse_severity(s: &str) -> Result<portcullis_model::Severity, String> {
    portcullis_model::Severity::parse(s)
        .ok_or_else(|| format!("unknown severity `{s}` (info, low, medium, high, critical)"))
}

fn parse_verdict(s: &str) -> Result<portcullis_model::Verdict, String> {
    portcullis_model::Verdict::parse(s)
        .ok_or_else(|| format!("unknown verdict `{s}` (keep, revoke, reduce)"))
}

fn parse_date(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map(|d| d.and_utc())
        .ok_or_else(|| format!("`{s}` is not a date: give YYYY-MM-DD"))
}
