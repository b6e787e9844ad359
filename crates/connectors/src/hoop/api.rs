//! Speaking hoop's gateway API: URLs built segment by segment under `<gateway>/api`, the API key
//! as `Authorization: Bearer hpk_…`, and hoop's two kinds of paging, both followed with numbers
//! the console counts itself (no URL from an answer is ever followed, so the key cannot be sent
//! to another origin):
//! - `page` / `page_size` with a `pages.total` in the answer (`/audit/logs`,
//!   `/access-requests/rules`, `/attributes`);
//! - `limit` / `offset` with `has_next_page` (`/sessions`; hoop refuses offsets past 10 000).
//!
//! Every request goes through [`Http`], so status codes become the crate's typed errors in one
//! place.

use reqwest::{Method, RequestBuilder};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::Url;

use crate::http::Http;
use crate::ConnectorError;

/// hoop's largest page for the paged listings.
pub const PAGE_SIZE: u32 = 100;
/// hoop answers `/sessions` with at most this offset (`openapiv3.json`: "max: 10000").
pub const MAX_SESSION_OFFSET: u32 = 10_000;
/// A paged listing that has not ended after this many pages is refused rather than followed.
const MAX_PAGES: u32 = 10_000;

#[derive(Debug, Clone)]
pub struct Api {
    http: Http,
    /// `<gateway>/api`.
    base: Url,
    key: Option<SecretString>,
}

/// `openapi.PaginatedResponse-*`: one page and where it stands.
#[derive(Debug, Deserialize)]
#[serde(bound = "T: DeserializeOwned")]
pub struct Paged<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    #[serde(default)]
    pub pages: Option<Pagination>,
}

/// `openapi.Pagination`.
#[derive(Debug, Default, Deserialize)]
pub struct Pagination {
    #[serde(default)]
    pub page: Option<u64>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub total: Option<u64>,
}

/// `openapi.SessionList`.
#[derive(Debug, Deserialize)]
#[serde(bound = "T: DeserializeOwned")]
pub struct SessionPage<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    #[serde(default)]
    pub has_next_page: bool,
}

impl Api {
    /// `gateway` is what the reviewer typed (`https://use.hoop.dev`, or with `/api`).
    pub fn new(http: Http, gateway: &Url, key: Option<SecretString>) -> Self {
        let mut base = gateway.clone();
        let trimmed = base.path().trim_end_matches('/').to_string();
        if !trimmed.ends_with("/api") {
            base.set_path(&format!("{trimmed}/api"));
        }
        Api { http, base, key }
    }

    pub fn target(&self) -> &str {
        self.http.target()
    }

    /// `base` + path segments, each percent-encoded as one segment.
    pub fn url(&self, segments: &[&str]) -> Url {
        crate::http::url_under(&self.base, segments.iter().copied())
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let req = self.http.client().request(method, url);
        match &self.key {
            Some(key) => req.bearer_auth(key.expose_secret()),
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

    /// Every item of a `page`/`page_size` listing, until a page comes back short or the total
    /// is reached.
    pub async fn list_paged<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        right: &str,
    ) -> Result<Vec<T>, ConnectorError> {
        let mut items = Vec::new();
        let size = PAGE_SIZE.to_string();
        for page in 1..=MAX_PAGES {
            let page_text = page.to_string();
            let mut q = query.to_vec();
            q.extend([("page", page_text.as_str()), ("page_size", size.as_str())]);
            let batch: Paged<T> = self.get(segments, &q, right).await?;
            let got = batch.data.len();
            items.extend(batch.data);
            // The total, when hoop gives one, decides (a server may cap the page below what
            // was asked); without it, a short page is the last.
            let done = match batch.pages.and_then(|p| p.total) {
                Some(total) => got == 0 || items.len() as u64 >= total,
                None => got < PAGE_SIZE as usize,
            };
            if done {
                return Ok(items);
            }
        }
        Err(self.malformed(
            "pagination",
            format!("more than {MAX_PAGES} pages for {right}"),
        ))
    }

    /// Every session hoop lists with `query`, by `limit`/`offset` while `has_next_page`; hoop
    /// serves no offset past [`MAX_SESSION_OFFSET`], so a longer history is read in windows of
    /// time by the caller. Returns the items and whether the offset cap cut the listing short.
    pub async fn list_sessions<T: DeserializeOwned>(
        &self,
        query: &[(&str, &str)],
        right: &str,
    ) -> Result<(Vec<T>, bool), ConnectorError> {
        let mut items = Vec::new();
        let limit = PAGE_SIZE.to_string();
        let mut offset = 0u32;
        loop {
            let offset_text = offset.to_string();
            let mut q = query.to_vec();
            q.extend([("limit", limit.as_str()), ("offset", offset_text.as_str())]);
            let page: SessionPage<T> = self.get(&["sessions"], &q, right).await?;
            let got = page.data.len() as u32;
            items.extend(page.data);
            if !page.has_next_page || got == 0 {
                return Ok((items, false));
            }
            offset += got;
            if offset > MAX_SESSION_OFFSET {
                return Ok((items, true));
            }
        }
    }

    /// PUT a JSON body, once (a change is never retried blindly); the answer is read back.
    pub async fn put<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &serde_json::Value,
        right: &str,
    ) -> Result<T, ConnectorError> {
        let req = self.request(Method::PUT, self.url(segments)).json(body);
        let resp = self.http.send(req).await?;
        self.http.json(resp, right).await
    }

    /// DELETE or a body-less POST, once; any 2xx is success (hoop answers `204`).
    pub async fn send_ok(
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn api(gateway: &str) -> Api {
        Api::new(
            Http::new("hoop", Duration::from_secs(1)).unwrap(),
            &Url::parse(gateway).unwrap(),
            None,
        )
    }

    #[test]
    fn base_is_api_under_the_gateway_and_segments_are_encoded() {
        for gateway in [
            "https://use.hoop.dev",
            "https://use.hoop.dev/",
            "https://use.hoop.dev/api/",
        ] {
            assert_eq!(
                api(gateway).url(&["users", "a/b@x.io"]).as_str(),
                "https://use.hoop.dev/api/users/a%2Fb@x.io"
            );
        }
    }
}
