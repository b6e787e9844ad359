//! Secrets never leave a line parser: for each audit format, a realistic line with a unique
//! canary planted in every place a backend puts a secret. After parsing, the whole serialized
//! event holds no canary, `raw.portcullis_redacted` names the places, tokens are named by their
//! fingerprint, and what is not secret (accessors, HMACs, names, paths, token types) is intact.

use portcullis_connectors::jsonl::LineOutcome;
use portcullis_connectors::{fingerprint, kong, kubernetes, oauth2, postgres, vault};
use portcullis_model::AuditEvent;
use serde_json::{json, Value};

const CANARY: &str = "CANARY-7f3a0c9d";

fn event(parse: fn(&str, u64) -> Result<LineOutcome, String>, line: &str) -> AuditEvent {
    match parse(line, 1) {
        Ok(LineOutcome::Event(e)) => *e,
        Ok(LineOutcome::Skip) => panic!("skipped: {line}"),
        Err(e) => panic!("{e}: {line}"),
    }
}

/// No canary anywhere in the event, and these paths among the marks.
fn assert_redacted(ev: &AuditEvent, paths: &[&str]) {
    let all = serde_json::to_string(ev).unwrap();
    assert!(!all.contains(CANARY), "a canary survived: {all}");
    let marks: Vec<&str> = ev.raw["portcullis_redacted"]
        .as_array()
        .unwrap_or_else(|| panic!("no marks: {all}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for p in paths {
        assert!(marks.contains(p), "{p} not in {marks:?}");
    }
}

fn token_mark(token: &str) -> String {
    format!("redacted:{}", fingerprint(token))
}

/// OpenBao's file device with `log_raw`: a userpass login (password in, token out) and an
/// AppRole login answered with a response-wrapping token.
#[test]
fn vault_raw_lines_lose_tokens_passwords_and_wrapping_tokens() {
    let login = format!(
        r#"{{"time":"2026-11-22T07:01:18.579211518Z","type":"response","auth":{{"client_token":"hvs.{CANARY}-auth","accessor":"hmac-sha256:3f66aa","display_name":"userpass-bob","policies":["default"],"token_policies":["default"],"metadata":{{"username":"bob"}},"entity_id":"e976","token_type":"service","token_ttl":2764800}},"request":{{"id":"6f1c2b7a","operation":"update","mount_type":"userpass","client_token":"","client_token_accessor":"","path":"auth/userpass/login/bob","data":{{"password":"{CANARY}-pw"}},"remote_address":"127.0.0.1","headers":{{"authorization":["Bearer {CANARY}-header"]}}}},"response":{{"mount_type":"userpass","auth":{{"client_token":"hvs.{CANARY}-new","accessor":"hmac-sha256:9a1b","display_name":"userpass-bob","token_type":"service","token_ttl":2764800,"num_uses":0}}}}}}"#
    );
    let ev = event(vault::parse_audit_line, &login);
    assert_redacted(
        &ev,
        &[
            "auth.client_token",
            "request.data.password",
            "request.headers.authorization[0]",
            "response.auth.client_token",
        ],
    );
    assert_eq!(
        ev.raw["auth"]["client_token"],
        token_mark(&format!("hvs.{CANARY}-auth"))
    );
    assert_eq!(ev.raw["request"]["data"]["password"], "redacted");
    assert_eq!(ev.raw["auth"]["accessor"], "hmac-sha256:3f66aa");
    assert_eq!(ev.raw["auth"]["token_type"], "service");
    assert_eq!(ev.raw["auth"]["token_ttl"], 2764800);
    assert_eq!(ev.raw["response"]["auth"]["accessor"], "hmac-sha256:9a1b");
    assert_eq!(ev.credential.as_deref(), Some("hmac-sha256:3f66aa"));
    assert_eq!(ev.actor.as_deref(), Some("bob"));
    assert_eq!(ev.resource.as_deref(), Some("auth/userpass/login/bob"));
    assert_eq!(ev.dedup_key, "6f1c2b7a:response");

    let wrapped = format!(
        r#"{{"time":"2026-11-22T07:01:19Z","type":"response","auth":null,"request":{{"id":"7a2c","operation":"update","path":"auth/approle/login","data":{{"role_id":"r-1","secret_id":"{CANARY}-sid"}},"wrap_ttl":300}},"response":{{"wrap_info":{{"token":"hvs.{CANARY}-wrap","accessor":"hmac-sha256:77","ttl":300,"creation_time":"2026-11-22T07:01:19Z","creation_path":"auth/approle/login","wrapped_accessor":"hmac-sha256:88"}}}}}}"#
    );
    let ev = event(vault::parse_audit_line, &wrapped);
    assert_redacted(&ev, &["request.data.secret_id", "response.wrap_info.token"]);
    assert_eq!(ev.raw["request"]["data"]["role_id"], "r-1");
    assert_eq!(
        ev.raw["response"]["wrap_info"]["accessor"],
        "hmac-sha256:77"
    );
    assert_eq!(
        ev.raw["response"]["wrap_info"]["wrapped_accessor"],
        "hmac-sha256:88"
    );
}

/// The default device HMACs every secret: nothing to redact, nothing marked.
#[test]
fn vault_hmacd_lines_are_left_as_they_are() {
    let line = r#"{"time":"2026-11-22T07:01:18Z","type":"response","auth":{"client_token":"hmac-sha256:aa","accessor":"hmac-sha256:bb","token_type":"service"},"request":{"id":"x1","operation":"read","client_token":"hmac-sha256:aa","path":"secret/data/a","data":{"password":"hmac-sha256:cc"}}}"#;
    let ev = event(vault::parse_audit_line, line);
    assert_eq!(ev.raw, serde_json::from_str::<Value>(line).unwrap());
}

/// PostgreSQL jsonlog with pgaudit: role passwords in the CSV `message`, in `statement` and
/// `query`, quoted with `''`, dollar quotes and `E''`.
#[test]
fn pgaudit_statements_lose_their_passwords() {
    let alter = json!({
        "timestamp": "2026-11-22 07:03:22.971 UTC", "user": "postgres", "dbname": "acme",
        "pid": 17001, "remote_host": "127.0.0.1", "session_id": "6b02.42b3", "line_num": 35,
        "ps": "ALTER ROLE", "error_severity": "LOG",
        "message": format!("AUDIT: SESSION,15,1,ROLE,ALTER ROLE,,,\"ALTER ROLE svc_reporting WITH PASSWORD 'it''s-{CANARY}, yes'\",<not logged>"),
        "statement": format!("ALTER ROLE svc_reporting WITH PASSWORD 'it''s-{CANARY}, yes'"),
        "query": format!("create user svc_new encrypted password $pw${CANARY}$pw$ valid until 'infinity'")
    })
    .to_string();
    let ev = event(postgres::parse_jsonlog_line, &alter);
    assert_redacted(&ev, &["message", "statement", "query"]);
    assert_eq!(
        ev.raw["statement"],
        "ALTER ROLE svc_reporting WITH PASSWORD 'redacted'"
    );
    assert_eq!(
        ev.raw["query"],
        "create user svc_new encrypted password 'redacted' valid until 'infinity'"
    );
    assert_eq!(ev.action, "ALTER ROLE");
    assert_eq!(ev.actor.as_deref(), Some("postgres"));
    assert_eq!(ev.dedup_key, "6b02.42b3:35");

    let create = json!({
        "timestamp": "2026-11-22 07:03:23.001 UTC", "user": "postgres", "dbname": "acme",
        "session_id": "6b02.42b3", "line_num": 36, "error_severity": "LOG",
        "message": format!("AUDIT: SESSION,16,1,ROLE,CREATE ROLE,,,CREATE USER svc_x PASSWORD E'a\\'{CANARY}',<not logged>")
    })
    .to_string();
    let ev = event(postgres::parse_jsonlog_line, &create);
    assert_redacted(&ev, &["message"]);
    assert_eq!(
        ev.raw["message"],
        "AUDIT: SESSION,16,1,ROLE,CREATE ROLE,,,CREATE USER svc_x PASSWORD 'redacted',<not logged>"
    );
}

/// node-oidc-provider: tokens in a redirect URI's fragment, a request URL's query, JSON fields
/// and an Authorization header.
#[test]
fn oidc_provider_lines_lose_tokens_in_urls_and_fields() {
    let line = json!({
        "ts": "2026-11-22T09:59:40.100Z", "event": "authorization.success", "client_id": "dash",
        "account_id": "alice", "grant_id": "g1", "scope": "openid", "fingerprint": null,
        "source_ip": "127.0.0.1", "outcome": "allow",
        "detail": format!("redirect_uri=https://dash.example/cb#access_token={CANARY}-at&token_type=Bearer&expires_in=3600&id_token={CANARY}-idt"),
        "url": format!("/token?grant_type=refresh_token&refresh_token={CANARY}-rt&client_secret={CANARY}-cs"),
        "access_token": format!("{CANARY}-field"),
        "token_type": "Bearer",
        "headers": {"authorization": format!("Basic {CANARY}"), "cookie": format!("_session={CANARY}")}
    })
    .to_string();
    let ev = event(oauth2::events::parse_line, &line);
    assert_redacted(
        &ev,
        &[
            "detail",
            "url",
            "access_token",
            "headers.authorization",
            "headers.cookie",
        ],
    );
    assert_eq!(
        ev.raw["detail"],
        format!(
            "redirect_uri=https://dash.example/cb#access_token={}&token_type=Bearer&expires_in=3600&id_token={}",
            token_mark(&format!("{CANARY}-at")),
            token_mark(&format!("{CANARY}-idt"))
        )
    );
    assert_eq!(
        ev.raw["access_token"],
        token_mark(&format!("{CANARY}-field"))
    );
    assert_eq!(ev.raw["token_type"], "Bearer");
    assert_eq!(ev.actor.as_deref(), Some("alice"));
    assert_eq!(ev.resource.as_deref(), Some("openid"));
}

/// The sandbox's own log holds no secret: parsing it marks nothing.
#[test]
fn oidc_provider_sandbox_lines_are_left_as_they_are() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/oidc-provider/oidc-events.sandbox.jsonl"
    ))
    .unwrap();
    for line in text.lines() {
        let ev = event(oauth2::events::parse_line, line);
        assert_eq!(ev.raw, serde_json::from_str::<Value>(line).unwrap());
    }
}

/// Kong's entry is rebuilt from known fields; the kept ones go through the rules too.
#[test]
fn kong_lines_keep_no_credential() {
    let line = json!({
        "request": {"method": "GET", "uri": format!("/orders?apikey={CANARY}"),
                    "url": format!("http://kong:8000/orders?access_token={CANARY}"),
                    "querystring": {"apikey": CANARY},
                    "headers": {"authorization": format!("Bearer {CANARY}"), "apikey": CANARY,
                                "cookie": format!("s={CANARY}"), "user-agent": "curl/8.5.0"}},
        "response": {"status": 200, "headers": {"set-cookie": format!("s={CANARY}")}},
        "route": {"name": "orders", "paths": ["/orders"]},
        "authenticated_entity": {"id": "cred-1"}, "consumer": {"id": "c-1"},
        "client_ip": "10.0.0.7", "started_at": 1614232668342_i64
    })
    .to_string();
    let ev = event(kong::log::line_outcome, &line);
    assert!(!serde_json::to_string(&ev).unwrap().contains(CANARY));
    assert_eq!(ev.credential.as_deref(), Some("cred-1"));
    assert_eq!(
        ev.raw["request"]["headers"]["kept"]["user-agent"],
        "curl/8.5.0"
    );
}

/// Kubernetes: a token in a kept `requestURI` (exec over a websocket with `access_token=`), a
/// status message echoing a header.
#[test]
fn kubernetes_lines_lose_tokens_in_kept_fields() {
    let line = json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": "a9",
        "stage": "ResponseComplete",
        "requestURI": format!("/api/v1/namespaces/ns1/pods/p1/exec?command=sh&stdin=true&access_token={CANARY}"),
        "verb": "create", "user": {"username": "bob", "groups": ["dev"]},
        "sourceIPs": ["10.0.0.9"],
        "objectRef": {"resource": "pods", "namespace": "ns1", "name": "p1", "subresource": "exec", "apiVersion": "v1"},
        "responseStatus": {"code": 401, "message": format!("invalid bearer token, Authorization: Bearer {CANARY}")},
        "requestReceivedTimestamp": "2024-05-01T10:00:00.000000Z",
        "stageTimestamp": "2024-05-01T10:00:00.002000Z",
        "annotations": {"authorization.k8s.io/decision": "forbid", "authorization.k8s.io/reason": ""}
    })
    .to_string();
    let ev = event(kubernetes::audit::line_outcome, &line);
    assert_redacted(&ev, &["requestURI", "responseStatus.message"]);
    assert_eq!(
        ev.raw["annotations"]["authorization.k8s.io/decision"],
        "forbid"
    );
    assert_eq!(ev.raw["user"]["username"], "bob");
    assert_eq!(ev.resource.as_deref(), Some("ns:ns1/core/pods/exec#p1"));
    assert_eq!(ev.dedup_key, "k8s:a9:ResponseComplete");
}
