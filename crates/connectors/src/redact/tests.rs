use super::*;
use proptest::prelude::*;
use serde_json::json;

const CANARY: &str = "CANARY-7f3a9c1e5b";

fn fp_mark(token: &str) -> String {
    format!("redacted:{}", crate::fingerprint(token))
}

fn redacted(mut v: Value, format: Format) -> (Value, Vec<String>) {
    let marks = value(&mut v, format);
    (v, marks)
}

#[test]
fn secret_keys_go_and_describing_keys_stay() {
    let (v, marks) = redacted(
        json!({
            "auth": {"client_token": CANARY, "accessor": "acc-1", "token_type": "service",
                     "token_ttl": 60, "token_policies": ["default"], "num_uses": 0,
                     "client_token_accessor": "acc-2", "token_id": "jti-1"},
            "password": CANARY, "Client-Secret": 123, "secret_id": CANARY,
            "secret_id_accessor": "acc-3", "expires_in": 300, "private": true,
            "Set-Cookie": [CANARY, CANARY], "X-Vault-Token": CANARY, "refresh_token": null
        }),
        Format::Vault,
    );
    assert!(!v.to_string().contains(CANARY), "{v}");
    assert_eq!(v["auth"]["client_token"], fp_mark(CANARY));
    assert_eq!(v["X-Vault-Token"], fp_mark(CANARY));
    assert_eq!(v["password"], "redacted");
    assert_eq!(v["Client-Secret"], "redacted");
    assert_eq!(v["secret_id"], "redacted");
    for (path, kept) in [
        ("/auth/accessor", json!("acc-1")),
        ("/auth/token_type", json!("service")),
        ("/auth/token_ttl", json!(60)),
        ("/auth/token_policies", json!(["default"])),
        ("/auth/num_uses", json!(0)),
        ("/auth/client_token_accessor", json!("acc-2")),
        ("/auth/token_id", json!("jti-1")),
        ("/secret_id_accessor", json!("acc-3")),
        ("/expires_in", json!(300)),
        ("/private", json!(true)),
        ("/refresh_token", Value::Null),
    ] {
        assert_eq!(v.pointer(path), Some(&kept), "{path}");
    }
    assert!(marks.contains(&"Set-Cookie[1]".to_string()), "{marks:?}");
    assert_eq!(v[MARK_KEY].as_array().map(Vec::len), Some(marks.len()));
}

#[test]
fn hmacs_and_earlier_redactions_are_kept() {
    let original = json!({"auth": {"client_token": "hmac-sha256:abc"}, "token": fp_mark("x"),
                          "password": "redacted", "authorization": "Bearer hmac-sha256:1"});
    let (v, marks) = redacted(original.clone(), Format::Vault);
    assert_eq!(v, original);
    assert!(marks.is_empty());
}

#[test]
fn authorization_values_keep_their_scheme() {
    let (v, _) = redacted(
        json!({"headers": {"authorization": [format!("Bearer {CANARY}")],
                           "Proxy-Authorization": "Basic dXNlcjpwYXNz", "cookie": "a=b"}}),
        Format::Kong,
    );
    assert_eq!(
        v["headers"]["authorization"][0],
        format!("Bearer {}", fp_mark(CANARY))
    );
    assert_eq!(v["headers"]["Proxy-Authorization"], "Basic redacted");
    assert_eq!(v["headers"]["cookie"], "redacted");
}

#[test]
fn vault_data_subtrees_are_secret_except_what_describes() {
    let (v, _) = redacted(
        json!({"request": {"data": {"password": CANARY, "api": CANARY, "ttl": "1h",
                                    "policies": "a,b", "period": "24h", "username": "bob"}},
               "response": {"data": {"id": CANARY, "accessor": "acc", "data": {"k": CANARY}}},
               "auth": {"metadata": {"username": "bob"}}}),
        Format::Vault,
    );
    assert!(!v.to_string().contains(CANARY), "{v}");
    assert_eq!(v["request"]["data"]["ttl"], "1h");
    assert_eq!(v["request"]["data"]["period"], "24h");
    assert_eq!(v["request"]["data"]["username"], "bob");
    assert_eq!(v["response"]["data"]["accessor"], "acc");
    // Other formats do not treat `data` as secret.
    let (v, _) = redacted(json!({"request": {"data": {"api": "x"}}}), Format::Kong);
    assert_eq!(v["request"]["data"]["api"], "x");
}

#[test]
fn sql_password_literals() {
    for (statement, want) in [
        (
            "ALTER ROLE bob PASSWORD 'it''s-CANARY'",
            "ALTER ROLE bob PASSWORD 'redacted'",
        ),
        (
            "CREATE USER x WITH ENCRYPTED password E'a\\'CANARY' VALID UNTIL 'infinity'",
            "CREATE USER x WITH ENCRYPTED password 'redacted' VALID UNTIL 'infinity'",
        ),
        (
            "create role y login password $q$CANARY$q$; select 1",
            "create role y login password 'redacted'; select 1",
        ),
        (
            "ALTER USER z PASSWORD $$CANARY$$",
            "ALTER USER z PASSWORD 'redacted'",
        ),
        (
            "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'u', password 'CANARY')",
            "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'u', password 'redacted')",
        ),
        (
            "ALTER ROLE bob PASSWORD 'CANARY unterminated",
            "ALTER ROLE bob PASSWORD 'redacted'",
        ),
    ] {
        assert_eq!(text(statement).as_deref(), Some(want), "{statement}");
    }
    for kept in [
        "password authentication failed for user \"bob\"",
        "ALTER ROLE bob PASSWORD NULL",
        "PREPARE p AS ALTER ROLE bob PASSWORD $1",
        "User \"x\" has an expired password.",
    ] {
        assert_eq!(text(kept), None, "{kept}");
    }
}

/// pgaudit with `log_parameter = on`: a password bound to a placeholder is in the PARAMETER
/// field, which goes whole; other statements' parameters stay.
#[test]
fn pgaudit_parameters_of_a_password_placeholder() {
    let line = format!(
        "AUDIT: SESSION,3,1,ROLE,ALTER ROLE,,,\"ALTER ROLE \"\"app,1\"\" PASSWORD  $1 VALID UNTIL $2\",\"{CANARY},2027-01-01\""
    );
    assert_eq!(
        text(&line).as_deref(),
        Some("AUDIT: SESSION,3,1,ROLE,ALTER ROLE,,,\"ALTER ROLE \"\"app,1\"\" PASSWORD  $1 VALID UNTIL $2\",redacted")
    );
    for kept in [
        "AUDIT: SESSION,3,1,ROLE,ALTER ROLE,,,ALTER ROLE app PASSWORD $1,<not logged>",
        "AUDIT: SESSION,4,1,READ,SELECT,,,\"SELECT * FROM t WHERE id = $1\",42",
        "AUDIT: SESSION,3,1,ROLE,ALTER ROLE,,,ALTER ROLE app PASSWORD $1,redacted",
        "AUDIT: a,b",
    ] {
        assert_eq!(text(kept), None, "{kept}");
    }
}

#[test]
fn headers_bearer_and_basic_in_text() {
    let t =
        format!("GET /x HTTP/1.1\r\nAuthorization: Bearer {CANARY}\r\nCookie: sid={CANARY}\r\n");
    let out = text(&t).unwrap_or_default();
    assert!(!out.contains(CANARY), "{out}");
    assert!(out.contains(&format!("Authorization: Bearer {}", fp_mark(CANARY))));
    assert!(out.contains("Cookie: redacted\r\n"));
    let curl =
        format!("curl -H 'X-Vault-Token: {CANARY}' -H \"authorization: basic dXNlcjpwYXNz\"");
    let out = text(&curl).unwrap_or_default();
    assert!(
        !out.contains(CANARY) && !out.contains("dXNlcjpwYXNz"),
        "{out}"
    );
    let log = format!("upstream said: bearer {CANARY}abcdef, retrying");
    assert_eq!(
        text(&log),
        Some(format!(
            "upstream said: bearer {}, retrying",
            fp_mark(&format!("{CANARY}abcdef"))
        ))
    );
    for kept in [
        "bearer tokens are opaque",
        "basic auth is off",
        "token_type: bearer",
    ] {
        assert_eq!(text(kept), None, "{kept}");
    }
}

#[test]
fn credential_parameters_in_urls_forms_and_connection_strings() {
    let url = format!(
        "https://app.example/cb?state=s1&code={CANARY}&x=1#access_token={CANARY}%2B&token_type=Bearer"
    );
    let out = text(&url).unwrap_or_default();
    assert_eq!(
        out,
        format!(
            "https://app.example/cb?state=s1&code={}&x=1#access_token={}&token_type=Bearer",
            fp_mark(CANARY),
            fp_mark(&format!("{CANARY}+"))
        )
    );
    let form = format!("grant_type=client_credentials&client_secret={CANARY}&scope=a");
    assert_eq!(
        text(&form).as_deref(),
        Some("grant_type=client_credentials&client_secret=redacted&scope=a")
    );
    let conninfo = format!("host=db user=app password='{CANARY} x\\'y' dbname=acme");
    assert_eq!(
        text(&conninfo).as_deref(),
        Some("host=db user=app password='redacted' dbname=acme")
    );
    let urls = format!(
        "could not connect to postgres://app:{CANARY}@db:5432/acme; proxy https://u:{CANARY}x@p.example/"
    );
    assert_eq!(
        text(&urls).as_deref(),
        Some("could not connect to postgres://app:redacted@db:5432/acme; proxy https://u:redacted@p.example/")
    );
    for kept in [
        "https://db.example:5432/acme",
        "mailto:ops@example.com",
        "postgres://app@db/acme",
        "postgres://app:redacted@db/acme",
        "secret_expires_at=2027-02-20T09:59:30.000Z auth_method=client_secret_basic",
        "exp=none aud=x",
        "process exited with code=1",
        "token_type=bearer&expires_in=300",
    ] {
        assert_eq!(text(kept), None, "{kept}");
    }
}

#[test]
fn events_have_their_fields_redacted_and_marked() {
    let mut ev = AuditEvent {
        dedup_key: "k".into(),
        at: chrono::Utc::now(),
        actor: Some("bob".into()),
        credential: None,
        action: format!("GET /cb?access_token={CANARY}"),
        resource: Some(format!("ALTER ROLE x PASSWORD '{CANARY}'")),
        outcome: portcullis_model::Outcome::Allow,
        source_ip: None,
        raw: json!({"ok": 1}),
    };
    event(&mut ev, Format::Pgaudit);
    assert!(!serde_json::to_string(&ev).unwrap().contains(CANARY));
    assert_eq!(ev.actor.as_deref(), Some("bob"));
    assert_eq!(ev.raw[MARK_KEY], json!(["@resource", "@action"]));
}

#[test]
fn depth_and_marks_are_bounded() {
    let mut deep = json!("leaf");
    for _ in 0..200 {
        deep = json!({ "a": deep });
    }
    let (v, marks) = redacted(deep, Format::Kong);
    assert_eq!(marks.len(), 1);
    assert_eq!(v.pointer(&"/a".repeat(MAX_DEPTH)), Some(&json!("redacted")));
    let many: Vec<Value> = (0..500).map(|i| json!(format!("s{i}"))).collect();
    let (_, marks) = redacted(json!({ "password": many }), Format::Kong);
    assert_eq!(marks.len(), MAX_MARKS + 1);
}

/// Found by fuzzing: a long hostile key over many secret leaves was repeated in every listed
/// path, so 700 bytes of line became 4 KB of `raw` (and 1 MB would have become 100 MB).
#[test]
fn listed_paths_do_not_repeat_a_long_key() {
    let key = "k\u{1b}".repeat(50_000);
    let leaves: Vec<Value> = (0..500).map(|i| json!(format!("s{i}"))).collect();
    let line = json!({ "a": { key.clone(): { "password": leaves } } });
    let line_len = line.to_string().len();
    let (v, marks) = redacted(line, Format::Kong);
    assert_eq!(marks.len(), MAX_MARKS + 1);
    assert!(marks
        .iter()
        .all(|m| m.len() <= MAX_MARK_LEN + '…'.len_utf8()));
    assert!(marks[0].starts_with("a[\"k"), "{}", marks[0]);
    // Each leaf grows by `redacted`; each listed path by at most six bytes per byte (JSON escapes).
    let growth = v.to_string().len().saturating_sub(line_len);
    assert!(
        growth < 500 * 8 + (MAX_MARKS + 1) * (6 * MAX_MARK_LEN + 8),
        "{growth}"
    );
    let wide = "é".repeat(MAX_MARK_LEN);
    let (_, marks) = redacted(json!({ wide: { "token": "abc" } }), Format::Kong);
    assert!(marks[0].contains('…') && marks[0].len() <= MAX_MARK_LEN + 3);
}

#[test]
fn every_pattern_compiles() {
    for re in [
        &text::SECRET_HEADER,
        &text::AUTHORIZATION_HEADER,
        &text::TOKEN_HEADER,
        &text::BEARER,
        &text::BASIC,
        &text::PARAMETER,
        &text::USERINFO,
    ] {
        assert!(re.is_some());
    }
}

#[test]
fn content_keys_use_the_line_unless_something_was_redacted() {
    let line = r#"{"a":1}"#;
    assert_eq!(
        content_key(line, &json!({"a": 1})),
        crate::jsonl::content_key(line)
    );
    let redacted = json!({"password": "redacted", MARK_KEY: ["password"]});
    let secret_line = format!(r#"{{"password":"{CANARY}"}}"#);
    assert_eq!(
        content_key(&secret_line, &redacted),
        crate::jsonl::content_key(&redacted.to_string())
    );
}

#[test]
fn cases_the_property_tests_found_are_stable() {
    for s in [
        "access_token='\\",
        "password$$$$'",
        "access_token=X-Vault-Token: Authorization: Authorization: E'",
        "X-Vault-Token: Authorization: hmac-sha256:Authorization: E'",
    ] {
        let once = text(s).unwrap_or_else(|| s.to_string());
        assert_eq!(text(&once), None, "{s:?} → {once:?}");
    }
}

/// Strings built from the pieces the rules look for, so the search reaches them.
fn tricky_string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("password".to_string()),
        Just("PASSWORD ".to_string()),
        Just("'".to_string()),
        Just("''".to_string()),
        Just("E'".to_string()),
        Just("$$".to_string()),
        Just("$q$".to_string()),
        Just("\\".to_string()),
        Just("Bearer ".to_string()),
        Just("basic ".to_string()),
        Just("dXNlcjpwYXNz".to_string()),
        Just("Authorization: ".to_string()),
        Just("Cookie:".to_string()),
        Just("X-Vault-Token: ".to_string()),
        Just("access_token=".to_string()),
        Just("code=".to_string()),
        Just("client_secret=".to_string()),
        Just("&".to_string()),
        Just("?".to_string()),
        Just(" ".to_string()),
        Just("\"".to_string()),
        Just("redacted".to_string()),
        Just(fp_mark("x")),
        Just("hmac-sha256:".to_string()),
        "[A-Za-z0-9._~+/=%-]{0,24}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("password".to_string()),
        Just("client_token".to_string()),
        Just("token_type".to_string()),
        Just("authorization".to_string()),
        Just("cookie".to_string()),
        Just("data".to_string()),
        Just("request".to_string()),
        Just("response".to_string()),
        Just("id".to_string()),
        Just(MARK_KEY.to_string()),
        any::<String>(),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_map(|f| json!(f)),
        any::<i64>().prop_map(|i| json!(i)),
        tricky_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn text_never_panics_and_is_idempotent(s in tricky_string()) {
        let once = text(&s).unwrap_or_else(|| s.clone());
        prop_assert_eq!(text(&once), None, "{:?} → {:?}", s, once);
    }

    #[test]
    fn values_never_panic_and_are_idempotent(v in json_value()) {
        for format in [Format::Vault, Format::Keycloak] {
            let mut once = v.clone();
            value(&mut once, format);
            let mut twice = once.clone();
            let marks = value(&mut twice, format);
            prop_assert!(marks.is_empty(), "{:?}", marks);
            prop_assert_eq!(&twice, &once);
        }
    }
}

#[test]
fn vendor_prefixed_tokens_go_wherever_they_stand() {
    let gl = "glpat-abcdefghij0123456789XYZ";
    let gh = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
    let (v, marks) = redacted(
        json!({"event_name": gl, "details": {"custom_message": format!("leaked {gh} in a commit")}}),
        Format::GitLab,
    );
    assert_eq!(v["event_name"], fp_mark(gl));
    assert_eq!(
        v["details"]["custom_message"],
        format!("leaked {} in a commit", fp_mark(gh))
    );
    assert_eq!(marks.len(), 2, "{marks:?}");
    // Prose and ids that only start alike stay.
    for kept in ["glpat-short", "github", "ghost_user", "glance at acme/api"] {
        let (v, marks) = redacted(json!({ "name": kept }), Format::GitLab);
        assert_eq!(v["name"], kept);
        assert!(marks.is_empty());
    }
}

#[test]
fn hoop_api_keys_go_but_their_masked_form_stays() {
    // The shape hoop generates: `hpk_` + 32 random bytes in unpadded base64url.
    let key = "hpk_Q2hhbmdlLW1lLXRoaXMtaXMtbm90LWEtcmVhbC1rZXkx_-A";
    let (v, marks) = redacted(
        json!({"http_path": "/api/sessions", "note": format!("curl -H 'Authorization: {key}'")}),
        Format::Hoop,
    );
    assert!(!v.to_string().contains(key), "{v}");
    assert!(!marks.is_empty());
    let masked = "hpk_1nzb***************************************";
    let (v, marks) = redacted(json!({ "masked_key": masked }), Format::Hoop);
    assert_eq!(v["masked_key"], masked);
    assert!(marks.is_empty(), "{marks:?}");
}

#[test]
fn a_token_shaped_event_id_does_not_reach_the_dedup_key() {
    let key = "hpk_Q2hhbmdlLW1lLXRoaXMtaXMtbm90LWEtcmVhbC1rZXkx_-A";
    let ev = || {
        crate::hoop::audit::map_session(&json!({"id": key, "start_date": "2026-12-01T10:00:00Z"}))
            .unwrap()
    };
    let (a, b) = (ev(), ev());
    assert!(!a.dedup_key.contains(key), "{}", a.dedup_key);
    assert_eq!(a.dedup_key, b.dedup_key, "the same event keeps one key");
}
