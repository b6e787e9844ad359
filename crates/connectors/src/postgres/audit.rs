//! PostgreSQL jsonlog lines → audit events: pgaudit session/object entries (`AUDIT: ...`),
//! connection authorisations and failed logins, and 42501 permission denials (which pgaudit does
//! not log, because the statement never ran).
//!
//! An event's key is `session_id:line_num`, which PostgreSQL makes unique; a line lacking either
//! is keyed by its content instead, since a shared default would make distinct events look like
//! one already cached. Passwords in statements (`ALTER ROLE … PASSWORD '…'`) are redacted by
//! [`crate::redact`] from `message`, `statement`, `query` and whatever was built from them.

use chrono::{DateTime, NaiveDateTime, Utc};
use portcullis_model::{AuditEvent, Outcome};
use serde_json::Value;

use crate::jsonl::{parse_json_line, LineOutcome};
use crate::redact::{self, Format};

/// jsonlog timestamps look like `2026-11-22 07:03:22.587 UTC`.
pub fn parse_log_time(s: &str) -> Option<DateTime<Utc>> {
    let t = s.strip_suffix(" UTC")?;
    NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

/// Splits one pgaudit CSV record (quotes doubled inside quoted fields).
pub fn split_csv(s: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.is_empty() => quoted = true,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

/// Finds the schema-qualified name of `table` in a statement (`payments.cards` for `cards`).
fn qualify(table: &str, statement: &str) -> String {
    let cleaned = statement.replace('"', "");
    cleaned
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '(' | ')' | ';'))
        .find(|tok| tok.ends_with(&format!(".{table}")) && tok.matches('.').count() == 1)
        .map(str::to_string)
        .unwrap_or_else(|| table.to_string())
}

pub fn parse_line(line: &str, _line_no: u64) -> Result<LineOutcome, String> {
    let v = parse_json_line(line)?;
    let s = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let message = s("message").ok_or("no `message`: not a PostgreSQL jsonlog line")?;
    let at = s("timestamp")
        .as_deref()
        .and_then(parse_log_time)
        .ok_or("missing or invalid `timestamp`")?;
    let position = match (
        s("session_id").filter(|x| !x.is_empty()),
        v.get("line_num").and_then(Value::as_i64),
    ) {
        (Some(session), Some(line_num)) => Some(format!("{session}:{line_num}")),
        _ => None,
    };
    let user = s("user");
    let state = s("state_code").unwrap_or_default();
    let severity = s("error_severity").unwrap_or_default();

    let (action, resource, outcome) = if let Some(rest) = message.strip_prefix("AUDIT: ") {
        // AUDIT_TYPE,STATEMENT_ID,SUBSTATEMENT_ID,CLASS,COMMAND,OBJECT_TYPE,OBJECT_NAME,STATEMENT,PARAMETER
        let f = split_csv(rest);
        if f.len() < 7 {
            return Err(format!("pgaudit record has {} fields, expected 9", f.len()));
        }
        let object = Some(f[6].clone()).filter(|o| !o.is_empty());
        (f[4].clone(), object, Outcome::Allow)
    } else if message.starts_with("connection authorized") {
        ("LOGIN".to_string(), s("dbname"), Outcome::Allow)
    } else if state == "28P01" || state == "28000" {
        ("LOGIN".to_string(), s("dbname"), Outcome::Deny)
    } else if state == "42501" {
        let statement = s("statement").unwrap_or_default();
        let object = message
            .strip_prefix("permission denied for ")
            .and_then(|r| r.split_whitespace().nth(1))
            .map(|t| qualify(t, &statement));
        (
            s("ps").unwrap_or_else(|| "statement".into()),
            object,
            Outcome::Deny,
        )
    } else {
        return Ok(LineOutcome::Skip);
    };
    let _ = severity;
    let mut event = AuditEvent {
        dedup_key: String::new(),
        at,
        credential: user.as_ref().map(|u| format!("login:{u}")),
        actor: user,
        action,
        resource,
        outcome,
        source_ip: s("remote_host"),
        raw: v,
    };
    redact::event(&mut event, Format::Pgaudit);
    event.dedup_key = position.unwrap_or_else(|| redact::content_key(line, &event.raw));
    Ok(LineOutcome::Event(Box::new(event)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ: &str = r#"{"timestamp":"2026-11-22 07:03:22.971 UTC","user":"svc_reporting","dbname":"acme","pid":1,"remote_host":"127.0.0.1","session_id":"6b02.42b3","line_num":34,"ps":"SELECT","error_severity":"LOG","message":"AUDIT: SESSION,14,2,READ,SELECT,TABLE,billing.customers,\"SELECT 1 FROM \"\"billing\"\".\"\"customers\"\" x\",<not logged>"}"#;
    const DENIED: &str = r#"{"timestamp":"2026-11-22 07:03:23.923 UTC","user":"svc_payments","dbname":"acme","pid":17123,"remote_host":"127.0.0.1","session_id":"6b0293bb.42e3","line_num":4,"ps":"SELECT","error_severity":"ERROR","state_code":"42501","message":"permission denied for table cards","statement":"SELECT pan_encrypted FROM payments.cards"}"#;
    const EXPIRED: &str = r#"{"timestamp":"2026-11-22 07:03:24.691 UTC","user":"svc_legacy_export","dbname":"acme","session_id":"6b0293bc.431d","line_num":2,"error_severity":"FATAL","state_code":"28P01","message":"password authentication failed for user \"svc_legacy_export\"","detail":"User \"svc_legacy_export\" has an expired password."}"#;

    fn event(line: &str) -> AuditEvent {
        match parse_line(line, 1).unwrap() {
            LineOutcome::Event(e) => *e,
            LineOutcome::Skip => panic!("skipped {line}"),
        }
    }

    #[test]
    fn pgaudit_read_is_an_allowed_select_on_the_table() {
        let e = event(READ);
        assert_eq!(e.action, "SELECT");
        assert_eq!(e.resource.as_deref(), Some("billing.customers"));
        assert_eq!(e.outcome, Outcome::Allow);
        assert_eq!(e.credential.as_deref(), Some("login:svc_reporting"));
        assert_eq!(e.dedup_key, "6b02.42b3:34");
    }

    #[test]
    fn denial_is_qualified_from_the_statement() {
        let e = event(DENIED);
        assert_eq!(e.outcome, Outcome::Deny);
        assert_eq!(e.resource.as_deref(), Some("payments.cards"));
        assert_eq!(e.action, "SELECT");
    }

    #[test]
    fn expired_password_login_is_denied() {
        let e = event(EXPIRED);
        assert_eq!(e.action, "LOGIN");
        assert_eq!(e.outcome, Outcome::Deny);
    }

    #[test]
    fn lines_without_session_or_line_number_keep_distinct_keys() {
        let without = |line_num: &str, session: &str, object: &str| {
            format!(
                r#"{{"timestamp":"2026-11-22 07:03:22.971 UTC","user":"svc_reporting",{session}{line_num}"message":"AUDIT: SESSION,1,1,READ,SELECT,TABLE,{object},SELECT 1,<not logged>"}}"#
            )
        };
        let lines = [
            without("", "", "billing.a"),
            without("", "", "billing.b"),
            without(r#""line_num":7,"#, "", "billing.a"),
            without(r#""line_num":7,"#, "", "billing.b"),
            without("", r#""session_id":"6b02.42b3","#, "billing.a"),
            without("", r#""session_id":"6b02.42b3","#, "billing.b"),
        ];
        let keys: std::collections::BTreeSet<String> =
            lines.iter().map(|l| event(l).dedup_key).collect();
        assert_eq!(keys.len(), lines.len(), "{keys:?}");
        // Stable: the same line gets the same key again.
        assert_eq!(event(&lines[0]).dedup_key, event(&lines[0]).dedup_key);
        assert_eq!(
            event(&lines[0]).dedup_key,
            crate::jsonl::content_key(&lines[0])
        );
        // Both present: still the position.
        assert_eq!(event(READ).dedup_key, "6b02.42b3:34");
    }

    #[test]
    fn csv_split_handles_doubled_quotes() {
        let f = split_csv(r#"SESSION,1,1,ROLE,CREATE ROLE,,,"CREATE ROLE ""x"", y",<not logged>"#);
        assert_eq!(f.len(), 9);
        assert_eq!(f[7], r#"CREATE ROLE "x", y"#);
    }

    #[test]
    fn malformed_lines_are_errors_never_panics() {
        for bad in [
            "{",
            "[]",
            "{\"message\":1}",
            "{\"message\":\"x\",\"timestamp\":\"nope\"}",
            r#"{"message":"AUDIT: a,b","timestamp":"2026-11-22 07:03:24.691 UTC"}"#,
        ] {
            assert!(parse_line(bad, 1).is_err(), "{bad}");
        }
        for cut in 0..READ.len() {
            if READ.is_char_boundary(cut) {
                let _ = parse_line(&READ[..cut], 1);
            }
        }
        let other =
            r#"{"message":"checkpoint complete","timestamp":"2026-11-22 07:03:24.691 UTC"}"#;
        assert!(matches!(parse_line(other, 1), Ok(LineOutcome::Skip)));
    }
}
