//! GitLab audit events (`GET /audit_events`, instance level; GitLab Premium or Ultimate,
//! self-managed, administrators) as the cache's events. Pure mapping, fuzzed: an event is
//! whatever JSON the API answers, so every field is optional and nothing in it can panic.
//!
//! GitLab's audit events record changes (members added, tokens created or revoked, settings),
//! by whom (`author_id`, the numeric user id the inventory names principals by) and on which
//! group, project or user (`entity_type` + `details.entity_path`). They do not record which
//! request a token made, so they are activity, not proof of use: a token's last use is GitLab's
//! own `last_used_at`.

use chrono::{DateTime, Utc};
use portcullis_model::{AuditEvent, Outcome};
use serde_json::Value;

use crate::redact::{self, Format};

/// The cache's event for one audit event, `None` when it has no id or no time.
pub fn map_event(mut raw: Value) -> Option<AuditEvent> {
    let id = id_text(raw.get("id")?)?;
    let at: DateTime<Utc> = raw.get("created_at")?.as_str()?.parse().ok()?;
    let details = raw.get("details").cloned().unwrap_or(Value::Null);
    let text = |v: &Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let action = text(&raw, "event_name")
        .or_else(|| text(&raw, "event_type"))
        .or_else(|| text(&details, "custom_message"))
        .or_else(|| {
            details
                .get("add")
                .and_then(|x| x.as_str())
                .map(|a| format!("add {a}"))
        })
        .or_else(|| {
            details
                .get("remove")
                .and_then(|x| x.as_str())
                .map(|a| format!("remove {a}"))
        })
        .or_else(|| {
            details
                .get("change")
                .and_then(|x| x.as_str())
                .map(|a| format!("change {a}"))
        })
        .unwrap_or_else(|| "audit_event".into());
    let resource = text(&details, "entity_path").or_else(|| {
        let kind = text(&raw, "entity_type")?;
        let id = raw.get("entity_id").and_then(id_text)?;
        Some(format!("{kind}/{id}"))
    });
    let outcome = if action.contains("failed") {
        Outcome::Deny
    } else {
        Outcome::Allow
    };
    let actor = raw.get("author_id").and_then(id_text).filter(|a| a != "-1");
    // Keep the raw object bounded in what the cache stores: the listing may be hostile.
    if let Some(obj) = raw.as_object_mut() {
        obj.retain(|k, _| k.len() <= 64);
    }
    let mut ev = AuditEvent {
        dedup_key: format!("gitlab-audit:{id}"),
        at,
        actor,
        credential: None,
        action,
        resource,
        outcome,
        source_ip: text(&details, "ip_address"),
        raw,
    };
    redact::event(&mut ev, Format::GitLab);
    Some(ev)
}

/// An id GitLab writes as a number or a string; no empty or enormous ones.
fn id_text(v: &Value) -> Option<String> {
    let s = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    (!s.is_empty() && s.len() <= 128).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_author_entity_and_action_and_redacts() {
        let ev = map_event(json!({
            "id": 7,
            "author_id": 3,
            "entity_id": 6,
            "entity_type": "Project",
            "event_name": "personal_access_token_created",
            "details": {
                "entity_path": "acme/api",
                "ip_address": "10.0.0.1",
                "token": "glpat-abcdefghijklmnopqrstuvwxyz"
            },
            "created_at": "2026-01-02T03:04:05.678Z"
        }))
        .unwrap();
        assert_eq!(ev.dedup_key, "gitlab-audit:7");
        assert_eq!(ev.actor.as_deref(), Some("3"));
        assert_eq!(ev.resource.as_deref(), Some("acme/api"));
        assert_eq!(ev.action, "personal_access_token_created");
        assert_eq!(ev.source_ip.as_deref(), Some("10.0.0.1"));
        let raw = ev.raw.to_string();
        assert!(!raw.contains("glpat-abcdefghijklmnopqrstuvwxyz"), "{raw}");
    }

    #[test]
    fn refuses_events_without_id_or_time_and_never_panics_on_odd_shapes() {
        assert!(map_event(json!({"created_at": "2026-01-02T03:04:05Z"})).is_none());
        assert!(map_event(json!({"id": 1, "created_at": "yesterday"})).is_none());
        assert!(map_event(json!([1, 2])).is_none());
        let ev = map_event(json!({"id": "x", "created_at": "2026-01-02T03:04:05Z", "details": 5}))
            .unwrap();
        assert_eq!(ev.action, "audit_event");
        assert_eq!(ev.resource, None);
    }
}
