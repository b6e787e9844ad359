//! The Kubernetes objects Portcullis reads (RBAC roles and bindings, ServiceAccounts, legacy
//! service-account token Secrets), typed loosely enough for every served or `kubectl`-printed
//! version (`rbac.authorization.k8s.io/v1`, `v1beta1`, `rules: null`, missing fields), and the
//! one place where lists are flattened and objects sorted by kind.
//!
//! A Secret's data is never kept: of all its keys only `data.token` is read, and it is reduced to
//! the SHA-256 of the decoded token while parsing ([`TokenFingerprint`]).

use base64::Engine;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::BTreeMap;

/// `null` and absent both mean "empty".
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Label and annotation values as strings, whatever YAML typed them as.
fn string_map<'de, D>(d: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw: Option<BTreeMap<String, Value>> = Option::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (k, s)
        })
        .collect())
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "string_map")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub creation_timestamp: Option<String>,
    #[serde(default)]
    pub resource_version: Option<String>,
}

impl Meta {
    pub fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    #[serde(default, deserialize_with = "nullable")]
    pub api_groups: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub resources: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub verbs: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub resource_names: Vec<String>,
    #[serde(default, rename = "nonResourceURLs", deserialize_with = "nullable")]
    pub non_resource_urls: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelRequirement {
    pub key: String,
    pub operator: String,
    #[serde(default, deserialize_with = "nullable")]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default, deserialize_with = "string_map")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub match_expressions: Vec<LabelRequirement>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregationRule {
    #[serde(default, deserialize_with = "nullable")]
    pub cluster_role_selectors: Vec<LabelSelector>,
}

/// A Role or a ClusterRole (a Role never has an aggregation rule).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleObj {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default, deserialize_with = "nullable")]
    pub rules: Vec<PolicyRule>,
    #[serde(default)]
    pub aggregation_rule: Option<AggregationRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRef {
    #[serde(default, deserialize_with = "nullable")]
    pub kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default)]
    pub api_group: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    #[serde(default, deserialize_with = "nullable")]
    pub kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
}

/// A RoleBinding or a ClusterRoleBinding.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BindingObj {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub role_ref: RoleRef,
    #[serde(default, deserialize_with = "nullable")]
    pub subjects: Vec<Subject>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NameRef {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountObj {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default, deserialize_with = "nullable")]
    pub secrets: Vec<NameRef>,
    #[serde(default)]
    pub automount_service_account_token: Option<bool>,
}

/// SHA-256 of a base64 `data.token`, decoded; `None` when it does not decode. The token itself is
/// dropped during deserialisation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenFingerprint(pub Option<String>);

impl<'de> Deserialize<'de> for TokenFingerprint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let encoded: Option<String> = Option::deserialize(d)?;
        Ok(TokenFingerprint(encoded.and_then(|e| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(e.trim())
                .ok()?;
            let token = String::from_utf8(bytes).ok()?;
            Some(crate::fingerprint(&token))
        })))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SecretData {
    #[serde(default)]
    pub token: TokenFingerprint,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretObj {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default, rename = "type")]
    pub secret_type: Option<String>,
    #[serde(default)]
    pub data: Option<SecretData>,
}

pub const SA_TOKEN_TYPE: &str = "kubernetes.io/service-account-token";

/// Everything relevant, sorted by kind.
#[derive(Debug, Clone, Default)]
pub struct Objects {
    pub roles: Vec<RoleObj>,
    pub cluster_roles: Vec<RoleObj>,
    pub role_bindings: Vec<BindingObj>,
    pub cluster_role_bindings: Vec<BindingObj>,
    pub service_accounts: Vec<ServiceAccountObj>,
    /// Secrets of type `kubernetes.io/service-account-token` only.
    pub token_secrets: Vec<SecretObj>,
    /// Objects of other kinds that were passed over (Status, Policy, Pods…), by kind.
    pub skipped: BTreeMap<String, usize>,
}

/// Why an object could not be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectError {
    /// Where in the input: "item 3 of the List", "document 2".
    pub at: String,
    pub reason: String,
}

fn kind_of(v: &Value) -> Option<&str> {
    v.get("kind")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
}

impl Objects {
    /// Adds one object, or every item of a `List` / `RoleList` / …; items without `kind` in a typed
    /// list (as the API serves them) take the list's item kind.
    pub fn add(&mut self, v: Value, at: &str) -> Result<(), ObjectError> {
        self.add_with_kind(v, at, None)
    }

    pub fn add_with_kind(
        &mut self,
        mut v: Value,
        at: &str,
        default_kind: Option<&str>,
    ) -> Result<(), ObjectError> {
        let err = |reason: String| ObjectError {
            at: at.to_string(),
            reason,
        };
        if !v.is_object() {
            return Err(err("not an object".into()));
        }
        let kind = kind_of(&v)
            .or(default_kind)
            .ok_or_else(|| {
                err(
                    "no `kind`: not a Kubernetes object (kubectl get … -o yaml|json prints it)"
                        .into(),
                )
            })?
            .to_string();
        if kind == "List" || (kind.ends_with("List") && v.get("items").is_some()) {
            let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
            let items = match v.as_object_mut().and_then(|o| o.remove("items")) {
                Some(Value::Array(a)) => a,
                Some(Value::Null) | None => Vec::new(),
                Some(_) => return Err(err(format!("`items` of the {kind} is not a list"))),
            };
            for (i, item) in items.into_iter().enumerate() {
                self.add_with_kind(item, &format!("{at}, item {}", i + 1), item_kind)?;
            }
            return Ok(());
        }
        let typed = |e: serde_json::Error| err(format!("{kind}: {e}"));
        match kind.as_str() {
            "Role" => self.roles.push(serde_json::from_value(v).map_err(typed)?),
            "ClusterRole" => self
                .cluster_roles
                .push(serde_json::from_value(v).map_err(typed)?),
            "RoleBinding" => self
                .role_bindings
                .push(serde_json::from_value(v).map_err(typed)?),
            "ClusterRoleBinding" => self
                .cluster_role_bindings
                .push(serde_json::from_value(v).map_err(typed)?),
            "ServiceAccount" => self
                .service_accounts
                .push(serde_json::from_value(v).map_err(typed)?),
            "Secret" => {
                let is_token = v.get("type").and_then(Value::as_str) == Some(SA_TOKEN_TYPE);
                if is_token {
                    self.token_secrets
                        .push(serde_json::from_value(v).map_err(typed)?);
                } else {
                    *self
                        .skipped
                        .entry("Secret (other types)".into())
                        .or_insert(0) += 1;
                }
            }
            other => *self.skipped.entry(other.to_string()).or_insert(0) += 1,
        }
        Ok(())
    }
}
