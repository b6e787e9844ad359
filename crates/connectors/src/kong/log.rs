//! Kong's log serializer output (file-log lines, http-log bodies, tcp-log…) → audit events.
//!
//! One JSON object per line is one proxied request: who (`consumer`, `authenticated_entity` =
//! the credential), what (`request.method`, `route`, `service`), how it ended
//! (`response.status`: 2xx/3xx allow, 401/403 deny, anything else error), from where
//! (`client_ip`) and when (`started_at`, epoch milliseconds).
//!
//! Kong logs request headers and the query string as received, so a log line can hold an API
//! key or an `Authorization` header. The event's `raw` is therefore rebuilt from known fields
//! only: header values other than a short list of harmless ones, query-string values and any
//! custom fields are dropped. The dedup key is the SHA-256 of the entry's canonical JSON (keys
//! sorted, no whitespace), so the same entry re-imported — or pretty-printed — keeps its key.

use chrono::{DateTime, Utc};
use portcullis_model::{AuditEvent, Outcome};
use serde_json::{json, Map, Value};

use super::inventory::kong_time;
use crate::jsonl::{LineOutcome, Rejection};

/// Headers whose values are kept in `raw`; every other header keeps only its name.
const SAFE_HEADERS: &[&str] = &[
    "host",
    "user-agent",
    "accept",
    "accept-encoding",
    "content-type",
    "content-length",
    "connection",
    "date",
    "server",
    "via",
    "x-kong-proxy-latency",
    "x-kong-upstream-latency",
    "x-kong-request-id",
    "x-request-id",
];

/// Parses one serialized Kong log entry. `line_no` is carried into the rejection.
pub fn parse_kong_log_line(line: &str, line_no: u64) -> Result<AuditEvent, Rejection> {
    let reject = |reason: String| Rejection {
        line: line_no,
        reason,
    };
    // serde_json's message ends with "at line L column C".
    let v: Value = serde_json::from_str(line).map_err(|e| reject(format!("invalid JSON: {e}")))?;
    let obj = match &v {
        Value::Object(o) => o,
        Value::Array(_) => {
            return Err(reject(
                "a JSON array (an http-log batch?): import one log entry per line".into(),
            ))
        }
        _ => return Err(reject("not a JSON object: not a Kong log entry".into())),
    };
    let request = obj
        .get("request")
        .filter(|r| r.is_object())
        .ok_or_else(|| reject("no `request` object: not a Kong log entry".into()))?;
    let at: DateTime<Utc> = kong_time(obj.get("started_at"))
        .ok_or_else(|| reject("missing or invalid `started_at`".into()))?;
    let status = obj
        .get("response")
        .and_then(|r| r.get("status"))
        .and_then(Value::as_u64);
    let outcome = match status {
        Some(200..=399) => Outcome::Allow,
        Some(401) | Some(403) => Outcome::Deny,
        _ => Outcome::Error,
    };
    let str_at = |v: Option<&Value>, key: &str| {
        v.and_then(|o| o.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let named = |kind: &str, entity: Option<&Value>| {
        str_at(entity, "name")
            .or_else(|| str_at(entity, "id"))
            .map(|n| format!("{kind}:{n}"))
    };
    let resource = named("route", obj.get("route"))
        .or_else(|| named("service", obj.get("service")))
        .or_else(|| str_at(Some(request), "uri").map(|u| strip_query(&u)));
    // The key covers the whole entry, secrets redacted first: a hash of the raw entry would let
    // anyone with the cache test guesses of a password or a key that the entry carried.
    let mut keyed = v.clone();
    crate::redact::value(&mut keyed, crate::redact::Format::Kong);
    let mut event = AuditEvent {
        dedup_key: format!("kong:{}", crate::fingerprint(&canonical_json(&keyed))),
        at,
        actor: str_at(obj.get("consumer"), "id"),
        credential: str_at(obj.get("authenticated_entity"), "id"),
        action: str_at(Some(request), "method").unwrap_or_else(|| "UNKNOWN".into()),
        resource,
        outcome,
        source_ip: str_at(Some(&v), "client_ip"),
        raw: sanitized(obj),
    };
    // The kept fields (a route's name, a custom `source`) can still hold a credential.
    crate::redact::event(&mut event, crate::redact::Format::Kong);
    Ok(event)
}

/// The adapter for [`crate::jsonl::read_jsonl`].
pub fn line_outcome(line: &str, line_no: u64) -> Result<LineOutcome, String> {
    parse_kong_log_line(line, line_no)
        .map(|e| LineOutcome::Event(Box::new(e)))
        .map_err(|r| r.reason)
}

fn strip_query(s: &str) -> String {
    s.split(['?', '#']).next().unwrap_or("").to_string()
}

fn filtered_headers(headers: Option<&Value>) -> Value {
    let Some(h) = headers.and_then(Value::as_object) else {
        return Value::Null;
    };
    let mut kept = Map::new();
    let mut dropped = Vec::new();
    for (name, value) in h {
        if SAFE_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            kept.insert(name.clone(), value.clone());
        } else {
            dropped.push(Value::String(name.clone()));
        }
    }
    json!({ "kept": kept, "redacted": dropped })
}

/// The entry without header values that may carry credentials, query-string values or custom
/// fields.
fn sanitized(obj: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for key in [
        "route",
        "service",
        "consumer",
        "authenticated_entity",
        "latencies",
        "tries",
        "client_ip",
        "workspace",
        "workspace_name",
        "started_at",
        "upstream_status",
        "source",
    ] {
        if let Some(v) = obj.get(key) {
            out.insert(key.to_string(), v.clone());
        }
    }
    if let Some(u) = obj.get("upstream_uri").and_then(Value::as_str) {
        out.insert("upstream_uri".into(), json!(strip_query(u)));
    }
    if let Some(req) = obj.get("request") {
        let s = |k: &str| req.get(k).cloned().unwrap_or(Value::Null);
        let query_keys: Vec<Value> = req
            .get("querystring")
            .and_then(Value::as_object)
            .map(|q| q.keys().map(|k| Value::String(k.clone())).collect())
            .unwrap_or_default();
        out.insert(
            "request".into(),
            json!({
                "method": s("method"),
                "uri": req.get("uri").and_then(Value::as_str).map(strip_query),
                "url": req.get("url").and_then(Value::as_str).map(strip_query),
                "size": s("size"),
                "querystring_keys": query_keys,
                "headers": filtered_headers(req.get("headers")),
            }),
        );
    }
    if let Some(resp) = obj.get("response") {
        out.insert(
            "response".into(),
            json!({
                "status": resp.get("status").cloned().unwrap_or(Value::Null),
                "size": resp.get("size").cloned().unwrap_or(Value::Null),
                "headers": filtered_headers(resp.get("headers")),
            }),
        );
    }
    out.insert("redacted".into(), json!(true));
    Value::Object(out)
}

/// JSON with object keys sorted and no insignificant whitespace, independent of serde_json's
/// map feature flags, so a hash of it is stable.
pub(crate) fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(x) = m.get(k) {
                    write_canonical(x, out);
                }
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_outcomes() {
        for (status, outcome) in [
            (200, Outcome::Allow),
            (302, Outcome::Allow),
            (401, Outcome::Deny),
            (403, Outcome::Deny),
            (404, Outcome::Error),
            (429, Outcome::Error),
            (502, Outcome::Error),
        ] {
            let line = format!(
                r#"{{"request":{{"method":"GET","uri":"/x?apikey=s3cret","headers":{{"apikey":"s3cret"}}}},"response":{{"status":{status}}},"started_at":1614232668342}}"#
            );
            let ev = parse_kong_log_line(&line, 7).unwrap();
            assert_eq!(ev.outcome, outcome, "{status}");
            assert_eq!(ev.resource.as_deref(), Some("/x"));
            assert!(!ev.raw.to_string().contains("s3cret"));
        }
    }

    #[test]
    fn rejections_carry_the_line_and_position() {
        let err = parse_kong_log_line("{\"request\": ", 12).unwrap_err();
        assert_eq!(err.line, 12);
        assert!(err.reason.contains("line 1 column 12"), "{}", err.reason);
        let err = parse_kong_log_line("[1,2]", 3).unwrap_err();
        assert!(err.reason.contains("array"));
        let err = parse_kong_log_line(r#"{"request":{}}"#, 3).unwrap_err();
        assert!(err.reason.contains("started_at"));
    }

    /// The dedup key must not be a hash of the secrets the entry carried: two entries that differ
    /// only in a password get one key (which then tells nothing about either password).
    #[test]
    fn the_dedup_key_tells_nothing_about_a_password() {
        let line = |pw: &str| {
            format!(
                r#"{{"started_at":1700000000000,"client_ip":"10.0.0.1","request":{{"method":"GET","uri":"/x","headers":{{"x-password":"{pw}"}}}},"response":{{"status":200}}}}"#
            )
        };
        let a = parse_kong_log_line(&line("hunter2"), 1).unwrap();
        let b = parse_kong_log_line(&line("correct horse battery staple"), 2).unwrap();
        assert_eq!(a.dedup_key, b.dedup_key);
        assert!(!serde_json::to_string(&a).unwrap().contains("hunter2"));
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[1,{"z":0,"y":"\""}],"c":null}}"#).unwrap();
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"c":null,"d":[1,{"y":"\"","z":0}]},"b":1}"#
        );
    }
}
