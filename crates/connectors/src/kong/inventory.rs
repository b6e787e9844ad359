//! Kong entities → the normalised inventory, as a pure function of what the Admin API returned.
//!
//! Mapping (documented here because the model has no Kong words):
//! - a **consumer** is a `client` principal (external id = Kong's consumer id); a **consumer
//!   group** (Enterprise) is a `group` principal `consumer_group/{id}`, with consumer→group edges;
//! - an **ACL group** (the `group` of an acl credential) is a role `acl/{group}`, with a
//!   consumer→role grant per ACL entry;
//! - an enabled **acl plugin** becomes one permission per list: `acl-plugin/{plugin id}/allow`
//!   and `acl-plugin/{plugin id}/deny`, on the resource `route:{name or id}`,
//!   `service:{name or id}` or `global`, granted from each listed group's role. An allow on a
//!   route whose `methods` are all safe (GET, HEAD, OPTIONS) is `read`; any other allow is
//!   `other` (calling the API through the gateway, whatever the upstream does with it); a deny is
//!   `deny`. Routes and services appear as those resources; their details are in `raw`;
//! - **credentials** keep Kong's own id as external id (it is what the logs' `authenticated_entity`
//!   names). Key material is never kept: `key`, `secret`, `client_secret`, `access_token` and
//!   `refresh_token` are reduced to a SHA-256 fingerprint while parsing ([`Fingerprint`]); a
//!   basic-auth `password` (stored hashed by Kong) is dropped.

use chrono::{DateTime, TimeZone, Utc};
use portcullis_model::{
    Action, Credential, CredentialKind, CredentialStatus, Grant, Inventory, NodeKind, Permission,
    Principal, PrincipalKind, Role,
};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};

/// A secret string field: only its SHA-256 survives deserialisation, the value is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(pub String);

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = String::deserialize(d)?;
        Ok(Fingerprint(crate::fingerprint(&value)))
    }
}

/// A field whose value is dropped unread beyond "was it there": for hashed passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Present;

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(Present)
    }
}

/// `{"id": "..."}`: how Kong points at another entity.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EntityRef {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Consumer {
    pub id: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub custom_id: Option<String>,
    #[serde(default)]
    pub created_at: Option<Value>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

impl Consumer {
    pub fn display_name(&self) -> String {
        self.username
            .clone()
            .or_else(|| self.custom_id.clone())
            .unwrap_or_else(|| self.id.clone())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ConsumerGroup {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub created_at: Option<Value>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

/// A consumer group with the ids of its members.
#[derive(Debug, Clone)]
pub struct GroupMembers {
    pub group: ConsumerGroup,
    pub consumer_ids: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct KeyAuth {
    pub id: String,
    #[serde(default)]
    pub consumer: Option<EntityRef>,
    #[serde(default)]
    pub key: Option<Fingerprint>,
    #[serde(default)]
    pub ttl: Option<i64>,
    #[serde(default)]
    pub created_at: Option<Value>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Jwt {
    pub id: String,
    #[serde(default)]
    pub consumer: Option<EntityRef>,
    #[serde(default)]
    pub key: Option<Fingerprint>,
    #[serde(default)]
    pub secret: Option<Fingerprint>,
    #[serde(default)]
    pub algorithm: Option<String>,
    #[serde(default)]
    pub rsa_public_key: Option<Fingerprint>,
    #[serde(default)]
    pub created_at: Option<Value>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BasicAuth {
    pub id: String,
    #[serde(default)]
    pub consumer: Option<EntityRef>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Present>,
    #[serde(default)]
    pub created_at: Option<Value>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HmacAuth {
    pub id: String,
    #[serde(default)]
    pub consumer: Option<EntityRef>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub secret: Option<Fingerprint>,
    #[serde(default)]
    pub created_at: Option<Value>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

/// An OAuth 2.0 application (Kong's `oauth2` credential).
#[derive(Debug, Clone, Deserialize)]
pub struct OAuth2App {
    pub id: String,
    #[serde(default)]
    pub consumer: Option<EntityRef>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<Fingerprint>,
    #[serde(default)]
    pub hash_secret: Option<bool>,
    #[serde(default)]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    pub created_at: Option<Value>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

/// An issued OAuth 2.0 token. Kong 0.x–1.x returned flat `credential_id`/`service_id` and
/// millisecond `created_at`; current Kong nests `credential: {id}`/`service: {id}` in seconds.
#[derive(Debug, Clone, Deserialize)]
pub struct OAuth2Token {
    pub id: String,
    #[serde(default)]
    pub credential: Option<EntityRef>,
    #[serde(default)]
    pub credential_id: Option<String>,
    #[serde(default)]
    pub service: Option<EntityRef>,
    #[serde(default)]
    pub service_id: Option<String>,
    #[serde(default)]
    pub access_token: Option<Fingerprint>,
    #[serde(default)]
    pub refresh_token: Option<Fingerprint>,
    #[serde(default)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub created_at: Option<Value>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub authenticated_userid: Option<String>,
    #[serde(default)]
    pub token_type: Option<String>,
}

impl OAuth2Token {
    pub fn credential_id(&self) -> Option<&str> {
        self.credential
            .as_ref()
            .map(|c| c.id.as_str())
            .or(self.credential_id.as_deref())
    }

    pub fn service_id(&self) -> Option<&str> {
        self.service
            .as_ref()
            .map(|s| s.id.as_str())
            .or(self.service_id.as_deref())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Acl {
    pub id: String,
    #[serde(default)]
    pub consumer: Option<EntityRef>,
    pub group: String,
    #[serde(default)]
    pub created_at: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Plugin {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub route: Option<EntityRef>,
    #[serde(default)]
    pub service: Option<EntityRef>,
    #[serde(default)]
    pub consumer: Option<EntityRef>,
    #[serde(default)]
    pub config: Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Route {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub methods: Option<Vec<String>>,
    #[serde(default)]
    pub paths: Option<Vec<String>>,
    #[serde(default)]
    pub hosts: Option<Vec<String>>,
    #[serde(default)]
    pub protocols: Option<Vec<String>>,
    #[serde(default)]
    pub service: Option<EntityRef>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Service {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub port: Option<i64>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
}

/// Everything read from one Kong node, before mapping.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub consumers: Vec<Consumer>,
    pub consumer_groups: Vec<GroupMembers>,
    pub key_auths: Vec<KeyAuth>,
    pub jwts: Vec<Jwt>,
    pub basic_auths: Vec<BasicAuth>,
    pub hmac_auths: Vec<HmacAuth>,
    pub oauth2_apps: Vec<OAuth2App>,
    pub oauth2_tokens: Vec<OAuth2Token>,
    pub acls: Vec<Acl>,
    pub plugins: Vec<Plugin>,
    pub routes: Vec<Route>,
    pub services: Vec<Service>,
}

/// The role id of an ACL group.
pub fn acl_role_id(group: &str) -> String {
    format!("acl/{group}")
}

/// The principal id of a consumer group.
pub fn consumer_group_id(id: &str) -> String {
    format!("consumer_group/{id}")
}

/// Kong timestamps are epoch seconds, except in old payloads (and log `started_at`), which are
/// milliseconds; a value past year 5138 in seconds is taken as milliseconds.
pub fn kong_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let n = v?.as_f64()?;
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let millis = if n > 1e11 { n } else { n * 1000.0 };
    if millis > 8.0e15 {
        return None;
    }
    Utc.timestamp_millis_opt(millis as i64).single()
}

const SAFE_METHODS: [&str; 3] = ["GET", "HEAD", "OPTIONS"];

/// The resource an entity-scoped plugin applies to, and the action an allow on it grants.
fn plugin_scope(
    plugin: &Plugin,
    routes: &HashMap<&str, &Route>,
    services: &HashMap<&str, &Service>,
) -> (String, Action, Value) {
    if let Some(r) = &plugin.route {
        let route = routes.get(r.id.as_str());
        let name = route
            .and_then(|x| x.name.clone())
            .unwrap_or_else(|| r.id.clone());
        let methods = route.and_then(|x| x.methods.clone()).unwrap_or_default();
        let read_only = !methods.is_empty()
            && methods
                .iter()
                .all(|m| SAFE_METHODS.contains(&m.to_ascii_uppercase().as_str()));
        let detail = match route {
            Some(x) => json!({
                "id": x.id, "name": x.name, "methods": x.methods, "paths": x.paths,
                "hosts": x.hosts, "protocols": x.protocols,
                "service": x.service.as_ref().map(|s| &s.id),
            }),
            None => json!({ "id": r.id, "known": false }),
        };
        let action = if read_only {
            Action::Read
        } else {
            Action::Other
        };
        return (format!("route:{name}"), action, json!({ "route": detail }));
    }
    if let Some(s) = &plugin.service {
        let service = services.get(s.id.as_str());
        let name = service
            .and_then(|x| x.name.clone())
            .unwrap_or_else(|| s.id.clone());
        let detail = match service {
            Some(x) => json!({
                "id": x.id, "name": x.name, "host": x.host, "port": x.port,
                "protocol": x.protocol, "path": x.path,
            }),
            None => json!({ "id": s.id, "known": false }),
        };
        return (
            format!("service:{name}"),
            Action::Other,
            json!({ "service": detail }),
        );
    }
    ("global".to_string(), Action::Other, json!({}))
}

/// The groups of an acl plugin's list; `whitelist`/`blacklist` are the pre-2.1 names.
fn acl_list(config: &Value, key: &str, legacy: &str) -> Vec<String> {
    let list = config
        .get(key)
        .filter(|v| !v.is_null())
        .or_else(|| config.get(legacy));
    list.and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|g| g.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Collects inventory rows, keeping the first of each id and the order they were added.
#[derive(Default)]
struct Builder {
    inv: Inventory,
    principals: BTreeSet<String>,
    roles: BTreeSet<String>,
    permissions: BTreeSet<String>,
    grants: BTreeSet<(String, String, String, String)>,
}

impl Builder {
    fn principal(&mut self, p: Principal) {
        if self.principals.insert(p.external_id.clone()) {
            self.inv.principals.push(p);
        }
    }

    fn role(&mut self, r: Role) {
        if self.roles.insert(r.external_id.clone()) {
            self.inv.roles.push(r);
        }
    }

    fn permission(&mut self, p: Permission) {
        if self.permissions.insert(p.external_id.clone()) {
            self.inv.permissions.push(p);
        }
    }

    fn grant(&mut self, from_kind: NodeKind, from: &str, to_kind: NodeKind, to: &str) {
        let key = (
            from_kind.as_str().to_string(),
            from.to_string(),
            to_kind.as_str().to_string(),
            to.to_string(),
        );
        if self.grants.insert(key) {
            self.inv.grants.push(Grant {
                from_kind,
                from_id: from.to_string(),
                to_kind,
                to_id: to.to_string(),
            });
        }
    }

    fn acl_role(&mut self, group: &str) -> String {
        let id = acl_role_id(group);
        self.role(Role {
            external_id: id.clone(),
            name: group.to_string(),
            description: Some("Kong ACL group".into()),
        });
        id
    }
}

fn fp(f: &Option<Fingerprint>) -> Value {
    f.as_ref().map(|f| json!(f.0)).unwrap_or(Value::Null)
}

fn consumer_of(r: &Option<EntityRef>) -> Option<String> {
    r.as_ref().map(|c| c.id.clone())
}

#[allow(clippy::too_many_arguments)]
fn credential(
    id: &str,
    kind: CredentialKind,
    consumer: Option<String>,
    client: Option<String>,
    scopes: Vec<String>,
    issued_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    attrs: Value,
) -> Credential {
    let status = match expires_at {
        Some(t) if t <= now => CredentialStatus::Expired,
        _ => CredentialStatus::Active,
    };
    Credential {
        external_id: id.to_string(),
        kind,
        principal_external_id: consumer,
        client,
        scopes,
        issued_at,
        expires_at,
        last_used_at: None,
        status,
        attrs,
    }
}

/// Maps a snapshot to the normalised inventory. `now` turns a key-auth `ttl` (seconds left when
/// Kong answered) into an expiry; it is rounded to the minute so re-syncs do not churn.
pub fn map_inventory(s: &Snapshot, now: DateTime<Utc>) -> Inventory {
    let mut b = Builder::default();

    for c in &s.consumers {
        b.principal(Principal {
            external_id: c.id.clone(),
            kind: PrincipalKind::Client,
            name: c.display_name(),
            enabled: true,
            attrs: json!({
                "kong_entity": "consumer",
                "username": c.username,
                "custom_id": c.custom_id,
                "tags": c.tags,
                "created_at": kong_time(c.created_at.as_ref()),
            }),
        });
    }
    for g in &s.consumer_groups {
        let gid = consumer_group_id(&g.group.id);
        b.principal(Principal {
            external_id: gid.clone(),
            kind: PrincipalKind::Group,
            name: g.group.name.clone(),
            enabled: true,
            attrs: json!({
                "kong_entity": "consumer_group",
                "id": g.group.id,
                "tags": g.group.tags,
                "created_at": kong_time(g.group.created_at.as_ref()),
            }),
        });
        for c in &g.consumer_ids {
            b.grant(NodeKind::Principal, c, NodeKind::Principal, &gid);
        }
    }

    // ACL groups and memberships.
    for acl in &s.acls {
        let role = b.acl_role(&acl.group);
        if let Some(c) = &acl.consumer {
            b.grant(NodeKind::Principal, &c.id, NodeKind::Role, &role);
        }
    }

    // acl plugins: what each group may (or may not) call.
    let routes: HashMap<&str, &Route> = s.routes.iter().map(|r| (r.id.as_str(), r)).collect();
    let services: HashMap<&str, &Service> = s.services.iter().map(|x| (x.id.as_str(), x)).collect();
    for plugin in s
        .plugins
        .iter()
        .filter(|p| p.name == "acl" && p.enabled != Some(false))
    {
        let (resource, allow_action, scope) = plugin_scope(plugin, &routes, &services);
        for (list, legacy, action) in [
            ("allow", "whitelist", allow_action),
            ("deny", "blacklist", Action::Deny),
        ] {
            let groups = acl_list(&plugin.config, list, legacy);
            if groups.is_empty() {
                continue;
            }
            let id = format!("acl-plugin/{}/{list}", plugin.id);
            let mut raw = json!({
                "plugin": "acl",
                "plugin_id": plugin.id,
                "list": list,
                "groups": groups,
                "hide_groups_header": plugin.config.get("hide_groups_header"),
                "always_use_authenticated_groups": plugin.config.get("always_use_authenticated_groups"),
            });
            if let (Some(raw), Some(scope)) = (raw.as_object_mut(), scope.as_object()) {
                raw.extend(scope.clone());
            }
            b.permission(Permission {
                external_id: id.clone(),
                name: if list == "allow" {
                    format!("call {resource}")
                } else {
                    format!("denied {resource}")
                },
                resource: resource.clone(),
                action,
                raw,
            });
            for g in &groups {
                let role = b.acl_role(g);
                b.grant(NodeKind::Role, &role, NodeKind::Permission, &id);
            }
        }
    }

    // Credentials.
    let ttl_base = now
        .timestamp()
        .checked_div(60)
        .and_then(|m| Utc.timestamp_opt(m * 60, 0).single())
        .unwrap_or(now);
    for k in &s.key_auths {
        let expires = k
            .ttl
            .filter(|t| *t > 0)
            .and_then(|t| ttl_base.checked_add_signed(chrono::Duration::seconds(t)));
        b.inv.credentials.push(credential(
            &k.id,
            CredentialKind::ApiKey,
            consumer_of(&k.consumer),
            None,
            vec![],
            kong_time(k.created_at.as_ref()),
            expires,
            now,
            json!({
                "plugin": "key-auth",
                "key_sha256": fp(&k.key),
                "ttl_seconds": k.ttl,
                "tags": k.tags,
            }),
        ));
    }
    for j in &s.jwts {
        b.inv.credentials.push(credential(
            &j.id,
            CredentialKind::ApiKey,
            consumer_of(&j.consumer),
            None,
            vec![],
            kong_time(j.created_at.as_ref()),
            None,
            now,
            json!({
                "plugin": "jwt",
                "algorithm": j.algorithm,
                "key_sha256": fp(&j.key),
                "secret_sha256": fp(&j.secret),
                "rsa_public_key_sha256": fp(&j.rsa_public_key),
                "tags": j.tags,
            }),
        ));
    }
    for a in &s.basic_auths {
        b.inv.credentials.push(credential(
            &a.id,
            CredentialKind::Login,
            consumer_of(&a.consumer),
            None,
            vec![],
            kong_time(a.created_at.as_ref()),
            None,
            now,
            json!({
                "plugin": "basic-auth",
                "username": a.username,
                "has_password": a.password.is_some(),
                "tags": a.tags,
            }),
        ));
    }
    for h in &s.hmac_auths {
        b.inv.credentials.push(credential(
            &h.id,
            CredentialKind::ApiKey,
            consumer_of(&h.consumer),
            None,
            vec![],
            kong_time(h.created_at.as_ref()),
            None,
            now,
            json!({
                "plugin": "hmac-auth",
                "username": h.username,
                "secret_sha256": fp(&h.secret),
                "tags": h.tags,
            }),
        ));
    }
    let apps: HashMap<&str, &OAuth2App> =
        s.oauth2_apps.iter().map(|a| (a.id.as_str(), a)).collect();
    for a in &s.oauth2_apps {
        // A hashed secret's digest identifies nothing a reviewer could bring: keep it only when
        // Kong stores the secret in clear.
        let secret = if a.hash_secret == Some(true) {
            Value::Null
        } else {
            fp(&a.client_secret)
        };
        b.inv.credentials.push(credential(
            &a.id,
            CredentialKind::ApiKey,
            consumer_of(&a.consumer),
            a.client_id.clone(),
            vec![],
            kong_time(a.created_at.as_ref()),
            None,
            now,
            json!({
                "plugin": "oauth2",
                "name": a.name,
                "client_id": a.client_id,
                "client_secret_sha256": secret,
                "hash_secret": a.hash_secret,
                "redirect_uris": a.redirect_uris,
                "tags": a.tags,
            }),
        ));
    }
    for t in &s.oauth2_tokens {
        let app = t.credential_id().and_then(|c| apps.get(c));
        let issued = kong_time(t.created_at.as_ref());
        // `expires_in` is static: expiry = created_at + expires_in (Kong oauth2 docs).
        let expires = match (issued, t.expires_in) {
            (Some(i), Some(e)) if e > 0 => i.checked_add_signed(chrono::Duration::seconds(e)),
            _ => None,
        };
        let scopes = t
            .scope
            .as_deref()
            .unwrap_or("")
            .split([' ', ','])
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect();
        b.inv.credentials.push(credential(
            &t.id,
            CredentialKind::AccessToken,
            app.and_then(|a| consumer_of(&a.consumer)),
            app.and_then(|a| a.client_id.clone()),
            scopes,
            issued,
            expires,
            now,
            json!({
                "plugin": "oauth2",
                "oauth2_credential_id": t.credential_id(),
                "service_id": t.service_id(),
                "token_type": t.token_type,
                "authenticated_userid": t.authenticated_userid,
                "access_token_sha256": fp(&t.access_token),
                "refresh_token_sha256": fp(&t.refresh_token),
                "has_refresh_token": t.refresh_token.is_some(),
                "expires_in": t.expires_in,
            }),
        ));
    }
    b.inv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kong_time_takes_seconds_and_milliseconds() {
        let s = kong_time(Some(&json!(1422386534))).unwrap();
        let ms = kong_time(Some(&json!(1422386534000_i64))).unwrap();
        assert_eq!(s, ms);
        assert!(kong_time(Some(&json!(-1))).is_none());
        assert!(kong_time(Some(&json!("x"))).is_none());
        assert!(kong_time(Some(&json!(1e300))).is_none());
    }

    #[test]
    fn fingerprint_drops_the_value() {
        let k: KeyAuth =
            serde_json::from_value(json!({"id": "k", "key": "s3cret", "consumer": {"id": "c"}}))
                .unwrap();
        assert_eq!(k.key.unwrap().0, crate::fingerprint("s3cret"));
    }

    #[test]
    fn acl_plugin_on_read_only_route_is_read() {
        let s = Snapshot {
            routes: vec![serde_json::from_value(
                json!({"id": "r1", "name": "reports", "methods": ["GET", "head"]}),
            )
            .unwrap()],
            plugins: vec![serde_json::from_value(json!({
                "id": "p1", "name": "acl", "route": {"id": "r1"},
                "config": {"allow": ["readers"], "deny": ["interns"]}
            }))
            .unwrap()],
            ..Snapshot::default()
        };
        let inv = map_inventory(&s, Utc::now());
        let allow = inv
            .permissions
            .iter()
            .find(|p| p.external_id == "acl-plugin/p1/allow")
            .unwrap();
        assert_eq!(allow.action, Action::Read);
        assert_eq!(allow.resource, "route:reports");
        let deny = inv
            .permissions
            .iter()
            .find(|p| p.external_id == "acl-plugin/p1/deny")
            .unwrap();
        assert_eq!(deny.action, Action::Deny);
        assert!(inv.grants.contains(&Grant {
            from_kind: NodeKind::Role,
            from_id: "acl/interns".into(),
            to_kind: NodeKind::Permission,
            to_id: "acl-plugin/p1/deny".into(),
        }));
    }
}
