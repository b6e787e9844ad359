//! Speaking IAM: the AWS Query protocol (`POST /` with `Action=…&Version=2010-05-08` as a form),
//! signed with Signature Version 4 by AWS's own `aws-sigv4` crate (service `iam`, region
//! `us-east-1`, where IAM signs), XML answers read by [`super::xml`], listings followed through
//! `Marker` / `IsTruncated` to the last page.
//!
//! Every request goes through [`Http`] (timeouts, bounded retries of reads, the body cap, the
//! redirect rule: the signed `Authorization` header never leaves the configured origin). IAM
//! states errors as XML codes rather than statuses (a throttled call is a 400 `Throttling`), so
//! codes are mapped here, the status only when there is no code.

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use reqwest::header::CONTENT_TYPE;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashSet;
use std::time::SystemTime;
use url::Url;

use super::xml::{self, Page};
use crate::http::Http;
use crate::ConnectorError;

pub const VERSION: &str = "2010-05-08";
/// IAM is global and signs in us-east-1.
pub const REGION: &str = "us-east-1";
pub const SERVICE: &str = "iam";
/// Items per page asked for (IAM's maximum).
pub const PAGE_SIZE: u32 = 1000;
/// A listing that has not ended after this many pages is refused rather than followed forever.
const MAX_PAGES: usize = 10_000;

/// Whether a call changes something: changes are sent once, reads retried when transient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Read,
    Change,
}

#[derive(Clone)]
pub struct Api {
    http: Http,
    endpoint: Url,
    access_key_id: String,
    secret: Option<SecretString>,
    page_size: String,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("endpoint", &self.endpoint.as_str())
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl Api {
    pub fn new(
        http: Http,
        endpoint: Url,
        access_key_id: String,
        secret: Option<SecretString>,
    ) -> Self {
        Api {
            http,
            endpoint,
            access_key_id,
            secret,
            page_size: PAGE_SIZE.to_string(),
        }
    }

    /// Asks for pages of `n` items (tests follow a listing over many pages with it).
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page_size = n.clamp(1, PAGE_SIZE).to_string();
        self
    }

    pub fn target(&self) -> &str {
        self.http.target()
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub fn malformed(&self, what: &str, detail: String) -> ConnectorError {
        ConnectorError::Malformed {
            target: self.target().to_string(),
            what: what.to_string(),
            detail,
        }
    }

    /// The form body of an action: `Action`, `Version`, then the parameters, URL-encoded.
    pub fn form(action: &str, params: &[(&str, &str)]) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action);
        form.append_pair("Version", VERSION);
        for (k, v) in params {
            form.append_pair(k, v);
        }
        form.finish()
    }

    /// Signs `body` for the endpoint: the headers to send with it.
    fn signed_headers(&self, body: &str) -> Result<Vec<(String, String)>, ConnectorError> {
        let secret = self.secret.as_ref().ok_or_else(|| {
            ConnectorError::InvalidConfig(
                "no secret access key: the console's key must be stored with the backend".into(),
            )
        })?;
        let identity = Credentials::new(
            self.access_key_id.clone(),
            secret.expose_secret().to_string(),
            None,
            None,
            "portcullis",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(REGION)
            .name(SERVICE)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| ConnectorError::InvalidConfig(format!("SigV4 parameters: {e}")))?
            .into();
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let headers = [(CONTENT_TYPE.as_str(), content_type)];
        let signable = SignableRequest::new(
            "POST",
            self.endpoint.as_str(),
            headers.iter().copied(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| ConnectorError::InvalidConfig(format!("SigV4 request: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| ConnectorError::InvalidConfig(format!("SigV4 signing: {e}")))?
            .into_parts();
        let mut out: Vec<(String, String)> = vec![(CONTENT_TYPE.to_string(), content_type.into())];
        out.extend(
            instructions
                .headers()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        Ok(out)
    }

    /// Sends one action; the body of a 2xx answer, or the typed error of the answer.
    pub async fn call(
        &self,
        action: &str,
        params: &[(&str, &str)],
        kind: Call,
    ) -> Result<Vec<u8>, ConnectorError> {
        let body = Self::form(action, params);
        let mut req = self
            .http
            .client()
            .post(self.endpoint.clone())
            .body(body.clone());
        for (k, v) in self.signed_headers(&body)? {
            req = req.header(k, v);
        }
        let resp = match kind {
            Call::Read => self.http.send_idempotent(req).await?,
            Call::Change => self.http.send(req).await?,
        };
        let status = resp.status();
        let bytes = self.http.read_body(resp).await?;
        if status.is_success() {
            return Ok(bytes);
        }
        Err(self.error(status, &bytes, action))
    }

    /// IAM's error code → the crate's error; the status decides only when the body names none.
    pub fn error(&self, status: reqwest::StatusCode, body: &[u8], action: &str) -> ConnectorError {
        let target = self.target().to_string();
        let right = format!("iam:{action}");
        let Some(err) = xml::error(body) else {
            return self.http.status_error(status, None, body, &right);
        };
        let detail = crate::http::summarize_body(err.message.as_bytes());
        match err.code.as_str() {
            "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
                ConnectorError::Forbidden {
                    target,
                    right,
                    detail: Some(detail).filter(|d| !d.is_empty()),
                }
            }
            "InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "IncompleteSignature"
            | "MissingAuthenticationToken"
            | "ExpiredToken"
            | "InvalidAccessKeyId" => ConnectorError::Unauthorized {
                target,
                detail: format!("{}: {detail}", err.code),
            },
            "NoSuchEntity" => ConnectorError::NotFound {
                target,
                what: format!("{right} ({detail})"),
            },
            "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => {
                ConnectorError::RateLimited {
                    target,
                    retry_after: None,
                }
            }
            code => ConnectorError::Backend {
                target,
                status: status.as_u16(),
                detail: format!("{}: {detail}", code.chars().take(64).collect::<String>()),
            },
        }
    }

    /// Every item of a listing, following `Marker` to the last page.
    pub async fn list<T>(
        &self,
        action: &str,
        params: &[(&str, &str)],
        list: &str,
        item: impl Fn(roxmltree::Node<'_, '_>) -> Result<T, String> + Copy,
    ) -> Result<Vec<T>, ConnectorError> {
        let mut items = Vec::new();
        let mut marker: Option<String> = None;
        let mut seen = HashSet::new();
        for _ in 0..MAX_PAGES {
            let mut p: Vec<(&str, &str)> = params.to_vec();
            p.push(("MaxItems", &self.page_size));
            if let Some(m) = &marker {
                p.push(("Marker", m));
            }
            let body = self.call(action, &p, Call::Read).await?;
            let page: Page<T> = xml::page(&body, action, list, item)
                .map_err(|e| self.malformed(&format!("the {action} answer"), e))?;
            items.extend(page.items);
            match page.next {
                None => return Ok(items),
                Some(next) if !seen.insert(next.clone()) => {
                    return Err(self.malformed(
                        "pagination",
                        format!("{action}: the Marker repeats; the listing would never end"),
                    ))
                }
                Some(next) => marker = Some(next),
            }
        }
        Err(self.malformed(
            "pagination",
            format!("more than {MAX_PAGES} pages for {action}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_encoded_in_order() {
        assert_eq!(
            Api::form("ListAccessKeys", &[("UserName", "a b+c")]),
            "Action=ListAccessKeys&Version=2010-05-08&UserName=a+b%2Bc"
        );
    }

    #[test]
    fn the_signature_covers_the_body_and_names_iam_in_us_east_1() {
        let api = Api::new(
            Http::new("IAM", std::time::Duration::from_secs(1)).unwrap(),
            Url::parse("http://127.0.0.1:5050/").unwrap(),
            "AKIAEXAMPLE".into(),
            Some(SecretString::from("secret".to_string())),
        );
        let h = api.signed_headers("Action=ListUsers").unwrap();
        let auth = h
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.clone())
            .unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/"),
            "{auth}"
        );
        assert!(auth.contains("/us-east-1/iam/aws4_request"), "{auth}");
        assert!(!auth.contains("secret"), "{auth}");
        let other = api.signed_headers("Action=ListGroups").unwrap();
        assert_ne!(h, other, "a different body must sign differently");
    }
}
