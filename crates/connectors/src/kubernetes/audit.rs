//! Kubernetes audit logs (`audit.k8s.io` Events, one JSON object per line, as the log backend
//! writes them) → audit events.
//!
//! Both field generations are read: v1beta1-era `timestamp` and v1 `requestReceivedTimestamp` /
//! `stageTimestamp` (the event time is when the request was received). One request yields an
//! event per stage, so the dedup key is `k8s:{auditID}:{stage}`; an import ([`line_outcome`])
//! skips the opening stages (`RequestReceived`, `ResponseStarted`) so each request counts once.
//!
//! - actor: the impersonated user when there is one (that is whose rights were checked), else the
//!   user; the impersonator stays in `raw.user`;
//! - outcome: `authorization.k8s.io/decision: forbid` or a 401/403 response → deny; a 2xx/3xx
//!   response, or `decision: allow` with no response yet → allow; anything else (5xx, 404, a
//!   `RequestReceived` stage with neither) → error;
//! - resource: `ns:{namespace}/{group}/{resource}[/{subresource}][#{name}]` or
//!   `cluster/{group}/{resource}…` for cluster-scoped objects (the permission resource format of
//!   [`super::rules`]), `url:{path}` for non-resource requests.
//!
//! `requestObject` and `responseObject` are dropped from `raw`: at the RequestResponse level they
//! hold whole objects, Secrets included.

use chrono::{DateTime, Utc};
use portcullis_model::{AuditEvent, Outcome};
use serde_json::{json, Map, Value};

use super::rules::{resource_string, Scope};
use crate::jsonl::{LineOutcome, Rejection};

const DECISION: &str = "authorization.k8s.io/decision";
const REASON: &str = "authorization.k8s.io/reason";
const CREDENTIAL_ID: &str = "authentication.kubernetes.io/credential-id";

/// Parses one audit Event line. `line_no` is carried into the rejection.
pub fn parse_k8s_audit_line(line: &str, line_no: u64) -> Result<AuditEvent, Rejection> {
    let reject = |reason: String| Rejection {
        line: line_no,
        reason,
    };
    // serde_json's message ends with "at line L column C".
    let v: Value = serde_json::from_str(line).map_err(|e| reject(format!("invalid JSON: {e}")))?;
    let Some(obj) = v.as_object() else {
        return Err(reject("not a JSON object: not an audit Event".into()));
    };
    let s = |o: Option<&Value>, key: &str| {
        o.and_then(|x| x.get(key))
            .and_then(Value::as_str)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
    };
    match obj.get("kind").and_then(Value::as_str) {
        Some("Event") | None => {}
        Some("EventList") => {
            return Err(reject(
                "an EventList (webhook batch): import one Event per line".into(),
            ))
        }
        Some(other) => return Err(reject(format!("a `{other}`, not an audit Event"))),
    }
    let verb = s(Some(&v), "verb").ok_or_else(|| reject("no `verb`: not an audit Event".into()))?;
    let stage = s(Some(&v), "stage").unwrap_or_else(|| "ResponseComplete".into());
    let at: DateTime<Utc> = ["requestReceivedTimestamp", "timestamp", "stageTimestamp"]
        .iter()
        .find_map(|k| s(Some(&v), k).and_then(|t| DateTime::parse_from_rfc3339(&t).ok()))
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            reject("no valid `requestReceivedTimestamp`, `timestamp` or `stageTimestamp`".into())
        })?;
    let user = obj.get("user");
    let impersonated = obj.get("impersonatedUser");
    let actor = s(impersonated, "username").or_else(|| s(user, "username"));
    let credential = user
        .and_then(|u| u.get("extra"))
        .and_then(|e| e.get(CREDENTIAL_ID))
        .and_then(|c| c.get(0).or(Some(c)))
        .and_then(Value::as_str)
        .map(str::to_string);
    let annotations = obj.get("annotations");
    let decision = s(annotations, DECISION);
    let code = obj
        .get("responseStatus")
        .and_then(|r| r.get("code"))
        .and_then(Value::as_u64);
    let outcome = match (decision.as_deref(), code) {
        (Some("forbid"), _) | (_, Some(401)) | (_, Some(403)) => Outcome::Deny,
        (_, Some(200..=399)) => Outcome::Allow,
        (Some("allow"), None) => Outcome::Allow,
        _ => Outcome::Error,
    };
    let object_ref = obj.get("objectRef");
    let resource = match object_ref.and_then(|r| s(Some(r), "resource")) {
        Some(res) => {
            let r = object_ref;
            let scope = match s(r, "namespace") {
                Some(ns) => Scope::Namespace(ns),
                None => Scope::Cluster,
            };
            let group = s(r, "apiGroup").unwrap_or_default();
            Some(resource_string(
                &scope,
                &group,
                &res,
                s(r, "subresource").as_deref(),
                s(r, "name").as_deref(),
            ))
        }
        None => {
            s(Some(&v), "requestURI").map(|u| format!("url:{}", u.split('?').next().unwrap_or("")))
        }
    };
    let dedup_key = match s(Some(&v), "auditID") {
        Some(id) => format!("k8s:{id}:{stage}"),
        None => format!(
            "k8s:content:{}",
            crate::fingerprint(&crate::kong::log::canonical_json(&v))
        ),
    };
    let source_ip = obj
        .get("sourceIPs")
        .and_then(|a| a.get(0))
        .and_then(Value::as_str)
        .map(str::to_string);

    let mut raw = Map::new();
    for key in [
        "apiVersion",
        "level",
        "auditID",
        "stage",
        "requestURI",
        "verb",
        "user",
        "impersonatedUser",
        "sourceIPs",
        "userAgent",
        "objectRef",
        "annotations",
        "requestReceivedTimestamp",
        "stageTimestamp",
        "timestamp",
    ] {
        if let Some(x) = obj.get(key) {
            raw.insert(key.into(), x.clone());
        }
    }
    if let Some(rs) = obj.get("responseStatus") {
        let keep = |k: &str| rs.get(k).cloned().unwrap_or(Value::Null);
        raw.insert(
            "responseStatus".into(),
            json!({ "code": keep("code"), "status": keep("status"), "reason": keep("reason"), "message": keep("message") }),
        );
    }
    raw.insert("decision".into(), json!(decision));
    raw.insert("reason".into(), json!(s(annotations, REASON)));
    let mut event = AuditEvent {
        dedup_key,
        at,
        actor,
        credential,
        action: verb,
        resource,
        outcome,
        source_ip,
        raw: Value::Object(raw),
    };
    // The kept fields can still hold one: a `?token=` in `requestURI`, a status message.
    crate::redact::event(&mut event, crate::redact::Format::Kubernetes);
    Ok(event)
}

/// Stages that only open a request whose outcome a later stage tells; an import skips them so a
/// request is counted once (a policy that omits `ResponseComplete` should not omit these too).
pub const OPENING_STAGES: [&str; 2] = ["RequestReceived", "ResponseStarted"];

/// The adapter for [`crate::jsonl::read_jsonl`]: parses every line, skips [`OPENING_STAGES`].
pub fn line_outcome(line: &str, line_no: u64) -> Result<LineOutcome, String> {
    let ev = parse_k8s_audit_line(line, line_no).map_err(|r| r.reason)?;
    let stage = ev.raw.get("stage").and_then(Value::as_str).unwrap_or("");
    if OPENING_STAGES.contains(&stage) {
        return Ok(LineOutcome::Skip);
    }
    Ok(LineOutcome::Event(Box::new(ev)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbid_decision_wins_and_objects_are_dropped() {
        let line = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/ns1/secrets/db","verb":"get","user":{"username":"bob","extra":{"authentication.kubernetes.io/credential-id":["JTI=42"]}},"sourceIPs":["10.0.0.9"],"objectRef":{"resource":"secrets","namespace":"ns1","name":"db","apiVersion":"v1"},"responseStatus":{"code":403},"responseObject":{"data":{"password":"aHVudGVyMg=="}},"requestReceivedTimestamp":"2024-05-01T10:00:00.000000Z","stageTimestamp":"2024-05-01T10:00:00.002000Z","annotations":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":""}}"#;
        let ev = parse_k8s_audit_line(line, 1).unwrap();
        assert_eq!(ev.outcome, Outcome::Deny);
        assert_eq!(ev.dedup_key, "k8s:a1:ResponseComplete");
        assert_eq!(ev.resource.as_deref(), Some("ns:ns1/core/secrets#db"));
        assert_eq!(ev.credential.as_deref(), Some("JTI=42"));
        assert!(!ev.raw.to_string().contains("aHVudGVyMg"));
        assert_eq!(ev.raw["decision"], "forbid");
    }

    #[test]
    fn rejects_with_reasons() {
        assert!(parse_k8s_audit_line("{", 4)
            .unwrap_err()
            .reason
            .contains("line 1 column 1"));
        assert!(
            parse_k8s_audit_line(r#"{"kind":"EventList","items":[]}"#, 1)
                .unwrap_err()
                .reason
                .contains("EventList")
        );
        assert!(parse_k8s_audit_line(r#"{"kind":"Event","verb":"get"}"#, 1)
            .unwrap_err()
            .reason
            .contains("Timestamp"));
    }
}
