//! The file audit device's JSON lines → audit events.
//!
//! Only `response` entries are imported: each carries the request, the auth block and the error,
//! so it is the whole story of one call; `request` entries would count every call twice. Token
//! ids and accessors arrive HMAC'd; the accessor's HMAC is kept as the event's credential and
//! matched to a token through `sys/audit-hash` at sync time. Secrets a device logs unHMAC'd
//! (`log_raw`, `hmac_accessor=false`, non-HMAC'd keys) are redacted by [`crate::redact`].

use chrono::{DateTime, Utc};
use portcullis_model::{AuditEvent, Outcome};

use crate::jsonl::{parse_json_line, LineOutcome};
use crate::redact::{self, Format};

pub fn parse_line(line: &str, _line_no: u64) -> Result<LineOutcome, String> {
    let v = parse_json_line(line)?;
    let kind = v
        .get("type")
        .and_then(|t| t.as_str())
        .ok_or("no `type` field: not a Vault audit entry")?;
    if kind != "response" {
        return Ok(LineOutcome::Skip);
    }
    let at: DateTime<Utc> = v
        .get("time")
        .and_then(|t| t.as_str())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or("missing or invalid `time`")?;
    let request = v
        .get("request")
        .filter(|r| r.is_object())
        .ok_or("no `request` object")?;
    for (block, name) in [(Some(request), "request"), (v.get("auth"), "auth")] {
        expect_strings(block, name)?;
    }
    // A few internal entries carry no request id: the line itself is then its identity.
    let id = request
        .get("id")
        .and_then(|i| i.as_str())
        .map(str::to_string);
    let auth = v.get("auth");
    let s = |x: Option<&serde_json::Value>, key: &str| {
        x.and_then(|o| o.get(key))
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let error = error_text(&v)?;
    let outcome = if error.is_empty() {
        Outcome::Allow
    } else if error.contains("permission denied") {
        Outcome::Deny
    } else {
        Outcome::Error
    };
    let actor = s(auth.and_then(|a| a.get("metadata")), "username")
        .or_else(|| s(auth, "entity_id"))
        .or_else(|| s(auth, "display_name"));
    let mut event = AuditEvent {
        dedup_key: String::new(),
        at,
        actor,
        // A refused token (disabled entity, expired) leaves `auth` empty; the request still
        // names the token's accessor HMAC.
        credential: s(auth, "accessor").or_else(|| s(Some(request), "client_token_accessor")),
        action: s(Some(request), "operation").unwrap_or_else(|| "unknown".into()),
        resource: s(Some(request), "path"),
        outcome,
        source_ip: s(Some(request), "remote_address"),
        raw: v,
    };
    redact::event(&mut event, Format::Vault);
    let id = id.unwrap_or_else(|| redact::content_key(line, &event.raw));
    event.dedup_key = format!("{id}:response");
    Ok(LineOutcome::Event(Box::new(event)))
}

/// The entry's `error`: absent, null or a string. Anything else is refused rather than read as
/// "no error": an entry whose error cannot be read must not count as an allowed request.
fn error_text(v: &serde_json::Value) -> Result<&str, String> {
    match v.get("error") {
        None | Some(serde_json::Value::Null) => Ok(""),
        Some(serde_json::Value::String(s)) => Ok(s),
        Some(other) => Err(format!(
            "`error` is {}, expected a string",
            json_type(other)
        )),
    }
}

/// The fields an event is built from must be strings where present: a number or an object in
/// their place means the line is not what the parser understands, and is rejected with its number.
fn expect_strings(block: Option<&serde_json::Value>, name: &str) -> Result<(), String> {
    let Some(block) = block.filter(|b| !b.is_null()) else {
        return Ok(());
    };
    let obj = block
        .as_object()
        .ok_or_else(|| format!("`{name}` is {}, expected an object", json_type(block)))?;
    for key in [
        "id",
        "operation",
        "path",
        "remote_address",
        "client_token_accessor",
        "accessor",
        "display_name",
        "entity_id",
    ] {
        match obj.get(key) {
            None | Some(serde_json::Value::Null | serde_json::Value::String(_)) => {}
            Some(other) => {
                return Err(format!(
                    "`{name}.{key}` is {}, expected a string",
                    json_type(other)
                ))
            }
        }
    }
    Ok(())
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DENIED: &str = r#"{"time":"2026-11-22T07:01:18.579211518Z","type":"response","auth":{"accessor":"hmac-sha256:3f66","display_name":"userpass-bob","metadata":{"username":"bob"},"entity_id":"e976"},"request":{"id":"48087f7b","operation":"update","path":"secret/data/billing/db","remote_address":"127.0.0.1"},"error":"1 error occurred:\n\t* permission denied\n\n"}"#;

    #[test]
    fn denied_response_becomes_a_deny_event() {
        let LineOutcome::Event(ev) = parse_line(DENIED, 1).unwrap() else {
            panic!("expected an event")
        };
        assert_eq!(ev.outcome, Outcome::Deny);
        assert_eq!(ev.actor.as_deref(), Some("bob"));
        assert_eq!(ev.credential.as_deref(), Some("hmac-sha256:3f66"));
        assert_eq!(ev.resource.as_deref(), Some("secret/data/billing/db"));
        assert_eq!(ev.action, "update");
        assert_eq!(ev.dedup_key, "48087f7b:response");
    }

    #[test]
    fn request_entries_are_skipped_and_garbage_rejected() {
        let req = DENIED.replace("\"type\":\"response\"", "\"type\":\"request\"");
        assert!(matches!(parse_line(&req, 1), Ok(LineOutcome::Skip)));
        for bad in [
            "",
            "{",
            "[]",
            "{\"type\":3}",
            "{\"type\":\"response\"}",
            "{\"type\":\"response\",\"time\":\"nope\",\"request\":{\"id\":\"x\"}}",
        ] {
            assert!(parse_line(bad, 1).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_truncation_of_a_real_line_is_an_error_not_a_panic() {
        for cut in 0..DENIED.len() {
            if DENIED.is_char_boundary(cut) {
                let _ = parse_line(&DENIED[..cut], 1);
            }
        }
    }

    fn rejected(line: &str) -> String {
        match parse_line(line, 1) {
            Err(e) => e,
            Ok(_) => panic!("accepted: {line}"),
        }
    }

    #[test]
    fn an_error_that_is_not_a_string_is_rejected_not_allowed() {
        let line = DENIED.replace(
            r#""error":"1 error occurred:\n\t* permission denied\n\n""#,
            r#""error":{"code":403,"message":"permission denied"}"#,
        );
        assert_ne!(line, DENIED, "the test line did not change");
        let err = rejected(&line);
        assert!(err.contains("`error` is an object"), "{err}");
    }

    #[test]
    fn wrong_types_in_the_fields_an_event_is_built_from_are_rejected() {
        for (from, to, expect) in [
            (
                r#""path":"secret/data/billing/db""#,
                r#""path":["secret"]"#,
                "`request.path` is an array",
            ),
            (
                r#""operation":"update""#,
                r#""operation":7"#,
                "`request.operation` is a number",
            ),
            (
                r#""accessor":"hmac-sha256:3f66""#,
                r#""accessor":{"x":1}"#,
                "`auth.accessor` is an object",
            ),
        ] {
            let line = DENIED.replace(from, to);
            assert_ne!(line, DENIED, "{from} not in the test line");
            let err = rejected(&line);
            assert!(err.contains(expect), "{from}: {err}");
        }
        let line = DENIED.replace(r#""request":{"#, r#""request":"x","was":{"#);
        assert!(rejected(&line).contains("`request` object"));
    }
}
