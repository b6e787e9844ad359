//! Reading a Vault / OpenBao inventory: policies (roles) and their rules (permissions), userpass
//! users and identity entities (principals) with their policies (grants), and tokens by accessor
//! (credentials). Token lookups run with bounded concurrency; each accessor's audit-log HMAC is
//! fetched too (when the console may), so audit events can be matched to tokens.

use chrono::{DateTime, TimeZone, Utc};
use futures::{stream, StreamExt};
use portcullis_model::{
    Credential, CredentialKind, CredentialStatus, Inventory, Principal, PrincipalKind, Progress,
    Role,
};
use serde::Deserialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

use super::policy::{parse_policy, policy_into};
use super::Vault;
use crate::{ConnectorError, ProgressFn};

const LOOKUP_CONCURRENCY: usize = 8;

#[derive(Debug, Deserialize)]
struct ListData {
    #[serde(default)]
    keys: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Wrapped<T> {
    pub data: T,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AccessorLookup {
    pub accessor: String,
    #[serde(default)]
    pub creation_time: Option<i64>,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub entity_id: String,
    #[serde(default)]
    pub expire_time: Option<String>,
    #[serde(default)]
    pub policies: Vec<String>,
    #[serde(default)]
    pub identity_policies: Vec<String>,
    #[serde(default)]
    pub meta: Option<HashMap<String, String>>,
    #[serde(default)]
    pub orphan: bool,
    #[serde(default)]
    pub renewable: bool,
    #[serde(default)]
    pub path: String,
    #[serde(rename = "type", default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub num_uses: i64,
    /// Seconds; present only for a periodic token, which renews forever unless
    /// `explicit_max_ttl` caps it (token store `handleLookup`).
    #[serde(default)]
    pub period: Option<i64>,
    #[serde(default)]
    pub explicit_max_ttl: Option<i64>,
}

impl AccessorLookup {
    pub fn issued_at(&self) -> Option<DateTime<Utc>> {
        self.creation_time
            .and_then(|t| Utc.timestamp_opt(t, 0).single())
    }

    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expire_time
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    }

    /// Who the token belongs to: its identity entity, else its display name.
    pub fn principal_id(&self) -> String {
        if !self.entity_id.is_empty() {
            self.entity_id.clone()
        } else {
            format!("token:{}", self.display_name)
        }
    }

    /// Renewable forever: a period and no explicit max TTL.
    pub fn periodic_forever(&self) -> bool {
        self.period.is_some_and(|p| p > 0) && self.explicit_max_ttl.unwrap_or(0) == 0
    }

    /// `period` is always written (null when the lookup has none, which for Vault and OpenBao means
    /// "not periodic"), so a reader can tell this from a cache synced before it was recorded.
    pub fn attrs(&self) -> serde_json::Value {
        json!({
            "period": self.period.filter(|p| *p > 0),
            "explicit_max_ttl": self.explicit_max_ttl,
            "periodic_forever": self.periodic_forever(),
            "display_name": self.display_name,
            "path": self.path,
            "orphan": self.orphan,
            "renewable": self.renewable,
            "type": self.token_type,
            "num_uses": self.num_uses,
            "identity_policies": self.identity_policies,
            "meta": self.meta,
        })
    }
}

impl Vault {
    /// `LIST` a path; Vault answers 404 for an empty list.
    pub(crate) async fn list(
        &self,
        path: &str,
        right: &str,
    ) -> Result<Vec<String>, ConnectorError> {
        match self
            .get_json::<Wrapped<ListData>>(&format!("{path}?list=true"), right)
            .await
        {
            Ok(w) => Ok(w.data.keys),
            Err(ConnectorError::NotFound { .. }) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn lookup_accessor(
        &self,
        accessor: &str,
    ) -> Result<AccessorLookup, ConnectorError> {
        let w: Wrapped<AccessorLookup> = self
            .post_json(
                "auth/token/lookup-accessor",
                &json!({ "accessor": accessor }),
                "update on auth/token/lookup-accessor",
            )
            .await?;
        Ok(w.data)
    }

    /// The audit device's HMAC of a value, or None when the console may not ask.
    async fn audit_hash(&self, device: &str, input: &str) -> Option<String> {
        #[derive(Deserialize)]
        struct Hash {
            hash: String,
        }
        let h: Result<Hash, _> = self
            .post_json(
                &format!("sys/audit-hash/{device}"),
                &json!({ "input": input }),
                "update on sys/audit-hash",
            )
            .await;
        h.ok().map(|h| h.hash)
    }

    async fn audit_devices(&self) -> Vec<String> {
        let v: Result<HashMap<String, serde_json::Value>, _> =
            self.get_json("sys/audit", "read on sys/audit").await;
        match v {
            Ok(map) => {
                let mut devices: Vec<String> = map
                    .iter()
                    .filter(|(_, d)| d.get("type").is_some())
                    .map(|(k, _)| k.trim_end_matches('/').to_string())
                    .collect();
                devices.sort();
                devices
            }
            Err(_) => Vec::new(),
        }
    }

    pub(crate) async fn read_inventory(
        &self,
        progress: &ProgressFn<'_>,
    ) -> Result<Inventory, ConnectorError> {
        let mut inv = Inventory::default();
        let task = "openbao inventory".to_string();
        progress(Progress::Started {
            task: task.clone(),
            total: None,
        });

        // Policies → roles + permissions.
        let names = self
            .list("sys/policies/acl", "list on sys/policies/acl")
            .await?;
        let mut perms = BTreeMap::new();
        for name in &names {
            let v: serde_json::Value = self
                .get_json(
                    &format!("sys/policies/acl/{name}"),
                    &format!("read on sys/policies/acl/{name}"),
                )
                .await?;
            let text = v
                .pointer("/data/policy")
                .or_else(|| v.get("policy"))
                .and_then(|p| p.as_str())
                .unwrap_or_default();
            inv.roles.push(Role {
                external_id: name.clone(),
                name: name.clone(),
                description: None,
            });
            if name == "root" {
                continue;
            }
            let rules = parse_policy(name, text).map_err(|e| ConnectorError::Malformed {
                target: self.http.target().to_string(),
                what: format!("policy {name}"),
                detail: e.detail,
            })?;
            policy_into(name, &rules, &mut inv.grants, &mut perms);
        }
        inv.permissions = perms.into_values().collect();
        progress(Progress::Advanced {
            task: task.clone(),
            done: 1,
            total: None,
            message: format!("{} policies", inv.roles.len()),
        });

        // Entities, groups and the accounts that log in as them → principals.
        self.read_identity(&mut inv).await?;

        // Tokens by accessor → credentials (with the audit HMAC of each accessor when allowed).
        let accessors = self
            .list("auth/token/accessors", "list+sudo on auth/token/accessors")
            .await?;
        let total = accessors.len() as u64;
        let device = self.audit_devices().await.into_iter().next();
        let looked_up: Vec<Result<(AccessorLookup, Option<String>), ConnectorError>> =
            stream::iter(accessors)
                .map(|acc| {
                    let device = device.clone();
                    async move {
                        let l = match self.lookup_accessor(&acc).await {
                            Ok(l) => l,
                            // Expired between LIST and lookup: not a failure of the sync.
                            Err(ConnectorError::Backend { status: 400, .. }) => {
                                return Err(ConnectorError::NotFound {
                                    target: String::new(),
                                    what: acc,
                                })
                            }
                            Err(e) => return Err(e),
                        };
                        let hash = match &device {
                            Some(d) => self.audit_hash(d, &acc).await,
                            None => None,
                        };
                        Ok((l, hash))
                    }
                })
                .buffer_unordered(LOOKUP_CONCURRENCY)
                .collect()
                .await;
        let mut known: std::collections::HashSet<String> = inv
            .principals
            .iter()
            .map(|p| p.external_id.clone())
            .collect();
        for (i, r) in looked_up.into_iter().enumerate() {
            let (l, hash) = match r {
                Ok(x) => x,
                Err(ConnectorError::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            if (i + 1) % 25 == 0 {
                progress(Progress::Advanced {
                    task: task.clone(),
                    done: i as u64 + 1,
                    total: Some(total),
                    message: "looking up tokens".into(),
                });
            }
            let pid = l.principal_id();
            if known.insert(pid.clone()) {
                inv.principals.push(Principal {
                    external_id: pid.clone(),
                    kind: PrincipalKind::Service,
                    name: l.display_name.clone(),
                    enabled: true,
                    attrs: json!({"source": "token without identity entity"}),
                });
            }
            let mut attrs = l.attrs();
            if let Some(h) = hash {
                attrs["audit_hash"] = json!(h);
            }
            let mut scopes = l.policies.clone();
            scopes.extend(l.identity_policies.iter().cloned());
            inv.credentials.push(Credential {
                external_id: l.accessor.clone(),
                kind: CredentialKind::Accessor,
                principal_external_id: Some(pid),
                client: None,
                scopes,
                issued_at: l.issued_at(),
                expires_at: l.expires_at(),
                last_used_at: None,
                status: CredentialStatus::Active,
                attrs,
            });
        }
        progress(Progress::Finished {
            task,
            ok: true,
            message: format!(
                "{} policies, {} principals, {} tokens",
                inv.roles.len(),
                inv.principals.len(),
                inv.credentials.len()
            ),
        });
        Ok(inv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> AccessorLookup {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/vault-openbao/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        serde_json::from_str::<Wrapped<AccessorLookup>>(&text)
            .unwrap()
            .data
    }

    #[test]
    fn a_periodic_tokens_lookup_records_its_period() {
        let l = lookup("openbao-auth-token-lookup-accessor-periodic.sandbox.response.json");
        assert_eq!(l.period, Some(86_400));
        assert_eq!(l.explicit_max_ttl, Some(0));
        assert!(l.periodic_forever());
        let a = l.attrs();
        assert_eq!(a["period"], 86_400);
        assert_eq!(a["periodic_forever"], true);
    }

    #[test]
    fn a_lookup_without_period_is_recorded_as_not_periodic() {
        let l = lookup("openbao-auth-token-lookup-accessor.response.json");
        assert_eq!(l.period, None);
        assert!(!l.periodic_forever());
        let a = l.attrs();
        // The key is there (null): readers can tell "not periodic" from "not recorded".
        assert!(a.as_object().unwrap().contains_key("period"));
        assert!(a["period"].is_null());
        assert_eq!(a["periodic_forever"], false);
    }

    #[test]
    fn an_explicit_max_ttl_caps_a_periodic_token() {
        let mut l = lookup("openbao-auth-token-lookup-accessor-periodic.sandbox.response.json");
        l.explicit_max_ttl = Some(7 * 86_400);
        assert!(!l.periodic_forever());
        l.explicit_max_ttl = None;
        l.period = Some(0);
        assert!(!l.periodic_forever());
        assert!(l.attrs()["period"].is_null());
    }
}
