//! node-oidc-provider's JSON-lines event log → audit events, and the credentials it reveals.
//!
//! An OAuth 2.0 server cannot list its tokens, but its own log of `*.saved` / `*.destroyed` /
//! `grant.revoked` events can: replaying it gives the tokens issued and not yet gone, by
//! fingerprint (SHA-256 of the value; the log never holds a value). Each line's dedup key is the
//! hash of the line itself, since the format carries no event id.

use chrono::{DateTime, Utc};
use portcullis_model::{AuditEvent, Credential, CredentialKind, CredentialStatus, Outcome};
use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::jsonl::{content_key, parse_json_line, LineOutcome};

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn at(v: &Value) -> Result<DateTime<Utc>, String> {
    text(v, "ts")
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| "missing or invalid `ts`".to_string())
}

pub fn parse_line(line: &str, _line_no: u64) -> Result<LineOutcome, String> {
    let v = parse_json_line(line)?;
    let event = text(&v, "event").ok_or("no `event`: not a node-oidc-provider event line")?;
    let at = at(&v)?;
    let outcome = match text(&v, "outcome").as_deref() {
        Some("deny") => Outcome::Deny,
        Some("error") => Outcome::Error,
        _ if event.ends_with(".error") || event == "server_error" => Outcome::Error,
        _ => Outcome::Allow,
    };
    Ok(LineOutcome::Event(Box::new(AuditEvent {
        dedup_key: content_key(line),
        at,
        actor: text(&v, "account_id").or_else(|| text(&v, "client_id")),
        credential: text(&v, "fingerprint"),
        action: event,
        resource: text(&v, "scope"),
        outcome,
        source_ip: text(&v, "source_ip"),
        raw: v,
    })))
}

fn kind_of(event: &str) -> Option<CredentialKind> {
    match event.split('.').next()? {
        "access_token" | "client_credentials" => Some(CredentialKind::AccessToken),
        "refresh_token" => Some(CredentialKind::RefreshToken),
        _ => None,
    }
}

/// `exp=2026-12-01T00:00:00.000Z aud=...` → the expiry.
fn exp_of(detail: Option<&str>) -> Option<DateTime<Utc>> {
    detail?
        .split_whitespace()
        .find_map(|w| w.strip_prefix("exp="))
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Replays parsed events (oldest first) into the credentials they reveal. Tokens later
/// destroyed, consumed or whose grant was revoked are marked revoked; last use comes from
/// `token.used` and `introspection.request` events with `active=true`.
pub fn credentials_from_events(events: &[Value]) -> Vec<Credential> {
    let mut by_fp: BTreeMap<String, Credential> = BTreeMap::new();
    for v in events {
        let Some(event) = text(v, "event") else {
            continue;
        };
        let Ok(ts) = at(v) else { continue };
        let fp = text(v, "fingerprint");
        if let (Some(kind), Some(fp), true) =
            (kind_of(&event), fp.clone(), event.ends_with(".saved"))
        {
            by_fp.insert(
                fp.clone(),
                Credential {
                    external_id: fp,
                    kind,
                    principal_external_id: text(v, "account_id")
                        .map(|a| format!("account:{a}"))
                        .or_else(|| text(v, "client_id").map(|c| format!("client:{c}"))),
                    client: text(v, "client_id"),
                    scopes: text(v, "scope")
                        .map(|s| s.split_whitespace().map(str::to_string).collect())
                        .unwrap_or_default(),
                    issued_at: Some(ts),
                    expires_at: exp_of(v.get("detail").and_then(Value::as_str)),
                    last_used_at: None,
                    status: CredentialStatus::Active,
                    attrs: json!({"grant_id": text(v, "grant_id"), "source": "event log"}),
                },
            );
            continue;
        }
        let revoked_here = event.ends_with(".destroyed")
            || event.ends_with(".consumed")
            || (event == "revocation.request" && text(v, "outcome").as_deref() == Some("allow"));
        if revoked_here {
            if let Some(c) = fp.as_ref().and_then(|f| by_fp.get_mut(f)) {
                c.status = CredentialStatus::Revoked;
            }
        } else if event == "grant.revoked" || event == "grant.destroyed" {
            if let Some(grant) = text(v, "grant_id") {
                for c in by_fp.values_mut() {
                    if c.attrs.get("grant_id").and_then(Value::as_str) == Some(grant.as_str()) {
                        c.status = CredentialStatus::Revoked;
                    }
                }
            }
        } else if event == "token.used" && text(v, "outcome").as_deref() == Some("allow") {
            if let Some(c) = fp.as_ref().and_then(|f| by_fp.get_mut(f)) {
                c.last_used_at = Some(c.last_used_at.map_or(ts, |t| t.max(ts)));
            }
        }
    }
    let now = Utc::now();
    by_fp
        .into_values()
        .map(|mut c| {
            if c.status == CredentialStatus::Active && c.expires_at.is_some_and(|e| e <= now) {
                c.status = CredentialStatus::Expired;
            }
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines() -> Vec<Value> {
        [
            r#"{"ts":"2026-11-22T07:03:20.900Z","event":"client_credentials.saved","client_id":"billing-api","scope":"invoices:read invoices:write","fingerprint":"aa","outcome":"allow","detail":"exp=none aud=x"}"#,
            r#"{"ts":"2026-11-22T07:03:20.959Z","event":"refresh_token.saved","client_id":"dash","account_id":"alice","grant_id":"g1","scope":"openid invoices:read","fingerprint":"bb","outcome":"allow","detail":"exp=2099-01-01T00:00:00.000Z"}"#,
            r#"{"ts":"2026-11-22T07:03:23.424Z","event":"token.used","client_id":"billing-api","scope":"invoices:read","fingerprint":"aa","outcome":"allow"}"#,
            r#"{"ts":"2026-11-22T07:04:00.000Z","event":"grant.revoked","grant_id":"g1"}"#,
        ]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
    }

    #[test]
    fn replay_reveals_tokens_use_and_revocation() {
        let creds = credentials_from_events(&lines());
        assert_eq!(creds.len(), 2);
        let aa = creds.iter().find(|c| c.external_id == "aa").unwrap();
        assert_eq!(aa.kind, CredentialKind::AccessToken);
        assert_eq!(aa.scopes, vec!["invoices:read", "invoices:write"]);
        assert!(aa.expires_at.is_none());
        assert!(aa.last_used_at.is_some());
        assert_eq!(
            aa.principal_external_id.as_deref(),
            Some("client:billing-api")
        );
        let bb = creds.iter().find(|c| c.external_id == "bb").unwrap();
        assert_eq!(bb.status, CredentialStatus::Revoked);
        assert_eq!(bb.principal_external_id.as_deref(), Some("account:alice"));
        assert!(bb.expires_at.is_some());
    }

    #[test]
    fn lines_parse_to_events_and_garbage_is_rejected() {
        let l = r#"{"ts":"2026-11-22T07:03:23.474Z","event":"grant.error","client_id":"support-desk","scope":"payments:refund","outcome":"deny"}"#;
        let LineOutcome::Event(e) = parse_line(l, 1).unwrap() else {
            panic!()
        };
        assert_eq!(e.outcome, Outcome::Deny);
        assert_eq!(e.actor.as_deref(), Some("support-desk"));
        assert_eq!(e.resource.as_deref(), Some("payments:refund"));
        for bad in [
            "",
            "{",
            "{\"event\":1}",
            "{\"event\":\"x\",\"ts\":\"no\"}",
            "null",
        ] {
            assert!(parse_line(bad, 1).is_err(), "{bad}");
        }
        for cut in 0..l.len() {
            let _ = parse_line(&l[..cut], 1);
        }
    }
}
