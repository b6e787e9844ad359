//! Speaking GitLab's REST API v4: URLs built segment by segment under `<instance>/api/v4`, the
//! `PRIVATE-TOKEN` header, and offset pagination (`page`, `per_page=100`) followed by the
//! `x-next-page` header, which carries a page number only: the next URL is always built here,
//! never taken from a `Link` header, so the token cannot be sent to another origin.
//!
//! Every request goes through [`Http`], so status codes become the crate's typed errors in one
//! place (401 unauthorized, 403 forbidden with the right named, 404, 429 with `Retry-After`).

use reqwest::{Method, RequestBuilder};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use crate::http::Http;
use crate::ConnectorError;

/// GitLab's largest page.
pub const PER_PAGE: &str = "100";
/// A listing that has not ended after this many pages (a million items) is refused rather than
/// followed forever.
const MAX_PAGES: u32 = 10_000;

#[derive(Debug, Clone)]
pub struct Api {
    http: Http,
    /// `<instance>/api/v4`.
    base: Url,
    token: Option<SecretString>,
}

impl Api {
    /// `instance` is what the reviewer typed (`https://gitlab.example.com`, or with `/api/v4`).
    pub fn new(http: Http, instance: &Url, token: Option<SecretString>) -> Self {
        let mut base = instance.clone();
        let trimmed = base.path().trim_end_matches('/').to_string();
        if !trimmed.ends_with("/api/v4") {
            base.set_path(&format!("{trimmed}/api/v4"));
        }
        Api { http, base, token }
    }

    pub fn target(&self) -> &str {
        self.http.target()
    }

    /// `base` + path segments, each percent-encoded as one segment (`acme/api` → `acme%2Fapi`,
    /// as GitLab wants a namespaced path used as an id).
    pub fn url(&self, segments: &[&str]) -> Url {
        crate::http::url_under(&self.base, segments.iter().copied())
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let req = self.http.client().request(method, url);
        match &self.token {
            Some(token) => req.header("PRIVATE-TOKEN", token.expose_secret()),
            None => req,
        }
    }

    /// GET one JSON document (retrying transient failures).
    pub async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        right: &str,
    ) -> Result<T, ConnectorError> {
        let mut url = self.url(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let resp = self
            .http
            .send_idempotent(self.request(Method::GET, url))
            .await?;
        self.http.json(resp, right).await
    }

    /// Every item of a listing, page by page until `x-next-page` is empty.
    pub async fn list_all<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        right: &str,
    ) -> Result<Vec<T>, ConnectorError> {
        let mut items = Vec::new();
        let mut page = 1u32;
        for _ in 0..MAX_PAGES {
            let mut url = self.url(segments);
            url.query_pairs_mut()
                .extend_pairs(query)
                .append_pair("per_page", PER_PAGE)
                .append_pair("page", &page.to_string());
            let resp = self
                .http
                .send_idempotent(self.request(Method::GET, url))
                .await?;
            let next = next_page(resp.headers());
            let batch: Vec<T> = self.http.json(resp, right).await?;
            let empty = batch.is_empty();
            items.extend(batch);
            match next {
                Some(n) if n > page && !empty => page = n,
                Some(n) if n <= page => {
                    return Err(self.malformed(
                        "pagination",
                        format!("x-next-page {n} after page {page}; the listing would never end"),
                    ))
                }
                _ => return Ok(items),
            }
        }
        Err(self.malformed(
            "pagination",
            format!("more than {MAX_PAGES} pages for {right}"),
        ))
    }

    /// DELETE; any 2xx is success, anything else is a typed error (404 = `NotFound`).
    pub async fn delete(&self, segments: &[&str], right: &str) -> Result<(), ConnectorError> {
        self.send_ok(Method::DELETE, segments, right).await
    }

    /// POST without a body; any 2xx is success (`201 Created` for `block`).
    pub async fn post(&self, segments: &[&str], right: &str) -> Result<(), ConnectorError> {
        self.send_ok(Method::POST, segments, right).await
    }

    /// Sends once (a change is never retried blindly) and wants a 2xx.
    async fn send_ok(
        &self,
        method: Method,
        segments: &[&str],
        right: &str,
    ) -> Result<(), ConnectorError> {
        let resp = self
            .http
            .send(self.request(method, self.url(segments)))
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

/// The `x-next-page` header as a number; absent, empty or unreadable = last page.
fn next_page(headers: &reqwest::header::HeaderMap) -> Option<u32> {
    headers
        .get("x-next-page")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn api(instance: &str) -> Api {
        Api::new(
            Http::new("GitLab", Duration::from_secs(1)).unwrap(),
            &Url::parse(instance).unwrap(),
            None,
        )
    }

    #[test]
    fn base_is_api_v4_under_the_instance_and_segments_are_encoded() {
        for instance in [
            "https://gitlab.example.com",
            "https://gitlab.example.com/",
            "https://gitlab.example.com/api/v4/",
        ] {
            assert_eq!(
                api(instance)
                    .url(&["projects", "acme/api", "members"])
                    .as_str(),
                "https://gitlab.example.com/api/v4/projects/acme%2Fapi/members"
            );
        }
        assert_eq!(
            api("https://example.com/gitlab").url(&["users"]).as_str(),
            "https://example.com/gitlab/api/v4/users"
        );
    }

    #[test]
    fn next_page_reads_a_number_or_ends() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(next_page(&h), None);
        h.insert("x-next-page", "".parse().unwrap());
        assert_eq!(next_page(&h), None);
        h.insert("x-next-page", "3".parse().unwrap());
        assert_eq!(next_page(&h), Some(3));
        h.insert("x-next-page", "http://evil/".parse().unwrap());
        assert_eq!(next_page(&h), None);
    }
}
