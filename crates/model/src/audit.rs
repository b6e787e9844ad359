//! The audit trail browser's vocabulary: a page of search results, one event's raw record, the
//! timeline, highlights (saved views), exports and file imports.
//!
//! Searches are plain query strings (`actor:alice outcome:deny billing since:-1h`; the grammar is
//! documented on `portcullis_engine::audit::query`), so a pivot, a saved view and a URL are all
//! just strings. [`AuditField::term`] builds one `field:value` term with the quoting the parser
//! expects, for the UI to compose pivots without re-implementing the rules.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{AuditEventView, BackendKind};

/// A field a search can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditField {
    Backend,
    Actor,
    Credential,
    Action,
    Resource,
    Outcome,
    /// The source address (`source:` or `ip:`).
    Source,
    Since,
    Until,
    /// The console's own requests: `console:hide` (the default), `show`, `only`.
    Console,
}

impl AuditField {
    pub const ALL: [AuditField; 10] = [
        AuditField::Backend,
        AuditField::Actor,
        AuditField::Credential,
        AuditField::Action,
        AuditField::Resource,
        AuditField::Outcome,
        AuditField::Source,
        AuditField::Since,
        AuditField::Until,
        AuditField::Console,
    ];

    /// The name used in query strings.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditField::Backend => "backend",
            AuditField::Actor => "actor",
            AuditField::Credential => "credential",
            AuditField::Action => "action",
            AuditField::Resource => "resource",
            AuditField::Outcome => "outcome",
            AuditField::Source => "source",
            AuditField::Since => "since",
            AuditField::Until => "until",
            AuditField::Console => "console",
        }
    }

    /// Parses a field name, with its aliases (`cred`, `ip`, `src`, `user`), case-insensitively.
    pub fn parse(name: &str) -> Option<AuditField> {
        let lower = name.to_ascii_lowercase();
        Some(match lower.as_str() {
            "backend" => AuditField::Backend,
            "actor" | "user" | "principal" => AuditField::Actor,
            "credential" | "cred" => AuditField::Credential,
            "action" => AuditField::Action,
            "resource" => AuditField::Resource,
            "outcome" => AuditField::Outcome,
            "source" | "ip" | "src" => AuditField::Source,
            "since" | "from" => AuditField::Since,
            "until" | "to" => AuditField::Until,
            "console" => AuditField::Console,
            _ => return None,
        })
    }

    /// `field:value`, quoting the value when the parser would otherwise split or misread it.
    pub fn term(self, value: &str) -> String {
        format!("{}:{}", self.as_str(), quote_value(value))
    }
}

/// The audit query for everything one credential did: its backend and its id as audit events
/// name it (the cache's `external_id`). The event detail's pivot, the credential drawer and
/// triage all lead there through this one query.
pub fn credential_events_query(backend: &str, credential: &str) -> String {
    format!(
        "{} {}",
        AuditField::Backend.term(backend),
        AuditField::Credential.term(credential)
    )
}

/// Quotes a query value when it is empty, holds whitespace, a quote or a backslash, or starts
/// with `-` (negation); inside quotes `"` and `\` are escaped with `\`. A `*` in an unquoted
/// value means "prefix" (trailing) or "any run of characters" (inside), so a value holding `*`
/// is quoted too.
pub fn quote_value(value: &str) -> String {
    let plain = !value.is_empty()
        && !value.starts_with('-')
        && !value.contains('*')
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\\' || c == '(' || c == ')');
    if plain {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Events an audit search counts exactly; beyond them its total is an estimate, and says so.
pub const AUDIT_EXACT_COUNT: u32 = 100_000;

/// How many events match, counted exactly up to [`AUDIT_EXACT_COUNT`] and estimated beyond it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotalEstimate {
    pub count: u64,
    /// `false`: more than the counting cap matched and `count` is extrapolated from the time
    /// span the counted events cover.
    pub exact: bool,
}

/// One page of search results, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEventView>,
    /// Pass back to get the next (older) page; `None` on the last page.
    pub next_cursor: Option<String>,
    pub total: TotalEstimate,
    /// The query as the engine understood it (normalised: fields spelled out, times absolute).
    pub query: String,
}

/// One event with the record the backend delivered (secrets removed by the connector).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEventDetail {
    pub event: AuditEventView,
    pub backend_kind: BackendKind,
    /// The key that makes re-imports idempotent (request id, line hash...).
    pub dedup_key: String,
    pub raw: serde_json::Value,
    /// Ready-made searches around this event: same actor, same credential, same resource.
    pub pivots: Vec<Pivot>,
    /// The cached credential the event names, when the cache knows it: what the reviewer can
    /// revoke from the event.
    #[serde(default)]
    pub credential: Option<crate::CredentialView>,
}

/// The key of an event's `raw` object listing what was redacted at ingest (written by the
/// connectors' one rule set, read by every screen that shows `raw`).
pub const REDACTION_MARK_KEY: &str = "portcullis_redacted";

impl AuditEventDetail {
    /// The places in `raw` (and `@actor`, `@action`... for the event's own fields) whose values
    /// were redacted at ingest; empty when nothing was.
    pub fn redacted_paths(&self) -> Vec<&str> {
        self.raw
            .get(REDACTION_MARK_KEY)
            .and_then(|v| v.as_array())
            .map(|list| list.iter().filter_map(|p| p.as_str()).collect())
            .unwrap_or_default()
    }
}

/// A query a reviewer can jump to from an event or a highlight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pivot {
    pub label: String,
    pub query: String,
}

/// Events per time bucket for the current filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditTimeline {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub bucket_seconds: u64,
    pub buckets: Vec<TimelineBucket>,
    /// The same histogram drawn by the engine (plotters SVG), for the UI or a report.
    pub svg: String,
    /// Where the bars are inside `svg`, so the UI can lay bucket targets over them exactly.
    #[serde(default)]
    pub plot_area: PlotArea,
}

/// A chart's plot area, in percent of the whole image (left, top, width, height).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct PlotArea {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineBucket {
    pub start: DateTime<Utc>,
    pub allow: u64,
    pub deny: u64,
    pub error: u64,
}

impl TimelineBucket {
    pub fn total(&self) -> u64 {
        self.allow + self.deny + self.error
    }
}

/// What a highlight detector looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HighlightKind {
    /// Many denials for one actor in a short window.
    DenialBurst,
    /// Allowed events of a credential after it was revoked or expired.
    UsedAfterRevocation,
    /// A credential used from an address it had not used before.
    NewSourceAddress,
    /// A principal active again after a long silence.
    DormantPrincipal,
}

impl HighlightKind {
    pub const ALL: [HighlightKind; 4] = [
        HighlightKind::DenialBurst,
        HighlightKind::UsedAfterRevocation,
        HighlightKind::NewSourceAddress,
        HighlightKind::DormantPrincipal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HighlightKind::DenialBurst => "denial_burst",
            HighlightKind::UsedAfterRevocation => "used_after_revocation",
            HighlightKind::NewSourceAddress => "new_source_address",
            HighlightKind::DormantPrincipal => "dormant_principal",
        }
    }
}

/// A named query plus what its detector found: a highlight the reviewer can open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedView {
    pub kind: HighlightKind,
    pub title: String,
    /// What the detector looks for, with its thresholds.
    pub description: String,
    /// The search that shows the raw material (e.g. `outcome:deny`).
    pub query: String,
    pub items: Vec<HighlightItem>,
}

/// One finding of a detector, with the search that shows its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HighlightItem {
    pub backend: String,
    /// The actor or credential concerned.
    pub subject: String,
    /// One sentence saying what happened.
    pub summary: String,
    /// Events behind the finding.
    pub count: u64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub query: String,
}

/// File formats `portcullis audit import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditFormat {
    /// Vault/OpenBao file audit device.
    Vault,
    /// Kubernetes API server audit log (audit.k8s.io/v1 events, one per line).
    K8s,
    /// PostgreSQL jsonlog with pgaudit entries.
    Pgaudit,
    /// Kong log serializer output (file-log).
    Kong,
    /// node-oidc-provider event log.
    OidcProvider,
}

impl AuditFormat {
    pub const ALL: [AuditFormat; 5] = [
        AuditFormat::Vault,
        AuditFormat::K8s,
        AuditFormat::Pgaudit,
        AuditFormat::Kong,
        AuditFormat::OidcProvider,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditFormat::Vault => "vault",
            AuditFormat::K8s => "k8s",
            AuditFormat::Pgaudit => "pgaudit",
            AuditFormat::Kong => "kong",
            AuditFormat::OidcProvider => "oidc-provider",
        }
    }

    /// The format a backend of `kind` writes its audit log in, when it writes one to a file
    /// (Keycloak's events are read through its API).
    pub fn for_kind(kind: BackendKind) -> Option<AuditFormat> {
        AuditFormat::ALL
            .into_iter()
            .find(|f| f.backend_kind() == kind)
    }

    /// The backend kind whose logs this format is.
    pub fn backend_kind(self) -> BackendKind {
        match self {
            AuditFormat::Vault => BackendKind::Vault,
            AuditFormat::K8s => BackendKind::Kubernetes,
            AuditFormat::Pgaudit => BackendKind::Postgres,
            AuditFormat::Kong => BackendKind::Kong,
            AuditFormat::OidcProvider => BackendKind::Oauth2,
        }
    }
}

impl std::str::FromStr for AuditFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuditFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = AuditFormat::ALL.iter().map(|f| f.as_str()).collect();
                format!("unknown audit format `{s}` (one of: {})", names.join(", "))
            })
    }
}

/// A line an import could not turn into an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRejection {
    pub line: u64,
    pub reason: String,
}

/// Why lines were rejected, coarsely: what the counts of a report are kept by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectionClass {
    /// Longer than the reader's line cap; skipped without being held whole.
    TooLong,
    NotUtf8,
    InvalidJson,
    /// JSON, but not a record of the format.
    NotAnEvent,
    /// The last line had no newline and did not parse.
    Incomplete,
}

impl RejectionClass {
    pub fn label(self) -> &'static str {
        match self {
            RejectionClass::TooLong => "line too long",
            RejectionClass::NotUtf8 => "not UTF-8",
            RejectionClass::InvalidJson => "invalid JSON",
            RejectionClass::NotAnEvent => "not a record of the format",
            RejectionClass::Incomplete => "incomplete last line",
        }
    }
}

/// How many lines were rejected for one class of reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectionCount {
    pub class: RejectionClass,
    pub count: u64,
}

/// What one import did. `imported + duplicates` events were read; `skipped` lines were valid but
/// not events of interest (e.g. Vault request halves); `rejected_total` lines were not
/// understood, counted by class in `rejected_by_class`; `rejected` holds the first of them (at
/// most [`REJECTION_SAMPLE`]) with their line numbers, so a file of garbage costs a bounded report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    pub backend: String,
    pub format: AuditFormat,
    pub file: String,
    pub lines: u64,
    pub imported: u64,
    pub duplicates: u64,
    pub skipped: u64,
    pub rejected: Vec<LineRejection>,
    #[serde(default)]
    pub rejected_total: u64,
    #[serde(default)]
    pub rejected_by_class: Vec<RejectionCount>,
    pub duration_ms: u64,
}

/// Rejections an import report keeps with their line numbers (the rest are only counted).
pub const REJECTION_SAMPLE: usize = 100;

/// Export formats of a search result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    /// One JSON object per line, with the raw record.
    JsonLines,
}

impl std::str::FromStr for ExportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "csv" => Ok(ExportFormat::Csv),
            "jsonl" | "json-lines" | "ndjson" => Ok(ExportFormat::JsonLines),
            _ => Err(format!("unknown export format `{s}` (csv or jsonl)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_events_are_asked_by_backend_and_quoted_id() {
        assert_eq!(
            credential_events_query("openbao", "hmac-sha256:ab"),
            "backend:openbao credential:hmac-sha256:ab"
        );
        assert_eq!(
            credential_events_query("pg prod", "login:svc \"x\""),
            r#"backend:"pg prod" credential:"login:svc \"x\"""#
        );
    }

    #[test]
    fn every_format_is_the_format_of_its_kind() {
        for f in AuditFormat::ALL {
            assert_eq!(AuditFormat::for_kind(f.backend_kind()), Some(f));
        }
        assert_eq!(AuditFormat::for_kind(BackendKind::Keycloak), None);
    }

    #[test]
    fn redacted_paths_come_from_the_mark_list_only() {
        let detail = |raw: serde_json::Value| AuditEventDetail {
            event: AuditEventView {
                id: 1,
                backend: "b".into(),
                at: chrono::DateTime::UNIX_EPOCH,
                actor: None,
                credential: None,
                action: "read".into(),
                resource: None,
                outcome: crate::Outcome::Allow,
                source_ip: None,
            },
            backend_kind: crate::BackendKind::Vault,
            dedup_key: "k".into(),
            raw,
            pivots: vec![],
            credential: None,
        };
        let marked = detail(serde_json::json!({
            "auth": {"client_token": "redacted:ab"},
            REDACTION_MARK_KEY: ["auth.client_token", "@resource", 7],
        }));
        assert_eq!(marked.redacted_paths(), ["auth.client_token", "@resource"]);
        assert!(detail(serde_json::json!({"password": "hunter2"}))
            .redacted_paths()
            .is_empty());
        assert!(detail(serde_json::json!([REDACTION_MARK_KEY]))
            .redacted_paths()
            .is_empty());
    }

    #[test]
    fn values_are_quoted_only_when_needed() {
        assert_eq!(AuditField::Actor.term("alice"), "actor:alice");
        assert_eq!(
            AuditField::Resource.term("secret/data/x"),
            "resource:secret/data/x"
        );
        assert_eq!(AuditField::Actor.term("Bob Smith"), "actor:\"Bob Smith\"");
        assert_eq!(AuditField::Actor.term("-x"), "actor:\"-x\"");
        assert_eq!(AuditField::Actor.term("a\"b\\"), "actor:\"a\\\"b\\\\\"");
        assert_eq!(AuditField::Actor.term(""), "actor:\"\"");
        assert_eq!(AuditField::Resource.term("x*"), "resource:\"x*\"");
    }

    #[test]
    fn field_names_and_formats_round_trip() {
        for f in AuditField::ALL {
            assert_eq!(AuditField::parse(f.as_str()), Some(f));
        }
        assert_eq!(AuditField::parse("IP"), Some(AuditField::Source));
        for f in AuditFormat::ALL {
            assert_eq!(f.as_str().parse::<AuditFormat>(), Ok(f));
            assert_eq!(serde_json::to_value(f).unwrap().as_str(), Some(f.as_str()));
        }
        assert!("syslog".parse::<AuditFormat>().is_err());
    }
}
