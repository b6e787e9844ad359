//! Speaking the Kong Admin API: URLs built segment by segment under the configured base (which may
//! carry a path prefix such as a Kong Enterprise workspace), the `Kong-Admin-Token` header when a
//! credential is configured, and `offset`/`next` pagination followed to the last page.
//!
//! Every request goes through [`Http`], so status codes become the crate's typed errors in one
//! place; a body that is not the JSON we expect becomes `Malformed` with serde's line and column.

use reqwest::{Method, RequestBuilder};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::HashSet;
use url::Url;

use crate::http::Http;
use crate::ConnectorError;

/// Page size asked for; Kong caps `size` at 1000.
pub const PAGE_SIZE: &str = "1000";
/// A listing that has not ended after this many pages is refused rather than followed forever.
const MAX_PAGES: usize = 100_000;

/// One page of a Kong collection: `{"data": [...], "next": "/consumers?offset=..." | null}`.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    #[serde(default)]
    pub next: Option<String>,
}

/// Parses a page body, naming the line and column of the first problem.
pub fn parse_page<T: DeserializeOwned>(body: &[u8]) -> Result<Page<T>, String> {
    parse_json(body)
}

/// Parses any Admin API JSON body, naming the line and column of the first problem.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    // serde_json's message ends with "at line L column C".
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

#[derive(Debug, Clone)]
pub struct Admin {
    http: Http,
    base: Url,
    token: Option<SecretString>,
}

impl Admin {
    pub fn new(http: Http, base: Url, token: Option<SecretString>) -> Self {
        Admin { http, base, token }
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    pub fn target(&self) -> &str {
        self.http.target()
    }

    /// `base` + path segments, each percent-encoded as one segment.
    pub fn url(&self, segments: &[&str]) -> Url {
        crate::http::url_under(&self.base, segments.iter().copied())
    }

    /// Resolves a `next` link against the base: only its path and query are taken, so the token
    /// is never sent to another host, and the base's path prefix is kept when Kong leaves it out.
    pub fn resolve_next(&self, next: &str) -> Result<Url, ConnectorError> {
        let parsed = Url::parse(next)
            .or_else(|_| Url::parse("http://kong.invalid/").and_then(|b| b.join(next)))
            .map_err(|e| self.malformed("the `next` link", format!("`{next}`: {e}")))?;
        let prefix = self.base.path().trim_end_matches('/');
        let mut url = self.base.clone();
        let path = parsed.path();
        if prefix.is_empty() || path.starts_with(&format!("{prefix}/")) {
            url.set_path(path);
        } else {
            url.set_path(&format!("{prefix}{path}"));
        }
        url.set_query(parsed.query());
        Ok(url)
    }

    pub fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let req = self.http.client().request(method, url);
        match &self.token {
            Some(token) => req.header("Kong-Admin-Token", token.expose_secret()),
            None => req,
        }
    }

    /// GET one JSON document (retrying transient failures).
    pub async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        right: &str,
    ) -> Result<T, ConnectorError> {
        self.get_url(self.url(segments), right).await
    }

    pub async fn get_url<T: DeserializeOwned>(
        &self,
        url: Url,
        right: &str,
    ) -> Result<T, ConnectorError> {
        let resp = self
            .http
            .send_idempotent(self.request(Method::GET, url))
            .await?;
        self.http.json(resp, right).await
    }

    /// Every item of a collection, following `next` until it is null.
    pub async fn list_all<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        right: &str,
    ) -> Result<Vec<T>, ConnectorError> {
        let mut url = self.url(segments);
        url.query_pairs_mut().append_pair("size", PAGE_SIZE);
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        for _ in 0..MAX_PAGES {
            let page: Page<T> = self.get_url(url, right).await?;
            items.extend(page.data);
            match page.next.filter(|n| !n.is_empty()) {
                None => return Ok(items),
                Some(next) => {
                    if !seen.insert(next.clone()) {
                        return Err(self.malformed(
                            "pagination",
                            format!(
                                "the `next` link `{next}` repeats; the listing would never end"
                            ),
                        ));
                    }
                    url = self.resolve_next(&next)?;
                }
            }
        }
        Err(self.malformed(
            "pagination",
            format!("more than {MAX_PAGES} pages for {right}"),
        ))
    }

    /// DELETE; 200 and 204 are success, anything else is a typed error (404 = `NotFound`).
    pub async fn delete(&self, segments: &[&str], right: &str) -> Result<(), ConnectorError> {
        let resp = self
            .http
            .send(self.request(Method::DELETE, self.url(segments)))
            .await?;
        self.http.expect_success(resp, right).await
    }

    pub fn malformed(&self, what: &str, detail: String) -> ConnectorError {
        ConnectorError::Malformed {
            target: self.target().to_string(),
            what: what.to_string(),
            detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn admin(base: &str) -> Admin {
        Admin::new(
            Http::new("Kong", Duration::from_secs(1)).unwrap(),
            Url::parse(base).unwrap(),
            None,
        )
    }

    #[test]
    fn url_encodes_each_segment() {
        let a = admin("http://127.0.0.1:8001/");
        assert_eq!(
            a.url(&["consumers", "a b/c", "acls", "grp"]).as_str(),
            "http://127.0.0.1:8001/consumers/a%20b%2Fc/acls/grp"
        );
        let ws = admin("http://127.0.0.1:8001/team-a");
        assert_eq!(
            ws.url(&["consumers"]).as_str(),
            "http://127.0.0.1:8001/team-a/consumers"
        );
    }

    #[test]
    fn next_links_stay_on_the_configured_host_and_prefix() {
        let a = admin("http://127.0.0.1:8001");
        assert_eq!(
            a.resolve_next("/consumers?offset=WyJ4Il0")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8001/consumers?offset=WyJ4Il0"
        );
        assert_eq!(
            a.resolve_next("http://evil.example:9/consumers?offset=1")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8001/consumers?offset=1"
        );
        let ws = admin("http://127.0.0.1:8001/team-a/");
        assert_eq!(
            ws.resolve_next("/consumers?offset=1").unwrap().as_str(),
            "http://127.0.0.1:8001/team-a/consumers?offset=1"
        );
        assert_eq!(
            ws.resolve_next("/team-a/consumers?offset=1")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8001/team-a/consumers?offset=1"
        );
    }

    #[test]
    fn parse_errors_name_line_and_column() {
        let err = parse_page::<serde_json::Value>(b"{\n  \"data\": [\n  ]\n  \"next\": null\n}")
            .unwrap_err();
        assert!(err.contains("at line 4 column 3"), "{err}");
    }
}
