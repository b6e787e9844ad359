//! Speaking GitHub's REST API (version 2022-11-28): URLs built segment by segment under the API
//! base (`https://api.github.com`, or `https://HOST/api/v3` on GitHub Enterprise Server), the
//! headers GitHub documents (`Authorization: Bearer`, `Accept: application/vnd.github+json`,
//! `X-GitHub-Api-Version`), and paging by the `Link: <…>; rel="next"` header.
//!
//! GitHub's audit log pages by an opaque cursor that only the `Link` URL carries, so here (unlike
//! GitLab) the next URL is taken from the answer. It is followed only when it stays under the
//! configured API base (same origin, path under the base): the token never goes anywhere else,
//! whatever the server writes in the header. Pages are capped.
//!
//! Every request goes through [`Http`], so status codes become the crate's typed errors in one
//! place; a redirect to another origin is refused there.

use reqwest::{Method, RequestBuilder};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use crate::http::Http;
use crate::ConnectorError;

/// GitHub's largest page.
pub const PER_PAGE: &str = "100";
/// The API version whose answers the mapping reads.
pub const API_VERSION: &str = "2022-11-28";
/// A listing that has not ended after this many pages (a million items) is refused rather than
/// followed forever.
const MAX_PAGES: u32 = 10_000;

#[derive(Debug, Clone)]
pub struct Api {
    http: Http,
    /// The API base, e.g. `https://api.github.com` (no trailing slash in its path).
    base: Url,
    token: Option<SecretString>,
}

impl Api {
    pub fn new(http: Http, base: Url, token: Option<SecretString>) -> Self {
        Api { http, base, token }
    }

    pub fn target(&self) -> &str {
        self.http.target()
    }

    /// `base` + path segments, each percent-encoded as one segment.
    pub fn url(&self, segments: &[&str]) -> Url {
        crate::http::url_under(&self.base, segments.iter().copied())
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let req = self
            .http
            .client()
            .request(method, url)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION);
        match &self.token {
            Some(token) => req.bearer_auth(token.expose_secret()),
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

    /// Every item of a listing, page by page while `Link` names a next page under the base.
    /// `unwrap` takes the items out of a page (`Vec<T>` as is, or an object's array field).
    pub async fn list_all<P: DeserializeOwned, T>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        right: &str,
        unwrap: impl Fn(P) -> Vec<T>,
    ) -> Result<Vec<T>, ConnectorError> {
        let mut url = self.url(segments);
        url.query_pairs_mut()
            .extend_pairs(query)
            .append_pair("per_page", PER_PAGE);
        let mut items = Vec::new();
        // Every page read: a `Link` that leads back to any of them would never end.
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            seen.insert(url.to_string());
            let resp = self
                .http
                .send_idempotent(self.request(Method::GET, url.clone()))
                .await?;
            let next = next_link(resp.headers());
            let page: P = self.http.json(resp, right).await?;
            let batch = unwrap(page);
            let empty = batch.is_empty();
            items.extend(batch);
            let Some(next) = next.filter(|_| !empty) else {
                return Ok(items);
            };
            url = self.under_base(&next, &url)?;
            if seen.contains(url.as_str()) {
                return Err(self.malformed(
                    "pagination",
                    format!("Link next leads back to {url}; the listing would never end"),
                ));
            }
        }
        Err(self.malformed(
            "pagination",
            format!("more than {MAX_PAGES} pages for {right}"),
        ))
    }

    /// The next page's URL if it stays under the API base and moves on; else an error, so a
    /// hostile `Link` can neither take the token elsewhere nor loop.
    fn under_base(&self, next: &str, current: &Url) -> Result<Url, ConnectorError> {
        let url = current
            .join(next)
            .map_err(|e| self.malformed("pagination", format!("Link next {next:?}: {e}")))?;
        let base_path = self.base.path().trim_end_matches('/');
        let inside = url.origin() == self.base.origin()
            && (url.path() == base_path || url.path().starts_with(&format!("{base_path}/")));
        if !inside {
            return Err(ConnectorError::Redirected {
                target: self.target().to_string(),
                from: self.base.origin().ascii_serialization(),
                to: url.origin().ascii_serialization(),
                why: "a Link next page outside the API base would receive the console's token",
            });
        }
        Ok(url)
    }

    /// POST a JSON body once (a change is never retried blindly); any 2xx is success (GitHub
    /// answers `202 Accepted` to a PAT revocation).
    pub async fn post_json(
        &self,
        segments: &[&str],
        body: &serde_json::Value,
        right: &str,
    ) -> Result<(), ConnectorError> {
        let req = self.request(Method::POST, self.url(segments)).json(body);
        let resp = self.http.send(req).await?;
        self.http.expect_success(resp, right).await
    }

    /// DELETE once; any 2xx is success.
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

/// The `rel="next"` target of a `Link` header (RFC 8288 as GitHub writes it:
/// `<url>; rel="next", <url>; rel="last"`); absent or unreadable = last page.
pub fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let value = headers.get("link")?.to_str().ok()?;
    value.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
        });
        is_next.then(|| target.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_model::ErrorCode;
    use std::time::Duration;

    fn api(base: &str) -> Api {
        Api::new(
            Http::new("GitHub", Duration::from_secs(1)).unwrap(),
            Url::parse(base).unwrap(),
            None,
        )
    }

    fn link(v: &str) -> Option<String> {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("link", v.parse().unwrap());
        next_link(&h)
    }

    #[test]
    fn next_link_reads_rel_next_only() {
        assert_eq!(
            link(
                r#"<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last""#
            ),
            Some("https://api.github.com/x?page=2".into())
        );
        assert_eq!(
            link(r#"<https://api.github.com/x?page=1>; rel="prev""#),
            None
        );
        assert_eq!(link("garbage"), None);
        assert_eq!(link(r#"https://x; rel="next""#), None);
        assert_eq!(next_link(&reqwest::header::HeaderMap::new()), None);
    }

    #[test]
    fn next_pages_stay_under_the_base() {
        let a = api("https://ghe.example.com/api/v3");
        let cur = a.url(&["orgs", "acme", "members"]);
        let ok = a
            .under_base(
                "https://ghe.example.com/api/v3/orgs/acme/members?page=2",
                &cur,
            )
            .unwrap();
        assert_eq!(ok.query(), Some("page=2"));
        for bad in [
            "https://evil.example.com/api/v3/orgs/acme/members?page=2",
            "http://ghe.example.com/api/v3/orgs/acme/members?page=2",
            "https://ghe.example.com:444/api/v3/x",
            "https://ghe.example.com/other/x",
            "https://ghe.example.com/api/v3x/y",
        ] {
            let err = a.under_base(bad, &cur).unwrap_err();
            assert_eq!(err.code(), ErrorCode::Redirected, "{bad}");
        }
    }
}
