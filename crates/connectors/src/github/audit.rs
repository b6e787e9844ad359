//! GitHub organisation audit log entries (`GET /orgs/{org}/audit-log`, GitHub Enterprise Cloud;
//! elsewhere a 404, which is a coverage note) as the cache's events. Pure mapping, fuzzed: an
//! entry is whatever JSON the API answers, so every field is optional and nothing can panic.
//!
//! An entry records a change or an access (`action`, e.g. `org.add_member`,
//! `personal_access_token.access_granted`), by whom (`actor`, the login the inventory names
//! principals by) and on what (`repo`, `user` or `org`). Entries do not name the permission a
//! request used, so they are activity: a PAT's last use is GitHub's own `token_last_used_at`.

use chrono::{DateTime, Utc};
use portcullis_model::{AuditEvent, Outcome};
use serde_json::Value;

use crate::redact::{self, Format};

/// The cache's event for one entry, `None` when it has no document id or no time.
pub fn map_event(mut raw: Value) -> Option<AuditEvent> {
    let id = text(&raw, "_document_id").filter(|s| !s.is_empty() && s.len() <= 128)?;
    let at = timestamp(&raw)?;
    let action = text(&raw, "action").unwrap_or_else(|| "audit_log".into());
    let actor = text(&raw, "actor").filter(|a| !a.is_empty());
    let resource = text(&raw, "repo")
        .or_else(|| text(&raw, "user"))
        .or_else(|| text(&raw, "org"));
    // Keep the raw object bounded in what the cache stores: the listing may be hostile.
    if let Some(obj) = raw.as_object_mut() {
        obj.retain(|k, _| k.len() <= 64);
    }
    let mut ev = AuditEvent {
        dedup_key: format!("github-audit:{id}"),
        at,
        actor,
        credential: None,
        action,
        resource,
        outcome: Outcome::Allow,
        source_ip: None,
        raw,
    };
    redact::event(&mut ev, Format::GitHub);
    Some(ev)
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)?.as_str().map(str::to_string)
}

/// `@timestamp` (milliseconds since the epoch), else `created_at` (the same, or RFC 3339).
fn timestamp(raw: &Value) -> Option<DateTime<Utc>> {
    let millis = |v: &Value| v.as_i64().and_then(DateTime::<Utc>::from_timestamp_millis);
    raw.get("@timestamp").and_then(millis).or_else(|| {
        let c = raw.get("created_at")?;
        millis(c).or_else(|| c.as_str()?.parse().ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_document_id_time_actor_and_redacts() {
        let ev = map_event(json!({
            "@timestamp": 1606929874512_i64,
            "action": "team.add_member",
            "actor": "octocat",
            "_document_id": "xJJFlFOhQ6b-5vaAFy9Rjw",
            "org": "octo-corp",
            "user": "monalisa",
            "note": "ghp_abcdefghijklmnopqrstuvwxyz0123456789AB"
        }))
        .unwrap();
        assert_eq!(ev.dedup_key, "github-audit:xJJFlFOhQ6b-5vaAFy9Rjw");
        assert_eq!(ev.at.timestamp_millis(), 1606929874512);
        assert_eq!(ev.actor.as_deref(), Some("octocat"));
        assert_eq!(ev.resource.as_deref(), Some("monalisa"));
        assert_eq!(ev.action, "team.add_member");
        let raw = ev.raw.to_string();
        assert!(!raw.contains("ghp_abcdefghij"), "{raw}");
    }

    #[test]
    fn refuses_entries_without_id_or_time_and_never_panics_on_odd_shapes() {
        assert!(map_event(json!({"@timestamp": 1})).is_none());
        assert!(map_event(json!({"_document_id": "a", "@timestamp": "soon"})).is_none());
        assert!(map_event(json!({"_document_id": "a", "@timestamp": i64::MAX})).is_none());
        assert!(map_event(json!([1, 2])).is_none());
        let ev =
            map_event(json!({"_document_id": "a", "created_at": 1606929874512_i64, "repo": 5}))
                .unwrap();
        assert_eq!(ev.action, "audit_log");
        assert_eq!(ev.resource, None);
    }
}
