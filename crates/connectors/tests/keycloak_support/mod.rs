//! Shared by the `keycloak_*` tests: a mock Keycloak (wiremock) serving fixture payloads.
//!
//! Keycloak cannot run on the machines these tests run on. The payloads are authentic where an
//! authentic sample exists (`*.from-kc9-*.json`, extracted from a real Keycloak export) and
//! hand-written from the Admin REST API representation fields otherwise
//! (`*.handwritten-from-representation.json`); see `fixtures/PROVENANCE.md`.
#![allow(dead_code)]

use portcullis_connectors::keycloak::Keycloak;
use portcullis_connectors::BackendConfig;
use portcullis_model::BackendKind;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use wiremock::matchers::{
    any, basic_auth, bearer_token, body_string_contains, method, path, query_param,
};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const CLIENT: &str = "portcullis";
pub const SECRET: &str = "s3cret";
pub const REALM: &str = "realm-b";
/// The access token in the token-response fixture.
pub const TOKEN: &str = "handwritten.not-a-jwt.console-access-token";
pub const PAGE: usize = 2;

pub const JDOE: &str = "11111111-1111-4111-8111-111111111111";
pub const KOLO: &str = "22222222-2222-4222-8222-222222222222";
pub const ALICE: &str = "33333333-3333-4333-8333-333333333333";
pub const BOB: &str = "44444444-4444-4444-8444-444444444444";
pub const ADMIN: &str = "19aeb848-96fc-44f6-b0a3-59a17570d374";
pub const SA: &str = "d584459f-4626-4e47-b017-4eaf96a0da27";
pub const REALM_B_CLIENT: &str = "b25cbe24-b039-4f1d-82f3-6e017017bdc5";
pub const ACCOUNT_CONSOLE: &str = "aaaaaaaa-0000-4000-8000-0000000000c1";
pub const REALM_MANAGEMENT: &str = "6e950f09-9cb9-44f0-a5dd-ccaea9f057f2";
pub const S_ALICE: &str = "a1a1a1a1-0000-4000-8000-00000000a5e5";
pub const S_JDOE: &str = "b2b2b2b2-0000-4000-8000-00000000a5e5";
pub const G_ENGINEERING: &str = "9e000000-0000-4000-8000-0000000e0001";
pub const G_PLATFORM: &str = "9e000000-0000-4000-8000-0000000e0002";
pub const G_SRE: &str = "9e000000-0000-4000-8000-0000000e0003";
pub const G_ADMINS: &str = "9e000000-0000-4000-8000-0000000e0004";

/// The fixtures, from the connectors' tests or (for the CLI and engine tests, which include this
/// module from their own crates) through the workspace.
pub fn fixture_text(name: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = [
        "tests/fixtures/keycloak",
        "../crates/connectors/tests/fixtures/keycloak",
        "../connectors/tests/fixtures/keycloak",
    ]
    .iter()
    .map(|d| root.join(d))
    .find(|d| d.is_dir())
    .unwrap_or_else(|| root.join("tests/fixtures/keycloak"));
    let p = dir.join(name).display().to_string();
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

pub fn fixture(name: &str) -> Value {
    serde_json::from_str(&fixture_text(name)).unwrap()
}

/// A hand-written fixture by its short name.
pub fn hw(name: &str) -> Value {
    fixture(&format!("{name}.handwritten-from-representation.json"))
}

pub fn admin(p: &str) -> String {
    format!("/admin/realms/{REALM}{p}")
}

pub fn oidc(p: &str) -> String {
    format!("/realms/{REALM}/protocol/openid-connect{p}")
}

pub struct Kc {
    pub server: MockServer,
    /// The page size listings are served in (and the test connector asks for).
    pub page: usize,
}

impl Kc {
    /// A mock with the token endpoint answering the console's client credentials, and a
    /// catch-all that answers 418 to anything not mounted (so an unexpected call fails loudly).
    pub async fn start() -> Kc {
        let kc = Kc::bare().await;
        kc.token_endpoint(hw("keycloak-token-response.client-credentials"))
            .await;
        kc
    }

    /// A mock with only the catch-all.
    pub async fn bare() -> Kc {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(418).set_body_string("not mounted in the mock"))
            .with_priority(255)
            .mount(&server)
            .await;
        Kc { server, page: PAGE }
    }

    pub async fn token_endpoint(&self, body: Value) {
        Mock::given(method("POST"))
            .and(path(oidc("/token")))
            .and(basic_auth(CLIENT, SECRET))
            .and(body_string_contains("grant_type=client_credentials"))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&self.server)
            .await;
    }

    pub fn url(&self) -> String {
        self.server
            .uri()
            .replacen("http://", &format!("http://{CLIENT}@"), 1)
            + format!("/realms/{REALM}").as_str()
    }

    pub fn connector(&self) -> Keycloak {
        self.connector_with_secret(Some(SECRET))
    }

    pub fn connector_with_secret(&self, secret: Option<&str>) -> Keycloak {
        Keycloak::new(BackendConfig {
            name: "kc-test".into(),
            kind: BackendKind::Keycloak,
            url: self.url(),
            secret: secret.map(|s| SecretString::from(s.to_string())),
            timeout: Duration::from_secs(5),
            audit_log: None,
        })
        .unwrap()
        .with_page_size(self.page)
    }

    /// GET `p` (admin path) with the console's bearer token → 200 `body`.
    pub async fn get(&self, p: &str, body: Value) {
        Mock::given(method("GET"))
            .and(path(admin(p)))
            .and(bearer_token(TOKEN))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&self.server)
            .await;
    }

    /// GET `p` → `status` with `body`.
    pub async fn get_status(&self, p: &str, status: u16, body: Value) {
        Mock::given(method("GET"))
            .and(path(admin(p)))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .with_priority(1)
            .mount(&self.server)
            .await;
    }

    /// A listing served in pages of `self.page` (`first`/`max`), with `query` required on each
    /// request; a final empty page when the items fill the last one.
    pub async fn paged(&self, p: &str, items: &[Value], query: &[(&str, &str)]) {
        let mut first = 0;
        loop {
            let page: Vec<Value> = items.iter().skip(first).take(self.page).cloned().collect();
            let mut m = Mock::given(method("GET"))
                .and(path(admin(p)))
                .and(bearer_token(TOKEN))
                .and(query_param("first", first.to_string()))
                .and(query_param("max", self.page.to_string()));
            for (k, v) in query {
                m = m.and(query_param(*k, *v));
            }
            let short = page.len() < self.page;
            m.respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(page)))
                .mount(&self.server)
                .await;
            if short {
                return;
            }
            first += self.page;
        }
    }

    /// Everything `inventory()` reads, from the fixtures.
    pub async fn mount_realm(&self) {
        let clients = as_list(hw("keycloak-clients"));
        self.paged("/clients", &clients, &[]).await;
        let realm_roles = as_list(fixture("keycloak-realm-roles.from-kc9-export.json"));
        self.paged("/roles", &realm_roles, &[]).await;
        let client_roles: BTreeMap<String, Value> = serde_json::from_value(fixture(
            "keycloak-client-roles.all-clients.from-kc9-export.json",
        ))
        .unwrap();
        for c in &clients {
            let (uuid, cid) = (s(&c["id"]), s(&c["clientId"]));
            let roles = client_roles
                .get(&cid)
                .map(|v| as_list(v.clone()))
                .unwrap_or_default();
            self.paged(&format!("/clients/{uuid}/roles"), &roles, &[])
                .await;
            self.get(
                &format!("/clients/{uuid}/default-client-scopes"),
                hw("keycloak-client-default-client-scopes"),
            )
            .await;
            self.get(
                &format!("/clients/{uuid}/optional-client-scopes"),
                hw("keycloak-client-optional-client-scopes"),
            )
            .await;
            let online = by_key("keycloak-user-sessions.by-client", &uuid);
            self.paged(&format!("/clients/{uuid}/user-sessions"), &online, &[])
                .await;
            let offline = by_key("keycloak-offline-sessions.by-client", &uuid);
            self.paged(&format!("/clients/{uuid}/offline-sessions"), &offline, &[])
                .await;
        }
        self.get(
            &format!("/clients/{REALM_B_CLIENT}/service-account-user"),
            hw("keycloak-service-account-user.realm-b-client"),
        )
        .await;
        // Composites, from the `composites` the authentic export records for each role.
        let all_roles: Vec<Value> = realm_roles
            .iter()
            .cloned()
            .chain(client_roles.values().flat_map(|v| as_list(v.clone())))
            .collect();
        for (id, children) in composites_from_export(&all_roles) {
            self.get(
                &format!("/roles-by-id/{id}/composites"),
                Value::Array(children),
            )
            .await;
        }
        let scopes = fixture("keycloak-client-scopes.from-kc9-export.json");
        self.get("/client-scopes", scopes.clone()).await;
        let scope_mappings = hw("keycloak-client-scope-mappings.by-client-scope");
        for sc in as_list(scopes) {
            let id = s(&sc["id"]);
            let m = scope_mappings
                .get(&id)
                .cloned()
                .unwrap_or_else(|| json!({}));
            self.get(&format!("/client-scopes/{id}/scope-mappings"), m)
                .await;
        }
        let users = as_list(hw("keycloak-users.brief"));
        self.paged("/users", &users, &[("briefRepresentation", "true")])
            .await;
        let mappings = hw("keycloak-role-mappings.by-user");
        let consents = hw("keycloak-consents.by-user");
        for id in users.iter().map(|u| s(&u["id"])).chain([SA.to_string()]) {
            let m = mappings.get(&id).cloned().unwrap_or_else(|| json!({}));
            self.get(&format!("/users/{id}/role-mappings"), m).await;
            let c = consents.get(&id).cloned().unwrap_or_else(|| json!([]));
            self.get(&format!("/users/{id}/consents"), c).await;
        }
        let top = as_list(hw("keycloak-groups.top-level.kc26"));
        self.paged("/groups", &top, &[("briefRepresentation", "true")])
            .await;
        let children = hw("keycloak-group-children.by-group");
        let members = hw("keycloak-group-members.by-group");
        let group_mappings = hw("keycloak-group-role-mappings.by-group");
        for g in [G_ENGINEERING, G_PLATFORM, G_SRE, G_ADMINS] {
            if let Some(kids) = children.get(g) {
                self.paged(
                    &format!("/groups/{g}/children"),
                    &as_list(kids.clone()),
                    &[("briefRepresentation", "true")],
                )
                .await;
            }
            let m = members
                .get(g)
                .map(|v| as_list(v.clone()))
                .unwrap_or_default();
            self.paged(
                &format!("/groups/{g}/members"),
                &m,
                &[("briefRepresentation", "true")],
            )
            .await;
            let rm = group_mappings.get(g).cloned().unwrap_or_else(|| json!({}));
            self.get(&format!("/groups/{g}/role-mappings"), rm).await;
        }
    }

    /// The requests the mock received, as `METHOD path?query`.
    pub async fn requests(&self) -> Vec<String> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| {
                format!(
                    "{} {}{}",
                    r.method,
                    r.url.path(),
                    r.url.query().map(|q| format!("?{q}")).unwrap_or_default()
                )
            })
            .collect()
    }
}

pub fn s(v: &Value) -> String {
    v.as_str().unwrap().to_string()
}

pub fn as_list(v: Value) -> Vec<Value> {
    v.as_array().cloned().unwrap()
}

fn by_key(fixture_name: &str, key: &str) -> Vec<Value> {
    hw(fixture_name)
        .get(key)
        .map(|v| as_list(v.clone()))
        .unwrap_or_default()
}

/// `roles-by-id/{id}/composites` answers, built from the export's `composites` (names) resolved
/// to the exported roles themselves.
pub fn composites_from_export(all_roles: &[Value]) -> Vec<(String, Vec<Value>)> {
    let client_roles: BTreeMap<String, Value> = serde_json::from_value(fixture(
        "keycloak-client-roles.all-clients.from-kc9-export.json",
    ))
    .unwrap();
    let realm_roles = as_list(fixture("keycloak-realm-roles.from-kc9-export.json"));
    let mut out = Vec::new();
    for r in all_roles {
        let Some(comp) = r.get("composites") else {
            continue;
        };
        let mut children = Vec::new();
        for name in comp["realm"].as_array().cloned().unwrap_or_default() {
            children.extend(realm_roles.iter().filter(|x| x["name"] == name).cloned());
        }
        if let Some(by_client) = comp["client"].as_object() {
            for (client, names) in by_client {
                for name in names.as_array().cloned().unwrap_or_default() {
                    children.extend(
                        as_list(client_roles[client].clone())
                            .into_iter()
                            .filter(|x| x["name"] == name),
                    );
                }
            }
        }
        out.push((s(&r["id"]), children));
    }
    out
}
