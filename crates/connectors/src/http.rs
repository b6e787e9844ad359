//! The one place where HTTP turns into typed connector errors: timeouts on every request, status
//! codes mapped to [`ConnectorError`], bounded retries (with `Retry-After` honoured) for transient
//! failures of idempotent requests, a cap on how much of a response body is read, and the redirect
//! rule: a redirect to another origin (scheme, host or port) is refused, never followed, because
//! reqwest strips only `Authorization` and `Cookie` on a cross-host hop, and the console's
//! credentials also travel in `X-Vault-Token`, `Kong-Admin-Token` and request bodies (a token
//! under triage). Every connector builds its client here, so no header-borne secret added later
//! can leave its origin either.

use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use std::time::Duration;

use crate::ConnectorError;

/// Bodies larger than this are refused rather than buffered: a misbehaving server must not be able
/// to exhaust the reviewer's memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
const MAX_ATTEMPTS: u32 = 3;
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Same-origin redirects followed at most (a loop ends as an error, not a hang).
const MAX_REDIRECTS: usize = 5;

/// Why a redirect was not followed; found again in the reqwest error's source chain.
#[derive(Debug, thiserror::Error)]
#[error("redirect from {from} to {to} refused: {why}")]
struct RefusedRedirect {
    from: String,
    to: String,
    why: &'static str,
}

/// Follows a redirect only inside the origin the request was sent to.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.follow();
        };
        let refusal = |why| RefusedRedirect {
            from: first.origin().ascii_serialization(),
            to: attempt.url().origin().ascii_serialization(),
            why,
        };
        if attempt.url().origin() != first.origin() {
            let err = refusal("another origin would receive the console's credential");
            attempt.error(err)
        } else if attempt.previous().len() > MAX_REDIRECTS {
            let err = refusal("too many redirects");
            attempt.error(err)
        } else {
            attempt.follow()
        }
    })
}

#[derive(Debug, Clone)]
pub struct Http {
    client: Client,
    /// How errors name the backend ("OpenBao at http://127.0.0.1:8200").
    target: String,
    timeout: Duration,
}

impl Http {
    pub fn new(target: impl Into<String>, timeout: Duration) -> Result<Self, ConnectorError> {
        let client = Client::builder()
            .connect_timeout(Duration::from_secs(5).min(timeout))
            .timeout(timeout)
            .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
            .redirect(redirect_policy())
            .build()
            .map_err(|e| ConnectorError::InvalidConfig(format!("HTTP client: {e}")))?;
        Ok(Http {
            client,
            target: target.into(),
            timeout,
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    /// Sends once; transport failures become typed errors, any HTTP status is returned as is.
    pub async fn send(&self, req: RequestBuilder) -> Result<Response, ConnectorError> {
        req.send().await.map_err(|e| self.transport_error(e))
    }

    /// Sends an idempotent request, retrying 429/502/503/504 and connection failures a bounded
    /// number of times with exponential backoff (or the server's `Retry-After`).
    pub async fn send_idempotent(&self, req: RequestBuilder) -> Result<Response, ConnectorError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let this = req.try_clone().ok_or_else(|| {
                ConnectorError::InvalidConfig("request body cannot be retried".into())
            })?;
            let result = self.send(this).await;
            let delay = match &result {
                Ok(resp) if is_transient_status(resp.status()) => {
                    retry_after(resp).unwrap_or_else(|| backoff(attempt))
                }
                Err(ConnectorError::Unreachable { .. }) | Err(ConnectorError::Timeout { .. }) => {
                    backoff(attempt)
                }
                _ => return result,
            };
            if attempt >= MAX_ATTEMPTS || delay > MAX_RETRY_AFTER {
                return result;
            }
            tracing::debug!(target = %self.target, attempt, ?delay, "transient failure, retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// Reads a successful response as JSON, or turns a failure status into the matching error.
    /// `right` names what the console needs for this call, for the 403 message.
    pub async fn json<T: DeserializeOwned>(
        &self,
        resp: Response,
        right: &str,
    ) -> Result<T, ConnectorError> {
        let status = resp.status();
        let retry = retry_after(&resp);
        let body = self.read_body(resp).await?;
        if !status.is_success() {
            return Err(self.status_error(status, retry, &body, right));
        }
        serde_json::from_slice(&body).map_err(|e| ConnectorError::Malformed {
            target: self.target.clone(),
            what: format!("JSON for {right}"),
            detail: e.to_string(),
        })
    }

    /// A response whose body nobody needs: any 2xx is success, anything else the matching
    /// error (the body read, capped, for its message). `right` as in [`Http::json`].
    pub async fn expect_success(&self, resp: Response, right: &str) -> Result<(), ConnectorError> {
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body = self.read_body(resp).await?;
        Err(self.status_error(status, None, &body, right))
    }

    /// Reads the body with the size cap.
    pub async fn read_body(&self, mut resp: Response) -> Result<Vec<u8>, ConnectorError> {
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport_error(e))? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(ConnectorError::Malformed {
                    target: self.target.clone(),
                    what: "response body".into(),
                    detail: format!("larger than {} MiB", MAX_BODY_BYTES / (1024 * 1024)),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    pub fn status_error(
        &self,
        status: StatusCode,
        retry_after: Option<Duration>,
        body: &[u8],
        right: &str,
    ) -> ConnectorError {
        let detail = summarize_body(body);
        let target = self.target.clone();
        match status.as_u16() {
            401 => ConnectorError::Unauthorized { target, detail },
            403 => ConnectorError::Forbidden {
                target,
                right: right.to_string(),
                detail: Some(detail).filter(|d| !d.is_empty()),
            },
            404 => ConnectorError::NotFound {
                target,
                what: right.to_string(),
            },
            429 => ConnectorError::RateLimited {
                target,
                retry_after,
            },
            408 | 504 => ConnectorError::Timeout {
                target,
                after: self.timeout,
            },
            s => ConnectorError::Backend {
                target,
                status: s,
                detail,
            },
        }
    }

    fn transport_error(&self, e: reqwest::Error) -> ConnectorError {
        let target = self.target.clone();
        if e.is_timeout() {
            return ConnectorError::Timeout {
                target,
                after: self.timeout,
            };
        }
        if let Some(refused) = find_source::<RefusedRedirect>(&e) {
            return ConnectorError::Redirected {
                target,
                from: refused.from.clone(),
                to: refused.to.clone(),
                why: refused.why,
            };
        }
        let chain = error_chain(&e);
        let lower = chain.to_ascii_lowercase();
        if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
            return ConnectorError::Tls {
                target,
                detail: chain,
            };
        }
        if e.is_decode() || e.is_body() {
            return ConnectorError::Malformed {
                target,
                what: "response".into(),
                detail: chain,
            };
        }
        ConnectorError::Unreachable {
            target,
            detail: chain,
        }
    }
}

fn is_transient_status(s: StatusCode) -> bool {
    matches!(s.as_u16(), 429 | 502 | 503 | 504)
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200 * 2u64.pow(attempt.saturating_sub(1).min(6)))
}

fn retry_after(resp: &Response) -> Option<Duration> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// The first error of type `T` in `e`'s source chain.
fn find_source<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        cur = err.source();
    }
    None
}

/// The innermost causes, joined, because reqwest's top-level message ("error sending request")
/// hides the useful part ("Connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut src = e.source();
    while let Some(s) = src {
        let s_str = s.to_string();
        if !parts.iter().any(|p| p.contains(&s_str)) {
            parts.push(s_str);
        }
        src = s.source();
    }
    parts.join(": ")
}

/// `base` with `segments` appended, each percent-encoded as one segment (`a b/c` stays one
/// segment, `a%20b%2Fc`), so a name from a backend can never step into another path. A base
/// that cannot take a path (`mailto:`) is returned unchanged; the request then fails as a 404.
pub fn url_under<'a>(base: &url::Url, segments: impl IntoIterator<Item = &'a str>) -> url::Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(segments);
    }
    url
}

/// A short, single-line excerpt of an error body, preferring the usual JSON error fields.
pub fn summarize_body(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        for key in ["error_description", "errors", "error", "message"] {
            if let Some(found) = v.get(key) {
                let text = match found {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Array(a) => a
                        .iter()
                        .map(|x| {
                            x.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| x.to_string())
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                    other => other.to_string(),
                };
                return truncate(&text, 300);
            }
        }
    }
    truncate(String::from_utf8_lossy(body).trim(), 300)
}

fn truncate(s: &str, max: usize) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_model::ErrorCode;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn http() -> Http {
        Http::new("test server", Duration::from_secs(2)).unwrap()
    }

    async fn get_json(server: &MockServer, p: &str) -> Result<serde_json::Value, ConnectorError> {
        let h = http();
        let resp = h
            .send_idempotent(h.client().get(format!("{}{p}", server.uri())))
            .await?;
        h.json(resp, "read on /thing").await
    }

    #[tokio::test]
    async fn maps_statuses_to_codes() {
        let server = MockServer::start().await;
        for (p, status, code) in [
            ("/401", 401, ErrorCode::Unauthorized),
            ("/403", 403, ErrorCode::Forbidden),
            ("/404", 404, ErrorCode::NotFound),
            ("/500", 500, ErrorCode::BackendError),
        ] {
            Mock::given(method("GET"))
                .and(path(p))
                .respond_with(
                    ResponseTemplate::new(status).set_body_string("{\"errors\":[\"no\"]}"),
                )
                .mount(&server)
                .await;
            let err = get_json(&server, p).await.unwrap_err();
            assert_eq!(err.code(), code, "{p}: {err}");
        }
        let err = get_json(&server, "/403").await.unwrap_err();
        assert!(err.to_string().contains("read on /thing"), "{err}");
    }

    #[tokio::test]
    async fn retries_503_then_succeeds() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/flaky"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/flaky"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true})))
            .mount(&server)
            .await;
        let v = get_json(&server, "/flaky").await.unwrap();
        assert_eq!(v["ok"], true);
    }

    #[tokio::test]
    async fn rate_limit_reports_retry_after_when_it_is_too_long_to_wait() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/busy"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "120"))
            .mount(&server)
            .await;
        let err = get_json(&server, "/busy").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::RateLimited);
        assert!(err.to_string().contains("120s"), "{err}");
    }

    #[tokio::test]
    async fn malformed_json_is_an_error_not_a_panic() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/bad"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{\"truncated\": "))
            .mount(&server)
            .await;
        let err = get_json(&server, "/bad").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Malformed);
    }

    #[tokio::test]
    async fn slow_server_times_out() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/slow"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(10)))
            .mount(&server)
            .await;
        let h = Http::new("slow", Duration::from_millis(300)).unwrap();
        let err = h
            .send(h.client().get(format!("{}/slow", server.uri())))
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Timeout);
    }

    #[tokio::test]
    async fn closed_port_is_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let h = Http::new("nobody", Duration::from_secs(2)).unwrap();
        let err = h
            .send(h.client().get(format!("http://127.0.0.1:{port}/")))
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Unreachable, "{err}");
    }

    #[test]
    fn summarize_prefers_error_fields_and_truncates() {
        assert_eq!(
            summarize_body(br#"{"error":"invalid_client","error_description":"bad secret"}"#),
            "bad secret"
        );
        let long = "x".repeat(1000);
        assert!(summarize_body(long.as_bytes()).chars().count() <= 301);
    }
}
