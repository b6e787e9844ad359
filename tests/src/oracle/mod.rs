//! The backends as oracles (../shared/docs/ORACLES.md): a generated organisation
//! (`portcullis-orggen`) is loaded into throwaway real servers, Portcullis syncs them into a
//! cache of its own, and for every (subject, action, resource) triple the servers can answer,
//! Portcullis's offline answer (`who-can`, computed from the cache) is compared with the
//! server's own authorizer. A disagreement names the seed and the triple.

pub mod postgres;
pub mod servers;
pub mod vault;

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use portcullis_orggen::vault::{Actor, CAPABILITIES};
use portcullis_orggen::{Org, Size};
use serde_json::Value;

use crate::cli::{portcullis_json, portcullis_ok};
use crate::Result;
use servers::{Bao, Pg};

const BAO_VAR: &str = "ORACLE_BAO_TOKEN";
const PG_VAR: &str = "ORACLE_PG_PASSWORD";

/// One triple on which Portcullis and the server disagree.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Disagreement {
    pub resource: String,
    pub action: String,
    pub subject: String,
    /// What the server says, and what Portcullis says.
    pub server: String,
    pub portcullis: String,
}

impl fmt::Display for Disagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "may {} {} {}? server: {}, portcullis: {}",
            self.subject, self.action, self.resource, self.server, self.portcullis
        )
    }
}

/// What one organisation's comparison found.
#[derive(Debug, Default)]
pub struct Report {
    pub seed: u64,
    pub compared: usize,
    pub disagreements: Vec<Disagreement>,
}

impl Report {
    /// The smallest disagreements first (shortest resource, then action and subject).
    pub fn summary(&self, limit: usize) -> String {
        let mut d = self.disagreements.clone();
        d.sort_by_key(|x| (x.resource.len(), x.clone()));
        let mut s = format!(
            "seed {}: {} triples compared, {} disagreements",
            self.seed,
            self.compared,
            d.len()
        );
        for x in d.iter().take(limit) {
            s.push_str(&format!("\n  {x}"));
        }
        s
    }
}

/// A generated organisation loaded into real servers and synced into a Portcullis workspace.
pub struct Loaded {
    pub org: Org,
    pub bao: Bao,
    pub pg: Pg,
    pub workspace: tempfile::TempDir,
    pub vault: vault::LoadedVault,
}

impl Loaded {
    pub fn new(seed: u64, size: Size) -> Result<Loaded> {
        let org = Org::generate(seed, size);
        let bao = Bao::start()?;
        let pg = Pg::start()?;
        let vault = vault::load(&bao, &org.vault)?;
        postgres::load(&pg, &org.postgres)?;
        let workspace = tempfile::tempdir().map_err(crate::io_err("creating a workspace"))?;
        let loaded = Loaded {
            org,
            bao,
            pg,
            workspace,
            vault,
        };
        loaded.register()?;
        Ok(loaded)
    }

    fn env(&self) -> [(&str, &str); 2] {
        [(BAO_VAR, self.bao.root_token.as_str()), (PG_VAR, "unused")]
    }

    fn register(&self) -> Result<()> {
        let audit = self.bao.audit_log.display().to_string();
        let pg_url = self.pg.url(&self.org.postgres.database);
        let adds: [Vec<&str>; 2] = [
            vec![
                "bao",
                "--kind",
                "vault",
                "--url",
                &self.bao.url,
                "--credential-env",
                BAO_VAR,
                "--audit-log",
                &audit,
            ],
            vec![
                "pg",
                "--kind",
                "postgres",
                "--url",
                &pg_url,
                "--credential-env",
                PG_VAR,
            ],
        ];
        for rest in adds {
            let mut args = vec!["backend", "add"];
            args.extend(rest);
            portcullis_ok(self.workspace.path(), &self.env(), &args)?;
        }
        portcullis_ok(self.workspace.path(), &self.env(), &["sync"])?;
        Ok(())
    }

    /// `portcullis --json ARGS` in the workspace.
    pub fn json(&self, args: &[&str]) -> Result<Value> {
        portcullis_json(self.workspace.path(), &self.env(), args)
    }

    pub fn path(&self) -> &Path {
        self.workspace.path()
    }

    /// Every token × probed path × capability, against `sys/capabilities-accessor`.
    pub fn compare_vault(&self, report: &mut Report) -> Result<()> {
        let accessors = vault::accessors(&self.bao)?;
        let probes = &self.org.vault.probes;
        let server = vault::capabilities(&self.bao, &accessors, probes)?;
        for path in probes {
            for cap in CAPABILITIES {
                let answer = self.json(&["who-can", cap, path, "--backend", "bao"])?;
                let ours = allowed_credentials(&answer);
                for a in &accessors {
                    let caps = &server[a][path];
                    let theirs = caps.iter().any(|c| c == cap || c == "root");
                    report.compared += 1;
                    if theirs != ours.contains(a) {
                        report.disagreements.push(Disagreement {
                            resource: path.clone(),
                            action: cap.to_string(),
                            subject: format!("token {a}"),
                            server: format!("{caps:?}"),
                            portcullis: if ours.contains(a) {
                                "allowed"
                            } else {
                                "not allowed"
                            }
                            .into(),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// `principal=NAME` for every account that logged in: the dry run must select exactly the
    /// tokens its logins created (the server said which accessor each login got), whatever
    /// other principals share names or policies.
    pub fn compare_selection(&self, report: &mut Report) -> Result<()> {
        let org = &self.org.vault;
        let mut accounts: Vec<(String, BTreeSet<String>)> = Vec::new();
        for (user, u) in org.users.iter().enumerate() {
            let mine = self
                .accessors_where(|a| matches!(a, Actor::UserLogin { user: x, .. } if x == user));
            if u.logins > 0 {
                accounts.push((u.name.clone(), mine));
            }
        }
        for (role, r) in org.approles.iter().enumerate() {
            let mine = self
                .accessors_where(|a| matches!(a, Actor::AppRoleLogin { role: x, .. } if x == role));
            accounts.push((r.name.clone(), mine));
        }
        // Tokens made without an identity: one principal per display name (the server
        // prefixes `token-`), holding every token of that name.
        let mut displays: Vec<&str> = org.tokens.iter().map(|t| t.display_name.as_str()).collect();
        displays.sort();
        displays.dedup();
        for d in displays {
            let mine = self.accessors_where(
                |a| matches!(a, Actor::Token(i) if org.tokens[i].display_name == d),
            );
            accounts.push((format!("token-{d}"), mine));
        }
        for (name, expected) in accounts {
            let select = format!("principal={name} backend=bao");
            let plan = self.json(&["revoke", "--select", &select, "--dry-run"])?;
            let selected: BTreeSet<String> = plan["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i["key"].as_str())
                .filter_map(|k| k.strip_prefix("bao:accessor:").map(str::to_string))
                .collect();
            report.compared += 1;
            if selected != expected {
                report.disagreements.push(Disagreement {
                    resource: "(incident selection)".into(),
                    action: "select".into(),
                    subject: format!("principal={name}"),
                    server: format!("its logins' tokens {expected:?}"),
                    portcullis: format!("selected {selected:?}"),
                });
            }
        }
        Ok(())
    }

    fn accessors_where(&self, want: impl Fn(Actor) -> bool) -> BTreeSet<String> {
        self.vault
            .tokens
            .iter()
            .filter(|(a, _, _)| want(*a))
            .map(|(_, acc, _)| acc.clone())
            .collect()
    }

    /// Every role × table / column / function × privilege, against `has_*_privilege`.
    pub fn compare_postgres(&self, report: &mut Report) -> Result<()> {
        let org = &self.org.postgres;
        let (full, some) = postgres::tables(&self.pg, org)?;
        let columns = postgres::columns(&self.pg, org)?;
        let functions = postgres::functions(&self.pg, org)?;
        let roles: BTreeSet<String> = self
            .pg
            .psql(
                "postgres",
                &org.database,
                "SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_';",
            )?
            .lines()
            .map(str::to_string)
            .collect();
        for ((privilege, object), can) in full.iter().chain(&columns).chain(&functions) {
            let answer = self.json(&["who-can", privilege, object, "--backend", "pg"])?;
            let (ours_full, _) = allowed_principals(&answer);
            self.diff(report, &roles, privilege, object, can, &ours_full, "can");
        }
        for ((privilege, object), some_cols) in &some {
            let table_level = full
                .iter()
                .find(|((p, o), _)| p == privilege && o == object)
                .map(|(_, s)| s.clone())
                .unwrap_or_default();
            let only_some: BTreeSet<String> = some_cols.difference(&table_level).cloned().collect();
            let answer = self.json(&["who-can", privilege, object, "--backend", "pg"])?;
            let (_, ours_partial) = allowed_principals(&answer);
            self.diff(
                report,
                &roles,
                privilege,
                object,
                &only_some,
                &ours_partial,
                "can on some columns",
            );
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn diff(
        &self,
        report: &mut Report,
        roles: &BTreeSet<String>,
        privilege: &str,
        object: &str,
        theirs: &BTreeSet<String>,
        ours: &BTreeSet<String>,
        what: &str,
    ) {
        for r in roles {
            report.compared += 1;
            let (t, o) = (theirs.contains(r), ours.contains(r));
            if t != o {
                report.disagreements.push(Disagreement {
                    resource: object.to_string(),
                    action: privilege.to_string(),
                    subject: format!("role {r}"),
                    server: format!("{}{what}", if t { "" } else { "not " }),
                    portcullis: format!("{}{what}", if o { "" } else { "not " }),
                });
            }
        }
    }
}

/// External ids of the credentials `who-can` lists as allowed.
fn allowed_credentials(answer: &Value) -> BTreeSet<String> {
    answer["allowed"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["credentials"].as_array().into_iter().flatten())
        .filter_map(|c| c["external_id"].as_str().map(str::to_string))
        .collect()
}

/// Principals `who-can` lists as allowed: with a full match, and with partial matches only.
fn allowed_principals(answer: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut full = BTreeSet::new();
    let mut partial = BTreeSet::new();
    for e in answer["allowed"].as_array().into_iter().flatten() {
        let Some(id) = e["principal"]["external_id"].as_str() else {
            continue;
        };
        if e["principal"]["implied"] == true {
            continue;
        }
        let any_full = e["matches"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|m| m["coverage"] == "full");
        if any_full {
            full.insert(id.to_string());
        } else {
            partial.insert(id.to_string());
        }
    }
    (full, partial)
}

/// Seeds from `PORTCULLIS_ORACLE_SEEDS` (`3`, `1,5,9` or `1..50`), else `default`.
pub fn seeds(default: &[u64]) -> Vec<u64> {
    let Ok(text) = std::env::var("PORTCULLIS_ORACLE_SEEDS") else {
        return default.to_vec();
    };
    if let Some((a, b)) = text.split_once("..") {
        if let (Ok(a), Ok(b)) = (a.trim().parse::<u64>(), b.trim().parse::<u64>()) {
            return (a..b).collect();
        }
    }
    text.split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// `PORTCULLIS_ORACLE_SIZE=large` for the longer run.
pub fn size() -> Size {
    match std::env::var("PORTCULLIS_ORACLE_SIZE").as_deref() {
        Ok("large") => Size::Large,
        _ => Size::Small,
    }
}
