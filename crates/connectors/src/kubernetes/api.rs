//! Speaking the Kubernetes API: bearer token, URLs built segment by segment under the API server
//! base (which may carry a proxy path prefix), list pagination with `limit` + `continue`, and the
//! authorization reviews used by `check` and by revocation checks.
//!
//! Every request goes through [`Http`], so statuses become typed errors in one place.

use reqwest::{Method, RequestBuilder};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashSet;
use url::Url;

use crate::http::Http;
use crate::ConnectorError;

/// Items per page asked of the API server.
pub const PAGE_LIMIT: &str = "500";
const MAX_PAGES: usize = 100_000;

#[derive(Debug, Default, Deserialize)]
struct ListMeta {
    #[serde(default, rename = "continue")]
    cont: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ListPage {
    #[serde(default)]
    metadata: ListMeta,
    #[serde(default)]
    items: Option<Vec<Value>>,
}

/// What an access review asks: a resource request or a non-resource URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attributes {
    Resource {
        verb: String,
        group: String,
        resource: String,
        subresource: Option<String>,
        name: Option<String>,
        namespace: Option<String>,
    },
    NonResource {
        verb: String,
        path: String,
    },
}

impl Attributes {
    pub fn to_json(&self) -> Value {
        match self {
            Attributes::Resource {
                verb,
                group,
                resource,
                subresource,
                name,
                namespace,
            } => {
                let mut a = json!({ "verb": verb, "group": group, "resource": resource });
                if let Some(o) = a.as_object_mut() {
                    for (k, v) in [
                        ("subresource", subresource),
                        ("name", name),
                        ("namespace", namespace),
                    ] {
                        if let Some(v) = v {
                            o.insert(k.into(), json!(v));
                        }
                    }
                }
                json!({ "resourceAttributes": a })
            }
            Attributes::NonResource { verb, path } => {
                json!({ "nonResourceAttributes": { "verb": verb, "path": path } })
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Attributes::Resource {
                verb,
                group,
                resource,
                subresource,
                name,
                namespace,
            } => {
                let mut s = format!("{verb} {}", super::rules::group_name(group));
                s.push('/');
                s.push_str(resource);
                if let Some(sub) = subresource {
                    s.push('/');
                    s.push_str(sub);
                }
                if let Some(n) = name {
                    s.push_str(&format!(" {n}"));
                }
                match namespace {
                    Some(ns) => s.push_str(&format!(" in namespace {ns}")),
                    None => s.push_str(" cluster-wide"),
                }
                s
            }
            Attributes::NonResource { verb, path } => format!("{verb} {path}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Api {
    http: Http,
    base: Url,
    token: Option<SecretString>,
}

#[derive(Debug, Deserialize)]
struct ReviewStatus {
    #[serde(default)]
    allowed: bool,
    #[serde(default)]
    denied: bool,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default, rename = "evaluationError")]
    evaluation_error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Review {
    #[serde(default)]
    status: Option<ReviewStatus>,
}

/// The answer to an access review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub reason: String,
}

impl Api {
    pub fn new(http: Http, base: Url, token: Option<SecretString>) -> Self {
        Api { http, base, token }
    }

    pub fn target(&self) -> &str {
        self.http.target()
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    /// `base` + `path` (a literal API path such as `/apis/rbac.authorization.k8s.io/v1`) + name
    /// segments, each percent-encoded.
    pub fn url(&self, path: &str, names: &[&str]) -> Url {
        let literal = path.split('/').filter(|s| !s.is_empty());
        crate::http::url_under(&self.base, literal.chain(names.iter().copied()))
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let req = self
            .http
            .client()
            .request(method, url)
            .header(reqwest::header::ACCEPT, "application/json");
        match &self.token {
            Some(t) => req.bearer_auth(t.expose_secret()),
            None => req,
        }
    }

    pub async fn get<T: DeserializeOwned>(
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

    /// POST of a review object (access reviews, token reviews): they change nothing, so transient
    /// failures are retried.
    pub async fn post_review<T: DeserializeOwned>(
        &self,
        url: Url,
        body: &Value,
        right: &str,
    ) -> Result<T, ConnectorError> {
        let resp = self
            .http
            .send_idempotent(self.request(Method::POST, url).json(body))
            .await?;
        self.http.json(resp, right).await
    }

    pub async fn put(&self, url: Url, body: &Value, right: &str) -> Result<Value, ConnectorError> {
        let resp = self
            .http
            .send(self.request(Method::PUT, url).json(body))
            .await?;
        self.http.json(resp, right).await
    }

    pub async fn delete(&self, url: Url, right: &str) -> Result<(), ConnectorError> {
        let resp = self.http.send(self.request(Method::DELETE, url)).await?;
        self.http.expect_success(resp, right).await
    }

    /// Every item of a list endpoint, following `metadata.continue`. Items get `kind` (the API
    /// omits it inside lists) so that they map like `kubectl` output.
    pub async fn list(
        &self,
        path: &str,
        query: &[(&str, &str)],
        item_kind: &str,
        right: &str,
    ) -> Result<Vec<Value>, ConnectorError> {
        let mut items = Vec::new();
        let mut cont: Option<String> = None;
        let mut seen = HashSet::new();
        for _ in 0..MAX_PAGES {
            let mut url = self.url(path, &[]);
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in query {
                    q.append_pair(k, v);
                }
                q.append_pair("limit", PAGE_LIMIT);
                if let Some(c) = &cont {
                    q.append_pair("continue", c);
                }
            }
            let page: ListPage = self.get(url, right).await?;
            for mut item in page.items.unwrap_or_default() {
                if let Some(o) = item.as_object_mut() {
                    o.entry("kind")
                        .or_insert_with(|| Value::String(item_kind.to_string()));
                }
                items.push(item);
            }
            match page.metadata.cont.filter(|c| !c.is_empty()) {
                None => return Ok(items),
                Some(c) => {
                    if !seen.insert(c.clone()) {
                        return Err(ConnectorError::Malformed {
                            target: self.target().to_string(),
                            what: "pagination".into(),
                            detail: format!("the continue token repeats for {right}"),
                        });
                    }
                    cont = Some(c);
                }
            }
        }
        Err(ConnectorError::Malformed {
            target: self.target().to_string(),
            what: "pagination".into(),
            detail: format!("more than {MAX_PAGES} pages for {right}"),
        })
    }

    fn decision(review: Review, what: &str) -> Result<Decision, ConnectorError> {
        let status = review.status.ok_or_else(|| ConnectorError::Malformed {
            target: String::new(),
            what: what.into(),
            detail: "no `status` in the review".into(),
        })?;
        let mut reason = status.reason.unwrap_or_default();
        if let Some(e) = status.evaluation_error.filter(|e| !e.is_empty()) {
            reason = format!("{reason} (evaluation error: {e})");
        }
        Ok(Decision {
            allowed: status.allowed && !status.denied,
            reason,
        })
    }

    /// SelfSubjectAccessReview: may the console itself do this?
    pub async fn can_i(&self, attrs: &Attributes) -> Result<Decision, ConnectorError> {
        let body = json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": attrs.to_json(),
        });
        let review: Review = self
            .post_review(
                self.url(
                    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                    &[],
                ),
                &body,
                "create selfsubjectaccessreviews",
            )
            .await?;
        Self::decision(review, "SelfSubjectAccessReview")
    }

    /// SubjectAccessReview: may `user` (with `groups`) do this?
    pub async fn subject_can(
        &self,
        user: Option<&str>,
        groups: &[String],
        attrs: &Attributes,
    ) -> Result<Decision, ConnectorError> {
        let mut spec = attrs.to_json();
        if let Some(o) = spec.as_object_mut() {
            if let Some(u) = user {
                o.insert("user".into(), json!(u));
            }
            if !groups.is_empty() {
                o.insert("groups".into(), json!(groups));
            }
        }
        let body = json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": spec,
        });
        let review: Review = self
            .post_review(
                self.url("/apis/authorization.k8s.io/v1/subjectaccessreviews", &[]),
                &body,
                "create subjectaccessreviews (authorization.k8s.io)",
            )
            .await?;
        Self::decision(review, "SubjectAccessReview")
    }
}
