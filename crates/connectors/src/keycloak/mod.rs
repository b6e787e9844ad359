//! Keycloak, one realm per backend, over the Admin REST API.
//!
//! Keycloak cannot run on the machines this was written on, so the connector follows the
//! documented Admin REST API (paths, query parameters and representation fields checked against
//! the API reference) and is tested against authentic payloads, or payloads hand-written from the
//! representation fields where no authentic sample exists, served by a mock HTTP server.
//!
//! # Configuration
//! `https://CLIENT_ID@keycloak.example.com/realms/REALM`: the client id goes in the URL's user
//! part, the realm is the path segment after `/realms/`, and any path before it (a legacy `/auth`)
//! is kept as a prefix. The console logs in as that client's service account with the client
//! credentials grant; the client secret is the backend's secret. The service account needs the
//! realm-management roles view-users, view-clients, view-realm and view-events to read, and
//! manage-users, manage-clients and manage-realm to revoke; a 403 names the missing role.
//!
//! # External ids
//! | record | external id |
//! |---|---|
//! | user, service-account user (Principal user / service) | the Keycloak user id, as in events |
//! | client (Principal client) | `client:CLIENT_ID` |
//! | group (Principal group) | `group:GROUP_ID` |
//! | realm role / client role (Role) | `realm:NAME` / `client:CLIENT_ID:NAME` |
//! | client scope (Permission) | `scope:NAME` |
//! | realm-management role's right (Permission) | `admin:CLIENT_ID:ROLE` |
//! | any other realm role's / client role's right (Permission) | `realm-role:NAME` / `client-role:CLIENT_ID:NAME` |
//! | user session (Credential session) | `USER_ID/SESSION_ID` |
//! | offline session of one client (Credential session) | `offline/USER_ID/CLIENT_UUID/SESSION_ID` |
//! | consent and its offline tokens (Credential refresh_token) | `consent/USER_ID/CLIENT_ID` |
//!
//! Sessions and consents carry the user id so that a revocation can be verified from the id alone
//! (the Admin API lists sessions per user, not by session id).
//!
//! # Grants
//! user → group and subgroup → parent group (Principal → Principal: subgroups inherit their
//! parents' roles); user, service account, group → role (direct role mappings only); role → role
//! (composites); role → client scope (the scope's role scope mappings); client → client scope
//! (its default and optional client scopes); every role → the right it stands for (a
//! realm-management role → its admin right; any other realm or client role → the permission of
//! its realm or client that applications check, see [`map::role_permission`]). Effective
//! access is the engine's access map's, walked over these edges (`engine/src/access/`).
//!
//! # Revocation targets
//! - `Credential{session, USER_ID/SESSION_ID}`: `DELETE /sessions/{id}`; offline sessions add
//!   `?isOffline=true`.
//! - `Credential{refresh_token, consent/USER_ID/CLIENT_ID}` or `Grant{user → client:CLIENT_ID}`:
//!   `DELETE /users/{id}/consents/{clientId}` (the consent and the client's offline tokens).
//! - `Grant{user → group:ID}`: `DELETE /users/{id}/groups/{groupId}`.
//! - `Grant{user or group → role}`: `DELETE .../role-mappings/realm` or `/clients/{uuid}`.
//! - `Login{USER_ID}`: `POST /users/{id}/logout`.
//! - `Login{client:CLIENT_ID}` / `Login{realm:REALM}`: set not-before to now on the client / the
//!   realm, then `POST push-revocation`.
//! - `Token{value}`: introspection, then the realm's RFC 7009 endpoint.

mod audit;
mod auth;
mod check;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod inventory;
mod map;
mod reps;
mod revoke;
mod token;
mod verify;

pub use map::{admin_role_permission, role_permission, scope_action};

use async_trait::async_trait;
use portcullis_model::{
    BackendKind, Capabilities, CheckReport, Inventory, RevokeReceipt, TokenInfo, Verification,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::time::Duration;
use url::Url;

use crate::http::Http;
use crate::{
    parse_url, AuditSink, BackendConfig, Connector, ConnectorError, Cursor, ProgressFn,
    RevokeTarget,
};

/// Page size for `first`/`max` listings (Keycloak's own default is 100).
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// Pages in a row that bring nothing new before a listing is taken as ended.
const STALE_PAGES: usize = 3;

pub fn capabilities() -> Capabilities {
    Capabilities {
        list_principals: true,
        list_credentials: true,
        token_lookup: true,
        audit: true,
        revoke: true,
        verify: true,
        notes: vec![
            "access tokens are signed JWTs: ending a session or a consent does not invalidate access tokens already issued until they expire; push a not-before to reach adapters with an admin URL".into(),
            "usage-based findings need the realm to save events (Realm settings → Events); `check` reports whether it does".into(),
            "Keycloak revokes a token by value only for the client it was issued to; for other tokens end the session or the consent instead".into(),
            "sessions and consents are a snapshot taken at sync time".into(),
        ],
    }
}

/// The realm-management roles the console needs, named as a 403 message names them.
pub(crate) mod need {
    pub const VIEW_USERS: &str = "realm-management role view-users";
    pub const QUERY_GROUPS: &str = "realm-management role query-groups (or view-users)";
    pub const VIEW_CLIENTS: &str = "realm-management role view-clients";
    pub const VIEW_REALM: &str = "realm-management role view-realm";
    pub const VIEW_ROLES: &str = "realm-management role view-realm (view-clients for client roles)";
    pub const VIEW_EVENTS: &str = "realm-management role view-events";
    pub const MANAGE_USERS: &str = "realm-management role manage-users";
    pub const MANAGE_CLIENTS: &str = "realm-management role manage-clients";
    pub const MANAGE_REALM: &str = "realm-management role manage-realm";
}

/// What one call is about: `what` for a 404 ("user 123"), `right` for a 403.
#[derive(Debug, Clone)]
pub(crate) struct Need {
    pub what: String,
    pub right: &'static str,
}

pub(crate) fn needs(what: impl Into<String>, right: &'static str) -> Need {
    Need {
        what: what.into(),
        right,
    }
}

pub struct Keycloak {
    /// The backend's name in Portcullis (for token triage results).
    name: String,
    http: Http,
    /// scheme://host:port plus any path prefix before `/realms/`, without user info.
    base: Url,
    realm: String,
    client_id: String,
    secret: Option<SecretString>,
    page_size: usize,
    token: tokio::sync::Mutex<Option<auth::CachedToken>>,
}

impl Keycloak {
    pub fn new(config: BackendConfig) -> Result<Self, ConnectorError> {
        let url = parse_url(&config.url)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConnectorError::InvalidConfig(format!(
                "`{}` is not an http(s) URL",
                crate::display_url(&url)
            )));
        }
        let example = "https://CLIENT_ID@keycloak.example.com/realms/REALM";
        let client_id = percent_decode(url.username());
        if client_id.is_empty() {
            return Err(ConnectorError::InvalidConfig(format!(
                "put the console's client id in the URL's user part, e.g. {example}"
            )));
        }
        let segments: Vec<&str> = url
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).collect())
            .unwrap_or_default();
        let at = segments
            .iter()
            .rposition(|s| *s == "realms")
            .filter(|i| i + 1 < segments.len())
            .ok_or_else(|| {
                ConnectorError::InvalidConfig(format!(
                    "the URL names no realm; write it as {example}"
                ))
            })?;
        if at + 2 != segments.len() {
            return Err(ConnectorError::InvalidConfig(format!(
                "the URL should end with the realm (`/realms/REALM`), e.g. {example}"
            )));
        }
        let realm = percent_decode(segments[at + 1]);
        let mut base = url.clone();
        let _ = base.set_username("");
        let _ = base.set_password(None);
        base.set_query(None);
        base.set_fragment(None);
        base.set_path(&segments[..at].join("/"));
        let display = format!("{}/realms/{realm}", base.as_str().trim_end_matches('/'));
        Ok(Keycloak {
            name: config.name,
            http: Http::new(format!("Keycloak at {display}"), config.timeout)?,
            base,
            realm,
            client_id,
            secret: config.secret,
            page_size: DEFAULT_PAGE_SIZE,
            token: tokio::sync::Mutex::new(None),
        })
    }

    /// Lists in pages of `n` (tests use small pages to exercise paging).
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    fn target(&self) -> String {
        self.http.target().to_string()
    }

    fn url_with(&self, head: &[&str], tail: &[&str]) -> Result<Url, ConnectorError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| {
                ConnectorError::InvalidConfig(format!("`{}` cannot take a path", self.base))
            })?
            .pop_if_empty()
            .extend(head)
            .extend(tail);
        Ok(url)
    }

    /// `{base}/admin/realms/{realm}/{segments...}`, each segment percent-encoded.
    pub(crate) fn admin_url(&self, segments: &[&str]) -> Result<Url, ConnectorError> {
        self.url_with(&["admin", "realms", &self.realm], segments)
    }

    /// `{base}/realms/{realm}/protocol/openid-connect/{segments...}`.
    pub(crate) fn oidc_url(&self, segments: &[&str]) -> Result<Url, ConnectorError> {
        self.url_with(
            &["realms", &self.realm, "protocol", "openid-connect"],
            segments,
        )
    }

    /// Sends with the console's bearer token; a 401 (token expired or revoked early) is retried
    /// once with a fresh token.
    async fn send_authed(
        &self,
        req: RequestBuilder,
        idempotent: bool,
    ) -> Result<Response, ConnectorError> {
        let resp = self.send_with_token(&req, idempotent).await?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        self.forget_token().await;
        self.send_with_token(&req, idempotent).await
    }

    async fn send_with_token(
        &self,
        req: &RequestBuilder,
        idempotent: bool,
    ) -> Result<Response, ConnectorError> {
        let token = self.access_token().await?;
        let req = req
            .try_clone()
            .ok_or_else(|| ConnectorError::InvalidConfig("request body cannot be resent".into()))?
            .bearer_auth(token.expose_secret());
        if idempotent {
            self.http.send_idempotent(req).await
        } else {
            self.http.send(req).await
        }
    }

    /// Turns a failure status into the error a reviewer can act on: a 403 names the missing
    /// realm-management role, a 404 names the missing thing.
    pub(crate) fn status_error(
        &self,
        status: StatusCode,
        retry_after: Option<Duration>,
        body: &[u8],
        need: &Need,
    ) -> ConnectorError {
        match status.as_u16() {
            403 => ConnectorError::Forbidden {
                target: self.target(),
                right: need.right.to_string(),
                detail: Some(crate::http::summarize_body(body)).filter(|d| !d.is_empty()),
            },
            404 => ConnectorError::NotFound {
                target: self.target(),
                what: need.what.clone(),
            },
            _ => self
                .http
                .status_error(status, retry_after, body, need.right),
        }
    }

    pub(crate) fn parse<T: DeserializeOwned>(
        &self,
        body: &[u8],
        need: &Need,
    ) -> Result<T, ConnectorError> {
        serde_json::from_slice(body).map_err(|e| ConnectorError::Malformed {
            target: self.target(),
            what: format!("JSON of {}", need.what),
            detail: e.to_string(),
        })
    }

    /// Reads the status and the (size-capped) body of a response.
    pub(crate) async fn read(
        &self,
        resp: Response,
    ) -> Result<(StatusCode, Option<Duration>, Vec<u8>), ConnectorError> {
        let status = resp.status();
        let retry = retry_after(&resp);
        let body = self.http.read_body(resp).await?;
        Ok((status, retry, body))
    }

    /// GET a JSON document from the Admin API.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        url: Url,
        need: &Need,
    ) -> Result<T, ConnectorError> {
        let resp = self.send_authed(self.http.client().get(url), true).await?;
        let (status, retry, body) = self.read(resp).await?;
        if !status.is_success() {
            return Err(self.status_error(status, retry, &body, need));
        }
        self.parse(&body, need)
    }

    /// GET a list page by page (`first`/`max`) until a short page. Items seen twice are kept once:
    /// lists that grow while they are read (events, newest first) shift their pages. A server
    /// that ignores `max` (answers more than asked) ends the listing, and one that ignores
    /// `first` (nothing new for [`STALE_PAGES`] pages in a row) ends it too, instead of looping.
    pub(crate) async fn get_paged<T: DeserializeOwned + reps::Keyed>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        need: &Need,
    ) -> Result<Vec<T>, ConnectorError> {
        let max = self.page_size;
        let mut all: Vec<T> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut first = 0usize;
        let mut stale = 0usize;
        loop {
            let mut url = self.admin_url(segments)?;
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in query {
                    q.append_pair(k, v);
                }
                q.append_pair("first", &first.to_string());
                q.append_pair("max", &max.to_string());
            }
            let page: Vec<T> = self.get_json(url, need).await?;
            let len = page.len();
            let mut fresh = 0usize;
            for item in page {
                if seen.insert(item.key()) {
                    fresh += 1;
                    all.push(item);
                }
            }
            stale = if fresh == 0 { stale + 1 } else { 0 };
            if len != max || stale >= STALE_PAGES {
                return Ok(all);
            }
            first += len;
        }
    }

    /// Sends a state-changing request once (no retries: the engine journals each attempt).
    /// Success and 404 come back to the caller, which knows what a 404 means there; any other
    /// failure becomes an error.
    pub(crate) async fn send_action(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
        need: &Need,
    ) -> Result<(StatusCode, Vec<u8>), ConnectorError> {
        let mut req = self.http.client().request(method, url);
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = self.send_authed(req, false).await?;
        let (status, retry, bytes) = self.read(resp).await?;
        if status.is_success() || status == StatusCode::NOT_FOUND {
            Ok((status, bytes))
        } else {
            Err(self.status_error(status, retry, &bytes, need))
        }
    }

    /// A client's UUID from its clientId (`GET /clients?clientId=`).
    pub(crate) async fn client_uuid(&self, client_id: &str) -> Result<String, ConnectorError> {
        let mut url = self.admin_url(&["clients"])?;
        url.query_pairs_mut().append_pair("clientId", client_id);
        let found: Vec<reps::ClientRep> = self
            .get_json(
                url,
                &needs(format!("client `{client_id}`"), need::VIEW_CLIENTS),
            )
            .await?;
        found
            .into_iter()
            .find(|c| c.client_id == client_id)
            .map(|c| c.id)
            .ok_or_else(|| ConnectorError::NotFound {
                target: self.target(),
                what: format!("client `{client_id}`"),
            })
    }
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

/// Decodes `%XX` escapes (URL user parts and path segments arrive encoded); invalid escapes are
/// kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[async_trait]
impl Connector for Keycloak {
    fn kind(&self) -> BackendKind {
        BackendKind::Keycloak
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    async fn check(&self) -> Result<CheckReport, ConnectorError> {
        self.check_report().await
    }

    async fn inventory(&self, progress: &ProgressFn<'_>) -> Result<Inventory, ConnectorError> {
        self.read_inventory(progress).await
    }

    async fn audit(
        &self,
        since: Option<Cursor>,
        sink: &mut dyn AuditSink,
    ) -> Result<Option<Cursor>, ConnectorError> {
        self.read_audit(since, sink).await
    }

    async fn lookup_token(
        &self,
        token: &SecretString,
    ) -> Result<Option<TokenInfo>, ConnectorError> {
        self.introspect_token(token).await
    }

    async fn revoke(&self, target: &RevokeTarget) -> Result<RevokeReceipt, ConnectorError> {
        self.revoke_target(target).await
    }

    async fn verify_revoked(&self, target: &RevokeTarget) -> Result<Verification, ConnectorError> {
        self.verify_target(target).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DEFAULT_TIMEOUT;
    use portcullis_model::ErrorCode;

    fn config(url: &str) -> BackendConfig {
        BackendConfig {
            name: "kc".into(),
            kind: BackendKind::Keycloak,
            url: url.into(),
            secret: None,
            timeout: DEFAULT_TIMEOUT,
            audit_log: None,
        }
    }

    #[test]
    fn url_gives_client_realm_and_base() {
        let kc = Keycloak::new(config("https://console@kc.example.com:8443/realms/acme")).unwrap();
        assert_eq!(kc.client_id(), "console");
        assert_eq!(kc.realm(), "acme");
        assert_eq!(
            kc.admin_url(&["users", "a b"]).unwrap().as_str(),
            "https://kc.example.com:8443/admin/realms/acme/users/a%20b"
        );
        assert_eq!(
            kc.oidc_url(&["token"]).unwrap().as_str(),
            "https://kc.example.com:8443/realms/acme/protocol/openid-connect/token"
        );
    }

    #[test]
    fn legacy_auth_prefix_is_kept() {
        let kc = Keycloak::new(config("http://c%40x@kc:8080/auth/realms/my%20realm/")).unwrap();
        assert_eq!(kc.client_id(), "c@x");
        assert_eq!(kc.realm(), "my realm");
        assert_eq!(
            kc.admin_url(&["roles"]).unwrap().as_str(),
            "http://kc:8080/auth/admin/realms/my%20realm/roles"
        );
    }

    #[test]
    fn bad_urls_say_how_to_write_them() {
        for (url, hint) in [
            ("https://kc.example.com/realms/acme", "user part"),
            ("https://c@kc.example.com/", "names no realm"),
            (
                "https://c@kc.example.com/realms/acme/account",
                "end with the realm",
            ),
            ("ftp://c@kc.example.com/realms/acme", "http(s)"),
        ] {
            let err = Keycloak::new(config(url)).err().unwrap();
            assert_eq!(err.code(), ErrorCode::InvalidInput, "{url}");
            assert!(err.to_string().contains(hint), "{url}: {err}");
        }
    }

    #[test]
    fn percent_decode_keeps_invalid_escapes() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
