//! node-oidc-provider's JSON-lines event log → audit events, and the credentials it reveals.
//!
//! An OAuth 2.0 server cannot list its tokens, but its own log of `*.saved` / `*.destroyed` /
//! `grant.revoked` events can: replaying it gives the tokens issued and not yet gone, by
//! fingerprint (SHA-256 of the value; the log never holds a value), with the expiry and issue
//! time the server stored (`exp=… iat=…` in the detail). Each line's dedup key is the hash of the
//! line itself, since the format carries no event id. Tokens a line does hold (in a URL, a
//! header) are redacted by [`crate::redact`].
//!
//! Client secrets are credentials too, and their expiry matters (RFC 7591
//! `client_secret_expires_at`, 0 = never). The standard way to read it, RFC 7592 client read,
//! needs each client's own registration access token, which a console does not hold (and static
//! clients do not have), so the sandbox server writes one `client.configured` line per client at
//! start: `secret_expires_at=<RFC 3339>|none`. A secret is named `client_secret:<client id>`; its
//! value (or a digest of it) is never in the log. Its last use is the client's last accepted
//! authentication: a token issued (`grant.success`) or an introspection or revocation request
//! answered, as the client.

use chrono::{DateTime, Utc};
use portcullis_model::{AuditEvent, Credential, CredentialKind, CredentialStatus, Outcome};
use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::jsonl::{parse_json_line, LineOutcome};
use crate::redact::{self, Format};

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
    let mut ev = AuditEvent {
        dedup_key: String::new(),
        at,
        actor: text(&v, "account_id").or_else(|| text(&v, "client_id")),
        credential: text(&v, "fingerprint"),
        action: event,
        resource: text(&v, "scope"),
        outcome,
        source_ip: text(&v, "source_ip"),
        raw: v,
    };
    redact::event(&mut ev, Format::OidcProvider);
    ev.dedup_key = redact::content_key(line, &ev.raw);
    Ok(LineOutcome::Event(Box::new(ev)))
}

fn kind_of(event: &str) -> Option<CredentialKind> {
    match event.split('.').next()? {
        "access_token" | "client_credentials" => Some(CredentialKind::AccessToken),
        "refresh_token" => Some(CredentialKind::RefreshToken),
        _ => None,
    }
}

/// `exp=2026-12-01T00:00:00.000Z iat=... aud=...` → the time under `key` (`exp=none` and a
/// missing or unparsable value are `None`).
fn detail_time(detail: Option<&str>, key: &str) -> Option<DateTime<Utc>> {
    detail?
        .split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// `secret_expires_at=` of a `client.configured` line: `Some(None)` = never expires, `None` = the
/// line does not say (or says something unreadable, which is not the same as "never").
fn secret_expiry(detail: Option<&str>) -> Option<Option<DateTime<Utc>>> {
    let value = detail?
        .split_whitespace()
        .find_map(|w| w.strip_prefix("secret_expires_at="))?;
    if value == "none" {
        return Some(None);
    }
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| Some(t.with_timezone(&Utc)))
}

/// The token the console introspects to check its own access (`check`, before every sync). Not
/// a secret: a fixed string no server issues.
pub const CONNECTIVITY_PROBE: &str = "portcullis-connectivity-probe";

/// Events in which the server accepted a client's authentication (its secret was used). The
/// console's own connectivity probe is left out: it runs on every sync, so counting it would
/// rewrite the console's secret at each sync and tell a reviewer nothing.
fn client_authenticated(v: &Value, event: &str, probe: &str) -> bool {
    matches!(
        event,
        "grant.success" | "introspection.request" | "revocation.request"
    ) && text(v, "outcome").is_none_or(|o| o == "allow")
        && text(v, "fingerprint").is_none_or(|f| f != probe)
}

/// The credential a `client.configured` line describes, if it states the secret's expiry.
fn client_secret(v: &Value, ts: DateTime<Utc>) -> Option<Credential> {
    let client = text(v, "client_id")?;
    let detail = v.get("detail").and_then(Value::as_str);
    let expires_at = secret_expiry(detail)?;
    Some(Credential {
        external_id: format!("client_secret:{client}"),
        kind: CredentialKind::ApiKey,
        principal_external_id: Some(format!("client:{client}")),
        client: Some(client),
        scopes: Vec::new(),
        issued_at: detail_time(detail, "issued_at"),
        expires_at,
        last_used_at: None,
        status: CredentialStatus::Active,
        attrs: json!({
            "secret_of": "client",
            "never_expires": expires_at.is_none(),
            "auth_method": detail
                .and_then(|d| d.split_whitespace().find_map(|w| w.strip_prefix("auth_method=")))
                .map(str::to_string),
            "source": "event log (client.configured)",
            "configured_at": ts,
            "last_authenticated_at": Value::Null,
        }),
    })
}

/// Replays parsed events (oldest first) into the credentials they reveal. Tokens later
/// destroyed, consumed or whose grant was revoked are marked revoked; last use comes from
/// `token.used` and `introspection.request` events with `active=true`.
pub fn credentials_from_events(events: &[Value]) -> Vec<Credential> {
    let mut by_fp: BTreeMap<String, Credential> = BTreeMap::new();
    // Client id → its secret; the latest `client.configured` line wins (a restart re-logs them).
    let mut secrets: BTreeMap<String, Credential> = BTreeMap::new();
    let mut last_auth: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    // Grant id → its expiry: a token dies with its grant (node-oidc-provider's introspection
    // answers inactive once the grant has expired), whatever its own `exp` says.
    let mut grant_exp: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    let probe = crate::fingerprint(CONNECTIVITY_PROBE);
    for v in events {
        let Some(event) = text(v, "event") else {
            continue;
        };
        let Ok(ts) = at(v) else { continue };
        if event == "client.configured" {
            if let Some(c) = client_secret(v, ts) {
                secrets.insert(c.client.clone().unwrap_or_default(), c);
            }
            continue;
        }
        if client_authenticated(v, &event, &probe) {
            if let Some(client) = text(v, "client_id") {
                let t = last_auth.entry(client).or_insert(ts);
                *t = (*t).max(ts);
            }
        }
        if event == "grant.saved" {
            if let (Some(g), Some(exp)) = (
                text(v, "grant_id"),
                detail_time(v.get("detail").and_then(Value::as_str), "exp"),
            ) {
                grant_exp.insert(g, exp);
            }
            continue;
        }
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
                    // The server's own issue time when logged (the line's `ts` is a few ms
                    // later, which matters for a lifetime of exactly N days).
                    issued_at: Some(
                        detail_time(v.get("detail").and_then(Value::as_str), "iat").unwrap_or(ts),
                    ),
                    expires_at: detail_time(v.get("detail").and_then(Value::as_str), "exp"),
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
    for (client, c) in secrets.iter_mut() {
        if let Some(t) = last_auth.get(client) {
            c.last_used_at = Some(*t);
            c.attrs["last_authenticated_at"] = json!(t);
        }
    }
    let now = Utc::now();
    by_fp
        .into_values()
        .map(|mut c| {
            let grant = c.attrs.get("grant_id").and_then(Value::as_str);
            if let Some(g) = grant.and_then(|g| grant_exp.get(g)).copied() {
                c.attrs["grant_expires_at"] = json!(g);
                c.expires_at = Some(c.expires_at.map_or(g, |e| e.min(g)));
            }
            c
        })
        .chain(secrets.into_values())
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

    /// Lines as the sandbox's node-oidc-provider 9.13.3 writes them (fingerprints of dead tokens).
    fn sandbox_lines() -> Vec<Value> {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/oidc-provider/oidc-events.sandbox.jsonl"
        ))
        .unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn stored_expiry_and_issue_time_come_from_the_detail() {
        let creds = credentials_from_events(&sandbox_lines());
        let by = |fp_prefix: &str| {
            creds
                .iter()
                .find(|c| c.external_id.starts_with(fp_prefix))
                .unwrap_or_else(|| panic!("{fp_prefix}: {creds:#?}"))
        };
        // client_credentials, ttl 8h: the server's iat, not the line's ts (a few ms later).
        let cc = by("7fd395ed");
        assert_eq!(cc.issued_at, Some(t("2026-11-22T09:59:33Z")));
        assert_eq!(cc.expires_at, Some(t("2026-11-22T17:59:33Z")));
        // A refresh token of 3650 days, whose grant lives as long: exactly 3650 days.
        let rt = by("952a052a");
        assert_eq!(rt.kind, CredentialKind::RefreshToken);
        let days = (rt.expires_at.unwrap() - rt.issued_at.unwrap()).num_days();
        assert_eq!(days, 3650, "{rt:#?}");
        assert!(rt.attrs["grant_expires_at"].is_string());
    }

    #[test]
    fn a_token_dies_with_its_grant() {
        let lines: Vec<Value> = [
            r#"{"ts":"2026-11-22T09:57:41.165Z","event":"grant.saved","client_id":"dash","account_id":"alice","grant_id":"g1","detail":"exp=2026-12-06T09:57:41.000Z iat=2026-11-22T09:57:41.000Z"}"#,
            r#"{"ts":"2026-11-22T09:57:41.177Z","event":"refresh_token.saved","client_id":"dash","account_id":"alice","grant_id":"g1","fingerprint":"bb","detail":"exp=2026-12-22T09:57:41.000Z iat=2026-11-22T09:57:41.000Z"}"#,
            r#"{"ts":"2026-11-22T09:57:41.200Z","event":"refresh_token.saved","client_id":"dash","account_id":"bob","grant_id":"g2","fingerprint":"cc","detail":"exp=2026-12-22T09:57:41.000Z"}"#,
        ]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
        let creds = credentials_from_events(&lines);
        let bb = creds.iter().find(|c| c.external_id == "bb").unwrap();
        assert_eq!(bb.expires_at, Some(t("2026-12-06T09:57:41Z")));
        // No grant line: the token's own expiry, and the line's ts as issue time.
        let cc = creds.iter().find(|c| c.external_id == "cc").unwrap();
        assert_eq!(cc.expires_at, Some(t("2026-12-22T09:57:41Z")));
        assert_eq!(cc.issued_at, Some(t("2026-11-22T09:57:41.200Z")));
    }

    #[test]
    fn client_secrets_with_their_expiry_and_last_authentication() {
        let creds = credentials_from_events(&sandbox_lines());
        let secret = |id: &str| {
            creds
                .iter()
                .find(|c| c.external_id == format!("client_secret:{id}"))
                .unwrap_or_else(|| panic!("{id}: {creds:#?}"))
        };
        let ci = secret("ci-bot");
        assert_eq!(ci.kind, CredentialKind::ApiKey);
        assert_eq!(ci.expires_at, None, "secret_expires_at=none: never expires");
        assert_eq!(ci.attrs["never_expires"], true);
        assert_eq!(ci.principal_external_id.as_deref(), Some("client:ci-bot"));
        assert_eq!(ci.status, CredentialStatus::Active);
        // ci-bot got a token at /token (grant.success as ci-bot).
        assert!(ci.last_used_at.is_some());
        assert!(ci.attrs["last_authenticated_at"].is_string());
        let billing = secret("billing-api");
        assert_eq!(billing.expires_at, Some(t("2027-02-20T09:59:30Z")));
        assert_eq!(billing.attrs["never_expires"], false);
        // Every configured client, and nothing that looks like a secret value.
        assert_eq!(
            creds
                .iter()
                .filter(|c| c.external_id.starts_with("client_secret:"))
                .count(),
            10
        );
        for c in &creds {
            let text = serde_json::to_string(c).unwrap();
            assert!(!text.contains("client_secret\":"), "{text}");
        }
    }

    #[test]
    fn the_consoles_own_probe_is_not_a_use_of_its_secret() {
        let probe = crate::fingerprint(CONNECTIVITY_PROBE);
        let lines: Vec<Value> = [
            r#"{"ts":"2026-11-01T00:00:00Z","event":"client.configured","client_id":"console","detail":"secret_expires_at=none"}"#.to_string(),
            r#"{"ts":"2026-11-02T00:00:00Z","event":"revocation.request","client_id":"console","fingerprint":"aa","outcome":"allow"}"#.to_string(),
            format!(r#"{{"ts":"2026-11-03T00:00:00Z","event":"introspection.request","client_id":"console","fingerprint":"{probe}","outcome":"allow"}}"#),
            r#"{"ts":"2026-11-04T00:00:00Z","event":"introspection.request","client_id":"console","fingerprint":"bb","outcome":"deny"}"#.to_string(),
        ]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
        let creds = credentials_from_events(&lines);
        assert_eq!(creds[0].last_used_at, Some(t("2026-11-02T00:00:00Z")));
    }

    #[test]
    fn client_lines_decide_and_the_latest_wins() {
        let line = |ts: &str, detail: &str| -> Value {
            serde_json::from_str(&format!(
                r#"{{"ts":"{ts}","event":"client.configured","client_id":"app","detail":"{detail}"}}"#
            ))
            .unwrap()
        };
        let creds = credentials_from_events(&[
            line("2026-11-01T00:00:00Z", "secret_expires_at=none"),
            line(
                "2026-11-02T00:00:00Z",
                "secret_expires_at=2027-01-01T00:00:00.000Z auth_method=client_secret_post",
            ),
        ]);
        assert_eq!(creds.len(), 1);
        assert_eq!(creds[0].expires_at, Some(t("2027-01-01T00:00:00Z")));
        assert_eq!(creds[0].attrs["auth_method"], "client_secret_post");
        assert!(creds[0].last_used_at.is_none());
        // An expiry in the past: an expired secret. Unreadable or missing: no credential (not
        // "never expires").
        let creds = credentials_from_events(&[line(
            "2026-11-01T00:00:00Z",
            "secret_expires_at=2020-01-01T00:00:00Z",
        )]);
        assert_eq!(creds[0].status, CredentialStatus::Expired);
        for bad in ["secret_expires_at=soon", "auth_method=none", ""] {
            assert!(
                credentials_from_events(&[line("2026-11-01T00:00:00Z", bad)]).is_empty(),
                "{bad}"
            );
        }
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
