//! The rule catalogue: every least-privilege rule in one place, with its id, severity, description
//! and parameters, and the workspace settings that switch rules off or tune them.
//!
//! Ids are stable (findings, campaign items and exports name them). The sandbox seed's finding
//! kinds map onto them: `unused_grant` ← unused-grant; `over_broad` ← wildcard-admin-grant;
//! `superuser` ← superuser; `never_expiring_credential` ← never-expiring-credential;
//! `stale_credential` ← unused-credential and dormant-principal; `expired_credential` ←
//! expired-credential-present; `disabled_principal_live_credential` ←
//! disabled-principal-live-credential.

use portcullis_model::{ReviewSettings, RuleInfo, RuleParam, Severity};
use std::collections::BTreeSet;

use crate::{EngineError, Result};

pub const UNUSED_GRANT: &str = "unused-grant";
pub const WRITE_WHERE_READ_USED: &str = "write-where-read-used";
pub const UNUSED_CREDENTIAL_SCOPE: &str = "unused-credential-scope";
pub const WILDCARD_ADMIN_GRANT: &str = "wildcard-admin-grant";
pub const SUPERUSER: &str = "superuser";
pub const NEVER_EXPIRING: &str = "never-expiring-credential";
pub const LIFETIME_EXCEEDS_POLICY: &str = "credential-lifetime-exceeds-policy";
pub const UNUSED_CREDENTIAL: &str = "unused-credential";
pub const EXPIRED_PRESENT: &str = "expired-credential-present";
pub const DISABLED_LIVE: &str = "disabled-principal-live-credential";
pub const DORMANT_PRINCIPAL: &str = "dormant-principal";
pub const MANY_SOURCES: &str = "credential-many-sources";
pub const USED_AFTER_REVOCATION: &str = "credential-used-after-revocation";
pub const ORPHAN_BINDING: &str = "orphan-binding";

struct Def {
    id: &'static str,
    severity: Severity,
    title: &'static str,
    description: &'static str,
    params: &'static [(&'static str, i64, &'static str)],
    needs_usage: bool,
}

const CATALOGUE: &[Def] = &[
    Def {
        id: UNUSED_GRANT,
        severity: Severity::Medium,
        title: "Granted but unused",
        description: "A principal that was active in the window never exercised this role, policy, group \
                      membership or scope. The grants it did use are proposed as the replacement.",
        params: &[],
        needs_usage: true,
    },
    Def {
        id: WRITE_WHERE_READ_USED,
        severity: Severity::Low,
        title: "Write or admin granted, only reads used",
        description: "A grant carries write or admin rights, but everything the principal did through it in \
                      the window was a read. The reads actually made are proposed as the replacement.",
        params: &[],
        needs_usage: true,
    },
    Def {
        id: UNUSED_CREDENTIAL_SCOPE,
        severity: Severity::Low,
        title: "Credential carries a scope it never used",
        description: "The principal uses this scope or policy, but never through this credential: the \
                      credential can be re-issued with the scopes it did use.",
        params: &[],
        needs_usage: true,
    },
    Def {
        id: WILDCARD_ADMIN_GRANT,
        severity: Severity::High,
        title: "Wildcard or admin grant",
        description: "The grant reaches wildcard or administrative rights: Vault `sudo` or `*` paths, \
                      PostgreSQL CREATEROLE / BYPASSRLS / CREATEDB / REPLICATION or pg_read_all_data / \
                      pg_write_all_data, Keycloak realm-admin and manage-* roles, Kubernetes `*` verbs or \
                      resources, escalate / bind / impersonate, secret readers, OAuth admin scopes.",
        params: &[],
        needs_usage: false,
    },
    Def {
        id: SUPERUSER,
        severity: Severity::Critical,
        title: "Superuser",
        description: "The principal holds PostgreSQL SUPERUSER or the Vault/OpenBao root policy: no grant \
                      or audit rule limits it.",
        params: &[],
        needs_usage: false,
    },
    Def {
        id: NEVER_EXPIRING,
        severity: Severity::High,
        title: "Credential never expires",
        description: "A live credential with no expiry, a lifetime of at least `days` days, or a periodic \
                      (renewable-forever) token.",
        params: &[(
            "days",
            3650,
            "a lifetime of at least this many days counts as never expiring",
        )],
        needs_usage: false,
    },
    Def {
        id: LIFETIME_EXCEEDS_POLICY,
        severity: Severity::Medium,
        title: "Credential lifetime exceeds the workspace policy",
        description: "A live credential whose lifetime (issue to expiry, or now to expiry when the issue time \
                      is unknown) exceeds `max_days`.",
        params: &[("max_days", 90, "longest lifetime the workspace allows")],
        needs_usage: false,
    },
    Def {
        id: UNUSED_CREDENTIAL,
        severity: Severity::Medium,
        title: "Credential unused",
        description: "A live credential of an enabled principal had no use in the last `days` days (capped \
                      by the review window).",
        params: &[("days", 90, "days without use")],
        needs_usage: true,
    },
    Def {
        id: EXPIRED_PRESENT,
        severity: Severity::Low,
        title: "Expired credential still present",
        description: "A password or key past its expiry still exists on the backend, where anyone with \
                      rights over it can extend it (e.g. a PostgreSQL VALID UNTIL in the past on a LOGIN role).",
        params: &[],
        needs_usage: false,
    },
    Def {
        id: DISABLED_LIVE,
        severity: Severity::High,
        title: "Live credential of a disabled principal",
        description: "The principal is disabled (or its account is refused by the backend), yet a credential \
                      or session of it is still live.",
        params: &[],
        needs_usage: false,
    },
    Def {
        id: DORMANT_PRINCIPAL,
        severity: Severity::Medium,
        title: "Dormant principal",
        description: "An enabled principal that holds grants and can log in had no activity at all in the \
                      window (and no credential to judge instead).",
        params: &[],
        needs_usage: true,
    },
    Def {
        id: MANY_SOURCES,
        severity: Severity::Medium,
        title: "Credential used from many addresses",
        description: "One credential was used from more than `max` distinct source addresses in the window: \
                      shared, leaked or used from a botnet.",
        params: &[("max", 5, "most distinct source addresses expected")],
        needs_usage: true,
    },
    Def {
        id: USED_AFTER_REVOCATION,
        severity: Severity::Critical,
        title: "Credential used after its revocation",
        description: "The backend accepted a credential after it was revoked (per the journal or the \
                      backend's own log).",
        params: &[],
        needs_usage: true,
    },
    Def {
        id: ORPHAN_BINDING,
        severity: Severity::Medium,
        title: "Binding to a principal or role that does not exist",
        description: "A grant names a principal or role the backend does not have: whoever is created with \
                      that name later inherits it.",
        params: &[],
        needs_usage: false,
    },
];

/// The catalogue as a person reads it (defaults, all enabled).
pub fn catalogue() -> Vec<RuleInfo> {
    RuleSet::resolve(&ReviewSettings::default(), &[])
        .map(|r| r.infos)
        .unwrap_or_default()
}

/// The rules in force for one run: catalogue + workspace settings + the run's own selection.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub infos: Vec<RuleInfo>,
}

impl RuleSet {
    pub fn resolve(settings: &ReviewSettings, only: &[String]) -> Result<RuleSet> {
        validate(settings)?;
        for id in only {
            known(id)?;
        }
        let infos = CATALOGUE
            .iter()
            .map(|d| RuleInfo {
                id: d.id.to_string(),
                severity: d.severity,
                title: d.title.to_string(),
                description: d.description.to_string(),
                params: d
                    .params
                    .iter()
                    .map(|(name, default, description)| RuleParam {
                        name: name.to_string(),
                        value: settings
                            .params
                            .get(&format!("{}.{name}", d.id))
                            .copied()
                            .unwrap_or(*default),
                        description: description.to_string(),
                    })
                    .collect(),
                enabled: !settings.disabled_rules.iter().any(|r| r == d.id)
                    && (only.is_empty() || only.iter().any(|r| r == d.id)),
                needs_usage: d.needs_usage,
            })
            .collect();
        Ok(RuleSet { infos })
    }

    pub fn enabled(&self, id: &str) -> bool {
        self.infos.iter().any(|r| r.id == id && r.enabled)
    }

    pub fn info(&self, id: &str) -> Option<&RuleInfo> {
        self.infos.iter().find(|r| r.id == id)
    }

    pub fn severity(&self, id: &str) -> Severity {
        self.info(id)
            .map(|r| r.severity)
            .unwrap_or(Severity::Medium)
    }

    pub fn param(&self, id: &str, name: &str) -> i64 {
        self.info(id)
            .and_then(|r| r.params.iter().find(|p| p.name == name))
            .map(|p| p.value)
            .unwrap_or(0)
    }

    /// Enabled rules that judge from audit data.
    pub fn usage_rules(&self) -> Vec<String> {
        self.infos
            .iter()
            .filter(|r| r.enabled && r.needs_usage)
            .map(|r| r.id.clone())
            .collect()
    }
}

fn known(id: &str) -> Result<()> {
    if CATALOGUE.iter().any(|d| d.id == id) {
        return Ok(());
    }
    Err(EngineError::InvalidInput(format!(
        "unknown review rule `{id}`; the rules are: {}",
        CATALOGUE
            .iter()
            .map(|d| d.id)
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// Checks settings before they are stored or used, naming what is wrong.
pub fn validate(s: &ReviewSettings) -> Result<()> {
    if s.window_days == 0 || s.window_days > 3650 {
        return Err(EngineError::InvalidInput(format!(
            "review window of {} days: give 1 to 3650 days",
            s.window_days
        )));
    }
    for id in &s.disabled_rules {
        known(id)?;
    }
    for (key, value) in &s.params {
        let (rule, name) = key.split_once('.').ok_or_else(|| {
            EngineError::InvalidInput(format!(
                "rule parameter `{key}`: write it as RULE.PARAM (e.g. unused-credential.days)"
            ))
        })?;
        known(rule)?;
        let def = CATALOGUE.iter().find(|d| d.id == rule);
        if !def.is_some_and(|d| d.params.iter().any(|(p, _, _)| *p == name)) {
            let names: Vec<&str> = def
                .map(|d| d.params.iter().map(|(p, _, _)| *p).collect())
                .unwrap_or_default();
            return Err(EngineError::InvalidInput(format!(
                "rule `{rule}` has no parameter `{name}` (it has: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )));
        }
        if *value < 0 {
            return Err(EngineError::InvalidInput(format!(
                "rule parameter `{key}` = {value}: give a number of 0 or more"
            )));
        }
    }
    let mut seen = BTreeSet::new();
    for e in &s.exemptions {
        if e.backend.trim().is_empty() || e.principal.trim().is_empty() {
            return Err(EngineError::InvalidInput(
                "an exemption needs a backend and a principal".into(),
            ));
        }
        if !seen.insert((&e.backend, &e.principal)) {
            return Err(EngineError::InvalidInput(format!(
                "principal `{}` of `{}` is exempted twice",
                e.principal, e.backend
            )));
        }
    }
    for g in &s.ignored_grants {
        if !g.contains(':') {
            return Err(EngineError::InvalidInput(format!(
                "ignored grant `{g}`: write it as BACKEND:GRANT (e.g. openbao:default)"
            )));
        }
    }
    for d in &s.declared_credentials {
        if d.backend.trim().is_empty() || d.principal.trim().is_empty() || d.id.trim().is_empty() {
            return Err(EngineError::InvalidInput(
                "a declared credential needs a backend, a principal and an id".into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_ids_are_unique_and_all_enabled_by_default() {
        let c = catalogue();
        let ids: BTreeSet<&str> = c.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), c.len());
        assert!(c.iter().all(|r| r.enabled));
        assert_eq!(c.len(), 14);
    }

    #[test]
    fn settings_switch_off_and_tune_rules() {
        let mut s = ReviewSettings::default();
        s.disabled_rules.push(UNUSED_GRANT.into());
        s.params.insert("unused-credential.days".into(), 30);
        let r = RuleSet::resolve(&s, &[]).unwrap();
        assert!(!r.enabled(UNUSED_GRANT));
        assert!(r.enabled(UNUSED_CREDENTIAL));
        assert_eq!(r.param(UNUSED_CREDENTIAL, "days"), 30);
        assert_eq!(r.param(NEVER_EXPIRING, "days"), 3650);
        let only = RuleSet::resolve(&s, &[SUPERUSER.to_string()]).unwrap();
        assert!(only.enabled(SUPERUSER) && !only.enabled(UNUSED_CREDENTIAL));
    }

    #[test]
    fn bad_settings_say_what_is_wrong() {
        let mut s = ReviewSettings::default();
        s.disabled_rules.push("no-such-rule".into());
        let e = RuleSet::resolve(&s, &[]).unwrap_err().to_string();
        assert!(
            e.contains("no-such-rule") && e.contains(UNUSED_GRANT),
            "{e}"
        );
        let mut s = ReviewSettings::default();
        s.params.insert("superuser.days".into(), 3);
        assert!(validate(&s).unwrap_err().to_string().contains("none"));
        let s = ReviewSettings {
            window_days: 0,
            ..ReviewSettings::default()
        };
        assert!(validate(&s).is_err());
    }
}
