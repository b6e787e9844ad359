//! hoop's two trails as the cache's events. Pure mapping, fuzzed: every field is optional and
//! nothing in an answer can panic.
//!
//! - **Sessions** (`GET /sessions`): each is a use of a connection — who (`user_id`, the
//!   subject the inventory names users by), which connection, which verb (`connect`, `exec`),
//!   how it ended. The session's input and output are never read into the cache: they are
//!   whatever a user typed or a database answered. The action is the verb, the resource the
//!   connection, so the access model credits the `CONNECTION|VERB` permission it used.
//! - **Security audit log** (`GET /audit/logs`, admins only): changes made through the API
//!   (who, which route, which status), with hoop's own redacted request payload left out.

use chrono::{DateTime, Utc};
use portcullis_model::{AuditEvent, Outcome};
use serde_json::{Map, Value};

use crate::redact::{self, Format};

use super::inventory::time;

/// Longest string field kept from an answer: ids, names and paths, never bodies.
const MAX_FIELD: usize = 512;

fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(MAX_FIELD).collect())
}

/// Only the named fields, each a short string, number or boolean.
fn kept(raw: &Value, keys: &[&str]) -> Value {
    let mut out = Map::new();
    for k in keys {
        match raw.get(*k) {
            Some(Value::String(s)) => {
                out.insert(
                    (*k).into(),
                    Value::String(s.chars().take(MAX_FIELD).collect()),
                );
            }
            Some(v @ (Value::Number(_) | Value::Bool(_))) => {
                out.insert((*k).into(), v.clone());
            }
            _ => {}
        }
    }
    Value::Object(out)
}

/// One session: a use of its connection by its verb. `None` without an id or a start.
pub fn map_session(raw: &Value) -> Option<AuditEvent> {
    let id = text(raw, "id")?;
    let at = time(raw.get("start_date").and_then(Value::as_str))?;
    let verb = text(raw, "verb").unwrap_or_else(|| "exec".into());
    let review = raw.get("review");
    let review_status = review.and_then(|r| text(r, "status"));
    let outcome = match (
        review_status.as_deref(),
        raw.get("exit_code").and_then(Value::as_i64),
    ) {
        (Some("REJECTED"), _) => Outcome::Deny,
        (_, Some(0)) | (_, None) => Outcome::Allow,
        (_, Some(_)) => Outcome::Error,
    };
    let mut kept_raw = kept(
        raw,
        &[
            "id",
            "user",
            "user_id",
            "user_name",
            "connection",
            "connection_subtype",
            "type",
            "verb",
            "status",
            "start_date",
            "end_date",
            "exit_code",
            "identity_type",
            "machine_identity_id",
            "script_size",
            "event_size",
        ],
    );
    if let (Some(obj), Some(r)) = (kept_raw.as_object_mut(), review) {
        obj.insert(
            "review".into(),
            kept(r, &["id", "status", "type", "access_request_rule_name"]),
        );
    }
    let mut ev = AuditEvent {
        dedup_key: format!("hoop-session:{id}"),
        at,
        actor: text(raw, "user_id").or_else(|| text(raw, "user")),
        credential: None,
        action: verb,
        resource: text(raw, "connection"),
        outcome,
        source_ip: None,
        raw: kept_raw,
    };
    redact::event(&mut ev, Format::Hoop);
    Some(ev)
}

/// One security audit log entry: a change through the API. `None` without an id or a time.
pub fn map_log(raw: &Value) -> Option<AuditEvent> {
    let id = text(raw, "id")?;
    let at: DateTime<Utc> = time(raw.get("created_at").and_then(Value::as_str))?;
    let method = text(raw, "http_method").unwrap_or_default();
    let path = text(raw, "http_path");
    let action = match (text(raw, "action"), text(raw, "resource_type")) {
        (Some(a), Some(r)) => format!("{a} {r}"),
        (Some(a), None) => a,
        (None, _) if !method.is_empty() => method.clone(),
        _ => "api".into(),
    };
    let outcome = match raw.get("outcome").and_then(Value::as_bool) {
        Some(false) => match raw.get("http_status").and_then(Value::as_i64) {
            Some(401 | 403) => Outcome::Deny,
            _ => Outcome::Error,
        },
        _ => Outcome::Allow,
    };
    let mut ev = AuditEvent {
        dedup_key: format!("hoop-audit:{id}"),
        at,
        actor: text(raw, "actor_subject").or_else(|| text(raw, "actor_email")),
        credential: None,
        action,
        resource: path,
        outcome,
        source_ip: text(raw, "client_ip"),
        raw: kept(
            raw,
            &[
                "id",
                "action",
                "actor_email",
                "actor_name",
                "actor_subject",
                "client_ip",
                "created_at",
                "error_message",
                "http_method",
                "http_path",
                "http_status",
                "outcome",
                "resource_type",
            ],
        ),
    };
    redact::event(&mut ev, Format::Hoop);
    Some(ev)
}

/// The cursor after a batch: the newest time seen, as RFC 3339.
pub fn cursor_of(events: &[AuditEvent]) -> Option<String> {
    events.iter().map(|e| e.at).max().map(|t| t.to_rfc3339())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_session_is_a_use_of_its_connection_and_keeps_no_input() {
        let raw = json!({
            "id": "1CBC8DB5", "user_id": "alice", "user": "alice@example.com",
            "connection": "pgdemo", "verb": "exec", "status": "done",
            "start_date": "2024-07-25T15:56:35.317601Z", "exit_code": 0,
            "script": {"data": "ALTER USER x PASSWORD 'hunter2'"},
            "event_stream": ["o", "secret output"],
        });
        let ev = map_session(&raw).unwrap();
        assert_eq!(ev.dedup_key, "hoop-session:1CBC8DB5");
        assert_eq!(ev.actor.as_deref(), Some("alice"));
        assert_eq!(
            (ev.action.as_str(), ev.resource.as_deref()),
            ("exec", Some("pgdemo"))
        );
        assert_eq!(ev.outcome, Outcome::Allow);
        let stored = ev.raw.to_string();
        assert!(
            !stored.contains("hunter2") && !stored.contains("secret output"),
            "{stored}"
        );
        let failed =
            map_session(&json!({"id": "2", "start_date": "2024-07-25T15:56:35Z", "exit_code": 1}))
                .unwrap();
        assert_eq!(failed.outcome, Outcome::Error);
        assert!(map_session(&json!({"id": "3"})).is_none());
    }

    #[test]
    fn an_audit_log_entry_says_who_changed_what() {
        let raw = json!({
            "id": "5364ec99", "action": "revoke", "resource_type": "api-keys",
            "actor_subject": "auth0|abc123", "http_method": "DELETE",
            "http_path": "/api/api-keys/ci", "http_status": 204, "outcome": true,
            "client_ip": "192.168.1.100", "created_at": "2023-08-15T14:30:45Z",
            "request_payload_redacted": {"anything": "at all"},
        });
        let ev = map_log(&raw).unwrap();
        assert_eq!(ev.action, "revoke api-keys");
        assert_eq!(ev.resource.as_deref(), Some("/api/api-keys/ci"));
        assert_eq!(ev.source_ip.as_deref(), Some("192.168.1.100"));
        assert!(ev.raw.get("request_payload_redacted").is_none());
        let denied = map_log(&json!({"id": "x", "created_at": "2023-08-15T14:30:45Z", "outcome": false, "http_status": 403})).unwrap();
        assert_eq!(denied.outcome, Outcome::Deny);
    }
}
