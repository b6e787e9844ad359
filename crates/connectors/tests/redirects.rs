//! A backend that redirects must never make the console send its credential (or a token under
//! triage) to another origin. Two local mock servers stand in: `home` is the configured backend
//! and answers every request with a redirect; `elsewhere` records whatever reaches it. Neither is
//! a real backend: the property under test is the HTTP client's, shared by every connector.

use portcullis_connectors::{build, BackendConfig, ConnectorError, DEFAULT_TIMEOUT};
use portcullis_model::{BackendKind, ErrorCode};
use secrecy::SecretString;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "console-secret-c4n4ry";

struct Pair {
    home: MockServer,
    elsewhere: MockServer,
}

impl Pair {
    /// `home` answers everything with `status` and a `Location` on `elsewhere`.
    async fn redirecting(status: u16) -> Pair {
        let home = MockServer::start().await;
        let elsewhere = MockServer::start().await;
        Mock::given(any())
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("Location", format!("{}/stolen", elsewhere.uri()).as_str()),
            )
            .mount(&home)
            .await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
            .mount(&elsewhere)
            .await;
        Pair { home, elsewhere }
    }

    async fn assert_nothing_reached_elsewhere(&self, what: &str) {
        let got = self.elsewhere.received_requests().await.unwrap_or_default();
        assert!(
            got.is_empty(),
            "{what}: {} request(s) reached the other origin",
            got.len()
        );
        assert!(
            !self
                .home
                .received_requests()
                .await
                .unwrap_or_default()
                .is_empty(),
            "{what}: the backend itself was never asked, so the test proves nothing"
        );
    }
}

fn config(kind: BackendKind, url: String) -> BackendConfig {
    BackendConfig {
        name: "b".into(),
        kind,
        url,
        secret: Some(SecretString::from(SECRET.to_string())),
        timeout: DEFAULT_TIMEOUT,
        audit_log: None,
    }
}

fn url_for(kind: BackendKind, home: &str) -> String {
    match kind {
        BackendKind::Oauth2 => home.replacen("http://", "http://console@", 1),
        BackendKind::Keycloak => format!(
            "{}/realms/acme",
            home.replacen("http://", "http://console@", 1)
        ),
        _ => home.to_string(),
    }
}

fn assert_refused(what: &str, err: &ConnectorError) {
    assert_eq!(err.code(), ErrorCode::Redirected, "{what}: {err}");
    assert!(err.to_string().contains("refused"), "{what}: {err}");
}

#[tokio::test]
async fn no_connector_follows_a_redirect_to_another_origin() {
    for status in [301, 302, 307, 308] {
        for kind in [
            BackendKind::Vault,
            BackendKind::Oauth2,
            BackendKind::Keycloak,
            BackendKind::Kong,
            BackendKind::Kubernetes,
        ] {
            let pair = Pair::redirecting(status).await;
            let c = build(config(kind, url_for(kind, &pair.home.uri()))).unwrap();
            let what = format!("{kind:?} check, HTTP {status}");
            match c.check().await {
                Err(e) => assert_refused(&what, &e),
                Ok(report) => {
                    let text = serde_json::to_string(&report).unwrap();
                    assert!(text.contains("redirect"), "{what}: {text}");
                }
            }
            pair.assert_nothing_reached_elsewhere(&what).await;
        }
    }
}

#[tokio::test]
async fn a_pasted_token_is_not_posted_to_another_origin() {
    let pair = Pair::redirecting(307).await;
    let vault = build(config(BackendKind::Vault, pair.home.uri())).unwrap();
    let pasted = SecretString::from("hvs.pasted-token-c4n4ry".to_string());
    let err = vault.lookup_token(&pasted).await.unwrap_err();
    assert_refused("vault triage", &err);
    pair.assert_nothing_reached_elsewhere("vault triage").await;
}

#[tokio::test]
async fn a_redirect_inside_the_origin_is_followed() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::path("/v1/auth/token/lookup-self"))
        .respond_with(ResponseTemplate::new(307).insert_header("Location", "/v1/moved"))
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::path("/v1/moved"))
        .respond_with(ResponseTemplate::new(403).set_body_string(r#"{"errors":["moved"]}"#))
        .mount(&server)
        .await;
    let vault = build(config(BackendKind::Vault, server.uri())).unwrap();
    let err = vault.check().await.err();
    let moved = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .any(|r| r.url.path() == "/v1/moved");
    assert!(moved, "same-origin redirect not followed: {err:?}");
}

#[tokio::test]
async fn discovery_cannot_point_the_client_secret_at_another_origin() {
    let home = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    let meta = serde_json::json!({
        "issuer": home.uri(),
        "token_endpoint": format!("{}/token", home.uri()),
        "introspection_endpoint": format!("{}/introspect", elsewhere.uri()),
        "revocation_endpoint": format!("{}/revoke", elsewhere.uri()),
    });
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(meta))
        .mount(&home)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"active":true}"#))
        .mount(&elsewhere)
        .await;
    let url = url_for(BackendKind::Oauth2, &home.uri());
    let oauth = build(config(BackendKind::Oauth2, url)).unwrap();
    let pasted = SecretString::from("opaque-pasted-c4n4ry".to_string());
    let err = oauth.lookup_token(&pasted).await.unwrap_err();
    assert_refused("oauth2 introspection", &err);
    let got = elsewhere.received_requests().await.unwrap_or_default();
    assert!(
        got.is_empty(),
        "{} request(s) reached the other origin",
        got.len()
    );
}
