//! The demo organisation: a workspace of its own whose cache is filled from a generated
//! organisation (`crates/orggen`), so that someone with no backend yet can look around every page.
//!
//! It exists for the first run ("Explore a demo organisation", `portcullis demo`). The rules:
//! a demo is only ever built in an empty directory (never mixed into a real workspace), its
//! `demo.json` marker is written before anything else (so every face of Portcullis that opens it
//! labels it, even one a crash left half filled), and its data goes the way real data goes — the
//! inventory through `replace_inventory` in the shapes the connectors produce, the audit history
//! as the backends' own log lines (Vault file audit device, PostgreSQL jsonlog + pgaudit) read by
//! the connectors' line parsers, so redaction, correlation and last use are the real ones. Whether
//! a generated request was allowed is asked of the access map built from that same inventory.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A generated actor as a map key (orggen's `Actor` is neither `Hash` nor `Ord`), ordered so that
/// the history comes out the same for the same seed.
type ActorKey = (u8, usize, usize);

fn actor_key(a: &Actor) -> ActorKey {
    match *a {
        Actor::Token(i) => (0, i, 0),
        Actor::UserLogin { user, n } => (1, user, n),
        Actor::AppRoleLogin { role, n } => (2, role, n),
    }
}
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use portcullis_connectors::jsonl::LineOutcome;
use portcullis_connectors::vault::identity::{map_identity, AppRoleRole, IdentityData};
use portcullis_model::{
    AuditEvent, BackendKind, Credential, CredentialKind, CredentialRef, CredentialStatus, DemoInfo,
    DemoSize, Grant, Inventory, NodeKind, Permission, Principal, PrincipalKind, Role, WhoCanQuery,
};
use portcullis_orggen::vault::{Actor, Lifetime};
use portcullis_orggen::{Org, PgOrg, Size, VaultOrg};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{EngineError, Result, Workspace};

/// The marker file in a demo workspace.
pub const DEMO_MARKER: &str = "demo.json";
/// Names of the demo's backends.
pub const DEMO_VAULT: &str = "demo-openbao";
pub const DEMO_POSTGRES: &str = "demo-postgres";
/// How far back the generated audit history reaches.
const HISTORY_DAYS: i64 = 120;
/// Events per insert batch.
const BATCH: usize = 2000;

/// Overrides where demo workspaces go (tests, or a machine whose data directory is elsewhere).
pub const DEMO_DIR_ENV: &str = "PORTCULLIS_DEMO_WORKSPACE";
/// The organisation "Explore a demo organisation" opens.
pub const DEFAULT_SEED: u64 = 2026;

/// Where the demo of `seed` and `size` lives unless told otherwise: `$PORTCULLIS_DEMO_WORKSPACE`,
/// else `portcullis-demo/seed-N-SIZE` beside the default workspace (never inside a workspace).
pub fn default_demo_dir(seed: u64, size: DemoSize) -> Result<std::path::PathBuf> {
    if let Some(dir) = std::env::var_os(DEMO_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(std::path::PathBuf::from(dir));
    }
    let real = Workspace::default_dir()?;
    let parent = real.parent().ok_or(EngineError::NoHomeDir)?;
    Ok(parent
        .join("portcullis-demo")
        .join(format!("seed-{seed}-{}", size.as_str())))
}

/// What `create_demo` made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DemoReport {
    pub info: DemoInfo,
    pub dir: String,
    pub principals: u64,
    pub credentials: u64,
    pub audit_events: u64,
}

/// The demo marker of the workspace in `dir`, if it is a demo. A marker that cannot be read still
/// marks a demo: it is labelled as one with what can be said.
pub fn demo_info(dir: &Path) -> Option<DemoInfo> {
    let path = dir.join(DEMO_MARKER);
    let bytes = std::fs::read(&path).ok()?;
    Some(serde_json::from_slice(&bytes).unwrap_or_else(|_| DemoInfo {
        seed: 0,
        size: DemoSize::Small,
        created_at: Utc::now(),
        portcullis_version: String::new(),
        backends: Vec::new(),
    }))
}

impl Workspace {
    /// This workspace's demo marker, when it is a demo.
    pub fn demo_info(&self) -> Option<DemoInfo> {
        demo_info(self.dir())
    }

    /// Builds a demo workspace in `dir`, which must be missing or empty, and returns it open.
    pub async fn create_demo(
        dir: &Path,
        seed: u64,
        size: DemoSize,
    ) -> Result<(Workspace, DemoReport)> {
        if let Ok(mut entries) = std::fs::read_dir(dir) {
            if entries.next().is_some() {
                return Err(EngineError::InvalidInput(format!(
                    "{} is not empty: a demo organisation gets a workspace of its own and is never \
                     mixed into another; choose a new directory",
                    dir.display()
                )));
            }
        }
        crate::private_fs::create_private_dir(dir)?;
        let info = DemoInfo {
            seed,
            size,
            created_at: Utc::now(),
            portcullis_version: portcullis_model::VERSION.to_string(),
            backends: vec![DEMO_VAULT.to_string(), DEMO_POSTGRES.to_string()],
        };
        let marker = serde_json::to_vec_pretty(&info)
            .map_err(|e| EngineError::Internal(format!("encoding the demo marker: {e}")))?;
        crate::private_fs::write_private(&dir.join(DEMO_MARKER), &marker)?;
        let ws = Workspace::open(dir).await?;

        let org = Org::generate(
            seed,
            match size {
                DemoSize::Small => Size::Small,
                DemoSize::Large => Size::Large,
            },
        );
        // Times and identifiers from their own stream of the same seed: the same seed gives the
        // same organisation and the same history (relative to now).
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x00de_7700_de77_00de);
        let now = Utc::now();

        let vault = ws
            .store
            .insert_backend(
                DEMO_VAULT,
                BackendKind::Vault,
                "https://openbao.demo.invalid:8200",
                &CredentialRef::None,
                &json!({"demo": true}),
            )
            .await?;
        let (inv, vault_actors) = vault_inventory(&org.vault, &mut rng, now);
        let mut principals = inv.principals.len() as u64;
        let mut credentials = inv.credentials.len() as u64;
        ws.store.replace_inventory(vault.id, &inv).await?;

        let postgres = ws
            .store
            .insert_backend(
                DEMO_POSTGRES,
                BackendKind::Postgres,
                &format!(
                    "postgres://portcullis@postgres.demo.invalid:5432/{}",
                    org.postgres.database
                ),
                &CredentialRef::None,
                &json!({"demo": true}),
            )
            .await?;
        let inv = pg_inventory(&org.postgres, &mut rng, now);
        principals += inv.principals.len() as u64;
        credentials += inv.credentials.len() as u64;
        ws.store.replace_inventory(postgres.id, &inv).await?;

        let lines = ws
            .vault_history(&org.vault, &vault_actors, &mut rng, now)
            .await?;
        let mut audit_events = ws
            .load_lines(
                vault.id,
                &lines,
                portcullis_connectors::vault::parse_audit_line,
            )
            .await?;
        let lines = ws.pg_history(&org.postgres, &mut rng, now).await?;
        audit_events += ws
            .load_lines(
                postgres.id,
                &lines,
                portcullis_connectors::postgres::parse_jsonlog_line,
            )
            .await?;

        let report = DemoReport {
            info,
            dir: dir.display().to_string(),
            principals,
            credentials,
            audit_events,
        };
        Ok((ws, report))
    }

    /// Parses generated log lines with a connector's parser and stores the events, then ties
    /// them to credentials (last use) as a sync does.
    async fn load_lines(
        &self,
        backend_id: i64,
        lines: &[String],
        parse: fn(&str, u64) -> std::result::Result<LineOutcome, String>,
    ) -> Result<u64> {
        let mut events: Vec<AuditEvent> = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            match parse(line, i as u64 + 1) {
                Ok(LineOutcome::Event(e)) => events.push(*e),
                Ok(_) => {}
                Err(reason) => {
                    return Err(EngineError::Internal(format!(
                        "a generated demo audit line does not parse ({reason}): {line}"
                    )))
                }
            }
        }
        let mut added = 0;
        for chunk in events.chunks(BATCH) {
            added += self
                .store
                .insert_audit_batch(backend_id, chunk, None)
                .await?;
        }
        self.store.correlate_audit(backend_id).await?;
        Ok(added)
    }

    /// Principals (external ids) of `backend` the access map says can do `action` on `resource`.
    async fn allowed(
        &self,
        cache: &mut HashMap<(String, String), BTreeSet<String>>,
        backend: &str,
        action: &str,
        resource: &str,
    ) -> Result<BTreeSet<String>> {
        let key = (action.to_string(), resource.to_string());
        if let Some(hit) = cache.get(&key) {
            return Ok(hit.clone());
        }
        let answer = self
            .access_who_can(&WhoCanQuery {
                action: action.to_string(),
                resource: resource.to_string(),
                backend: Some(backend.to_string()),
                max_paths: Some(1),
            })
            .await?;
        let set: BTreeSet<String> = answer
            .allowed
            .into_iter()
            .map(|e| e.principal.external_id)
            .collect();
        cache.insert(key, set.clone());
        Ok(set)
    }

    /// Vault file-audit-device `response` lines for the generated requests, each repeated over
    /// the history at random times within its token's life, plus the logins.
    async fn vault_history(
        &self,
        org: &VaultOrg,
        actors: &BTreeMap<ActorKey, DemoToken>,
        rng: &mut ChaCha8Rng,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        let mut cache = HashMap::new();
        let mut lines = Vec::new();
        let mut n = 0u64;
        for token in actors.values().filter(|t| t.login.is_some()) {
            if let Some(login_path) = &token.login {
                n += 1;
                lines.push(vault_line(
                    n,
                    token,
                    "update",
                    login_path,
                    None,
                    token.issued,
                    rng,
                ));
            }
        }
        for req in &org.activity {
            let Some(token) = actors.get(&actor_key(&req.actor)) else {
                continue;
            };
            let allowed = self
                .allowed(&mut cache, DEMO_VAULT, &req.operation, &req.path)
                .await?
                .contains(&token.principal);
            let error = (!allowed).then_some("1 error occurred:\n\t* permission denied\n\n");
            let end = token.expires.map_or(now, |e| e.min(now));
            let repeats = if allowed {
                rng.gen_range(8..=60)
            } else {
                rng.gen_range(1..=5)
            };
            for _ in 0..repeats {
                n += 1;
                let at = random_between(rng, token.issued, end);
                lines.push(vault_line(
                    n,
                    token,
                    &req.operation,
                    &req.path,
                    error,
                    at,
                    rng,
                ));
            }
        }
        Ok(lines)
    }

    /// PostgreSQL jsonlog lines: a `connection authorized` per session, pgaudit `AUDIT:` records
    /// for allowed statements and `42501 permission denied` errors for the others.
    async fn pg_history(
        &self,
        org: &PgOrg,
        rng: &mut ChaCha8Rng,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        let mut cache = HashMap::new();
        let mut lines = Vec::new();
        let mut session = 0u64;
        for st in &org.activity {
            let Some(role) = org.roles.get(st.role) else {
                continue;
            };
            let (object, short, kind, statement) = match st.kind.as_str() {
                "EXECUTE" => {
                    let Some(f) = org.functions.get(st.object) else {
                        continue;
                    };
                    (
                        format!("{}()", f.qualified()),
                        f.name.clone(),
                        "function",
                        format!("SELECT {}()", f.qualified()),
                    )
                }
                verb => {
                    let Some(t) = org.tables.get(st.object) else {
                        continue;
                    };
                    let statement = if verb == "INSERT" {
                        format!("INSERT INTO {} DEFAULT VALUES", t.qualified())
                    } else {
                        format!("SELECT * FROM {} LIMIT 100", t.qualified())
                    };
                    (t.qualified(), t.name.clone(), "table", statement)
                }
            };
            let allowed = role.superuser
                || self
                    .allowed(&mut cache, DEMO_POSTGRES, &st.kind, &object)
                    .await?
                    .contains(&role.name);
            let repeats = if allowed {
                rng.gen_range(8..=40)
            } else {
                rng.gen_range(1..=4)
            };
            for _ in 0..repeats {
                session += 1;
                let at = random_between(rng, now - Duration::days(HISTORY_DAYS), now);
                let ip = source_ip(rng, &role.name);
                let base = json!({
                    "timestamp": at.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string(),
                    "user": role.name,
                    "dbname": org.database,
                    "pid": 4000 + session % 50_000,
                    "remote_host": ip,
                    "session_id": format!("{:x}.{:x}", at.timestamp(), session),
                    "backend_type": "client backend",
                    "application_name": "psql",
                });
                let mut login = base.clone();
                login["line_num"] = json!(1);
                login["error_severity"] = json!("LOG");
                login["message"] = json!(format!(
                    "connection authorized: user={} database={}",
                    role.name, org.database
                ));
                lines.push(login.to_string());
                let mut line = base;
                line["line_num"] = json!(2);
                if allowed {
                    let (class, object_type, object_name) = match kind {
                        "function" => ("FUNCTION", "FUNCTION", object.trim_end_matches("()")),
                        _ if st.kind == "INSERT" => ("WRITE", "TABLE", object.as_str()),
                        _ => ("READ", "TABLE", object.as_str()),
                    };
                    line["error_severity"] = json!("LOG");
                    line["message"] = json!(format!(
                        "AUDIT: SESSION,1,1,{class},{},{object_type},{object_name},\"{statement}\",<not logged>",
                        st.kind
                    ));
                } else {
                    line["error_severity"] = json!("ERROR");
                    line["state_code"] = json!("42501");
                    line["message"] = json!(format!("permission denied for {kind} {short}"));
                    line["statement"] = json!(statement);
                    line["ps"] = json!(if kind == "function" {
                        "SELECT"
                    } else {
                        st.kind.as_str()
                    });
                }
                lines.push(line.to_string());
            }
        }
        Ok(lines)
    }
}

/// A live token of the generated Vault organisation, as the demo's inventory lists it.
struct DemoToken {
    accessor: String,
    audit_hash: String,
    /// Its principal's external id (the identity entity, or `token:<display name>`).
    principal: String,
    display_name: String,
    username: Option<String>,
    entity_id: Option<String>,
    policies: Vec<String>,
    issued: DateTime<Utc>,
    expires: Option<DateTime<Utc>>,
    /// The login request that minted it (userpass / approle), if any.
    login: Option<String>,
}

fn random_id(rng: &mut ChaCha8Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

fn uuid(rng: &mut ChaCha8Rng) -> String {
    let b: [u8; 16] = rng.gen();
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn random_between(rng: &mut ChaCha8Rng, from: DateTime<Utc>, to: DateTime<Utc>) -> DateTime<Utc> {
    let span = (to - from).num_seconds();
    if span <= 0 {
        return to;
    }
    from + Duration::seconds(rng.gen_range(0..span))
}

/// Each actor works from one address; now and then from another (the "new source address"
/// highlight has something to find).
fn source_ip(rng: &mut ChaCha8Rng, actor: &str) -> String {
    if rng.gen_bool(0.02) {
        return format!("203.0.113.{}", rng.gen_range(1..255));
    }
    let h = Sha256::digest(actor.as_bytes());
    format!("10.20.{}.{}", h[0], h[1].max(1))
}

fn vault_line(
    n: u64,
    t: &DemoToken,
    operation: &str,
    path: &str,
    error: Option<&str>,
    at: DateTime<Utc>,
    rng: &mut ChaCha8Rng,
) -> String {
    let mut metadata = serde_json::Map::new();
    if let Some(u) = &t.username {
        metadata.insert("username".into(), json!(u));
    }
    json!({
        "time": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "type": "response",
        "auth": {
            "accessor": t.audit_hash,
            "client_token": format!("hmac-sha256:{}", hex::encode(Sha256::digest(t.accessor.as_bytes()))),
            "display_name": t.display_name,
            "entity_id": t.entity_id.clone().unwrap_or_default(),
            "metadata": metadata,
            "policies": t.policies,
            "token_type": "service",
        },
        "request": {
            "id": format!("{:08x}-demo-{n:012x}", rng.gen::<u32>()),
            "operation": operation,
            "path": path,
            "remote_address": source_ip(rng, &t.principal),
            "mount_type": if path.starts_with("auth/") { "userpass" } else { "kv" },
        },
        "response": {},
        "error": error.unwrap_or(""),
    })
    .to_string()
}

/// The default policy every Vault token carries unless created without it (the part of it that
/// matters for a review).
const DEFAULT_POLICY: &str = r#"path "auth/token/lookup-self" { capabilities = ["read"] }
path "auth/token/renew-self" { capabilities = ["update"] }
path "auth/token/revoke-self" { capabilities = ["update"] }
path "sys/capabilities-self" { capabilities = ["update"] }
"#;

fn policy_role(
    inv: &mut Inventory,
    perms: &mut BTreeMap<String, Permission>,
    name: &str,
    hcl: &str,
) {
    inv.roles.push(Role {
        external_id: name.to_string(),
        name: name.to_string(),
        description: None,
    });
    // The generator writes policies the parser reads; one that did not would only lose its rules.
    let Ok(rules) = portcullis_connectors::vault::policy::parse_policy(name, hcl) else {
        return;
    };
    portcullis_connectors::vault::policy::policy_into(name, &rules, &mut inv.grants, perms);
}

/// The Vault organisation as the Vault connector reads one: policies as roles and permissions,
/// identity entities, groups, userpass users and AppRole roles as the server's API would describe
/// them, mapped by the connector's own `map_identity`; live token accessors as credentials.
fn vault_inventory(
    org: &VaultOrg,
    rng: &mut ChaCha8Rng,
    now: DateTime<Utc>,
) -> (Inventory, BTreeMap<ActorKey, DemoToken>) {
    let mut inv = Inventory::default();
    let mut perms = BTreeMap::new();
    for p in &org.policies {
        policy_role(&mut inv, &mut perms, &p.name, &p.hcl());
    }
    policy_role(&mut inv, &mut perms, "default", DEFAULT_POLICY);
    policy_role(&mut inv, &mut perms, "root", "");
    inv.permissions = perms.into_values().collect();

    // Group policies reach a user's tokens as identity policies, through nested groups too
    // (a member group's members are members; member groups have lower indices).
    let mut members: Vec<BTreeSet<usize>> = Vec::with_capacity(org.groups.len());
    for g in &org.groups {
        let mut m: BTreeSet<usize> = g.member_users.iter().copied().collect();
        for &sub in &g.member_groups {
            if let Some(sm) = members.get(sub) {
                m.extend(sm.iter().copied());
            }
        }
        members.push(m);
    }
    let group_policies = |user: usize| -> Vec<String> {
        let mut out: Vec<String> = org
            .groups
            .iter()
            .zip(&members)
            .filter(|(_, m)| m.contains(&user))
            .flat_map(|(g, _)| g.policies.iter().cloned())
            .collect();
        out.sort();
        out.dedup();
        out
    };

    let mut actors = BTreeMap::new();
    let new_token = |rng: &mut ChaCha8Rng,
                     principal: String,
                     display_name: String,
                     username: Option<String>,
                     entity_id: Option<String>,
                     mut policies: Vec<String>,
                     identity_policies: Vec<String>,
                     lifetime: Lifetime,
                     login: Option<String>|
     -> (Credential, DemoToken) {
        let accessor = random_id(rng, 24);
        let audit_hash = format!(
            "hmac-sha256:{}",
            hex::encode(Sha256::digest(format!("demo-audit:{accessor}").as_bytes()))
        );
        let (issued, expires, period) = match lifetime {
            // A login's token: minted any time in the history; one that has expired since is
            // gone from the backend (and so from the inventory), its requests stay in the log.
            Lifetime::Ttl(h) if login.is_some() => {
                let issued = now - Duration::minutes(rng.gen_range(1..HISTORY_DAYS * 24 * 60));
                (issued, Some(issued + Duration::hours(i64::from(h))), None)
            }
            Lifetime::Ttl(h) => {
                let issued = now - Duration::minutes(rng.gen_range(1..(i64::from(h) * 60).max(2)));
                (issued, Some(issued + Duration::hours(i64::from(h))), None)
            }
            Lifetime::Period(h) => {
                let issued = now - Duration::days(rng.gen_range(1..HISTORY_DAYS));
                let renewed = now - Duration::minutes(rng.gen_range(0..(i64::from(h) * 60).max(1)));
                (
                    issued,
                    Some(renewed + Duration::hours(i64::from(h))),
                    Some(i64::from(h) * 3600),
                )
            }
            Lifetime::Root => (
                now - Duration::days(rng.gen_range(30..HISTORY_DAYS)),
                None,
                None,
            ),
        };
        policies.sort();
        policies.dedup();
        let mut scopes = policies.clone();
        scopes.extend(identity_policies.iter().cloned());
        let credential = Credential {
            external_id: accessor.clone(),
            kind: CredentialKind::Accessor,
            principal_external_id: Some(principal.clone()),
            client: None,
            scopes,
            issued_at: Some(issued),
            expires_at: expires,
            last_used_at: None,
            status: CredentialStatus::Active,
            attrs: json!({
                "period": period,
                "explicit_max_ttl": 0,
                "periodic_forever": period.is_some(),
                "display_name": display_name,
                "path": login.clone().unwrap_or_else(|| "auth/token/create".into()),
                "orphan": login.is_none(),
                "renewable": !matches!(lifetime, Lifetime::Root),
                "type": "service",
                "num_uses": 0,
                "identity_policies": identity_policies,
                "meta": username.as_ref().map(|u| json!({"username": u})),
                "audit_hash": audit_hash,
                "demo": true,
            }),
        };
        let token = DemoToken {
            accessor,
            audit_hash,
            principal,
            display_name,
            username,
            entity_id,
            policies,
            issued,
            expires,
            login,
        };
        (credential, token)
    };

    for (i, t) in org.tokens.iter().enumerate() {
        let principal = format!("token:{}", t.display_name);
        if !inv.principals.iter().any(|p| p.external_id == principal) {
            inv.principals.push(Principal {
                external_id: principal.clone(),
                kind: PrincipalKind::Service,
                name: t.display_name.clone(),
                enabled: true,
                attrs: json!({"source": "token without identity entity"}),
            });
        }
        let mut policies = t.policies.clone();
        if t.lifetime == Lifetime::Root {
            policies = vec!["root".into()];
        } else if !t.no_default_policy {
            policies.push("default".into());
        }
        let (c, tok) = new_token(
            rng,
            principal,
            format!("token-{}", t.display_name),
            None,
            None,
            policies,
            Vec::new(),
            t.lifetime,
            None,
        );
        inv.credentials.push(c);
        actors.insert(actor_key(&Actor::Token(i)), tok);
    }

    // Identity as the server would answer its API, mapped by the connector's own code.
    let mut identity = IdentityData::default();
    let mut entity_of_user: Vec<Option<String>> = vec![None; org.users.len()];
    for (ui, u) in org.users.iter().enumerate() {
        identity.userpass_users.push((
            "userpass".into(),
            u.name.clone(),
            json!({"token_policies": u.policies, "token_ttl": 0, "token_max_ttl": 0}),
        ));
        if u.logins == 0 {
            continue;
        }
        // The first login created the user's identity entity.
        let entity = uuid(rng);
        entity_of_user[ui] = Some(entity.clone());
        identity.entities.push((
            entity.clone(),
            json!({
                "name": format!("entity_{}", &entity[..8]),
                "aliases": [{"name": u.name, "mount_type": "userpass", "mount_path": "auth/userpass/"}],
                "policies": u.entity_policies,
                "disabled": u.disabled,
                "metadata": null,
            }),
        ));
        let mut identity_policies = u.entity_policies.clone();
        identity_policies.extend(group_policies(ui));
        identity_policies.sort();
        identity_policies.dedup();
        for n in 0..u.logins {
            let mut policies = u.policies.clone();
            policies.push("default".into());
            let (c, tok) = new_token(
                rng,
                entity.clone(),
                format!("userpass-{}", u.name),
                Some(u.name.clone()),
                Some(entity.clone()),
                policies,
                identity_policies.clone(),
                Lifetime::Ttl(768),
                Some(format!("auth/userpass/login/{}", u.name)),
            );
            if tok.expires.is_none_or(|e| e > now) {
                inv.credentials.push(c);
            }
            actors.insert(actor_key(&Actor::UserLogin { user: ui, n }), tok);
        }
    }
    let group_ids: Vec<String> = org.groups.iter().map(|_| uuid(rng)).collect();
    for (gi, g) in org.groups.iter().enumerate() {
        let entities: Vec<&String> = g
            .member_users
            .iter()
            .filter_map(|u| entity_of_user.get(*u).and_then(Option::as_ref))
            .collect();
        let subgroups: Vec<&String> = g.member_groups.iter().map(|x| &group_ids[*x]).collect();
        identity.groups.push((
            group_ids[gi].clone(),
            json!({"name": g.name, "type": "internal", "policies": g.policies,
                   "member_entity_ids": entities, "member_group_ids": subgroups}),
        ));
    }

    for (ri, r) in org.approles.iter().enumerate() {
        let role_id = uuid(rng);
        identity.approles.push(AppRoleRole {
            pid: format!("approle:approle:{}", r.name),
            name: r.name.clone(),
            role_id: Some(role_id.clone()),
            policies: r.policies.clone(),
            mount: "approle".into(),
        });
        if r.logins == 0 {
            continue;
        }
        let entity = uuid(rng);
        identity.entities.push((
            entity.clone(),
            json!({
                "name": format!("entity_{}", &entity[..8]),
                "aliases": [{"name": role_id, "mount_type": "approle", "mount_path": "auth/approle/"}],
                "policies": [],
                "metadata": {"role_name": r.name},
            }),
        ));
        for n in 0..r.logins {
            let mut policies = r.policies.clone();
            policies.push("default".into());
            let (c, tok) = new_token(
                rng,
                entity.clone(),
                "approle".into(),
                None,
                Some(entity.clone()),
                policies,
                Vec::new(),
                Lifetime::Ttl(24 * 30),
                Some("auth/approle/login".into()),
            );
            if tok.expires.is_none_or(|e| e > now) {
                inv.credentials.push(c);
            }
            actors.insert(actor_key(&Actor::AppRoleLogin { role: ri, n }), tok);
        }
    }
    map_identity(&mut inv, &identity);
    (inv, actors)
}

/// The PostgreSQL organisation as the PostgreSQL connector reads one from the catalogs: roles as
/// principals (login roles as users with a `login:` credential), memberships, and every object
/// privilege (`KIND:OBJECT:PRIVILEGE`), `PUBLIC` included; the superuser that loaded the
/// organisation owns what no generated role owns.
fn pg_inventory(org: &PgOrg, rng: &mut ChaCha8Rng, now: DateTime<Utc>) -> Inventory {
    const LOADER: &str = "postgres";
    let mut inv = Inventory::default();
    let mut perms: BTreeMap<String, Permission> = BTreeMap::new();
    let mut grant = |inv: &mut Inventory, role: &str, kind: &str, object: &str, privilege: &str| {
        let p = portcullis_connectors::postgres::privilege_permission(kind, object, privilege);
        inv.grants.push(Grant {
            from_kind: NodeKind::Principal,
            from_id: role.to_string(),
            to_kind: NodeKind::Permission,
            to_id: p.external_id.clone(),
        });
        perms.entry(p.external_id.clone()).or_insert(p);
    };
    // The connector's own mapping of a pg_roles row, so the demo cannot drift from a sync.
    let mut role_principal = |inv: &mut Inventory,
                              name: &str,
                              login: bool,
                              inherit: bool,
                              superuser: bool|
     -> Vec<Permission> {
        // One login role in five has a VALID UNTIL, some of them already past.
        let valid_until =
            (login && rng.gen_bool(0.2)).then(|| now + Duration::days(rng.gen_range(-60..240)));
        let role = portcullis_connectors::postgres::PgRole {
            name: name.to_string(),
            login,
            superuser,
            inherit,
            connection_limit: Some(-1),
            valid_until: valid_until.map(|t| t.format("%Y-%m-%d %H:%M:%S+00").to_string()),
            ..Default::default()
        };
        let (principal, rights, credential) =
            portcullis_connectors::postgres::role_principal(&role, now);
        inv.principals.push(principal);
        if let Some(mut c) = credential {
            c.attrs["demo"] = json!(true);
            inv.credentials.push(c);
        }
        rights
    };
    let mut attribute_grants = Vec::new();
    for p in role_principal(&mut inv, LOADER, true, true, true) {
        attribute_grants.push((LOADER.to_string(), p));
    }
    for r in &org.roles {
        for p in role_principal(&mut inv, &r.name, r.login, r.inherit, r.superuser) {
            attribute_grants.push((r.name.clone(), p));
        }
        for pre in &r.predefined {
            inv.grants.push(Grant {
                from_kind: NodeKind::Principal,
                from_id: r.name.clone(),
                to_kind: NodeKind::Principal,
                to_id: pre.clone(),
            });
        }
    }
    for (role, p) in attribute_grants {
        let privilege = p.raw["privilege"].as_str().unwrap_or_default().to_string();
        grant(&mut inv, &role, "cluster", "cluster", &privilege);
    }
    let role_name = |i: Option<usize>| -> String {
        i.and_then(|i| org.roles.get(i))
            .map_or_else(|| "PUBLIC".to_string(), |r| r.name.clone())
    };
    for &(member, group) in &org.memberships {
        if let (Some(m), Some(g)) = (org.roles.get(member), org.roles.get(group)) {
            inv.grants.push(Grant {
                from_kind: NodeKind::Principal,
                from_id: m.name.clone(),
                to_kind: NodeKind::Principal,
                to_id: g.name.clone(),
            });
        }
    }
    for s in &org.schemas {
        grant(&mut inv, LOADER, "schema", s, "OWNER");
    }
    for &(schema, grantee) in &org.schema_grants {
        if let Some(s) = org.schemas.get(schema) {
            grant(&mut inv, &role_name(grantee), "schema", s, "USAGE");
        }
    }
    for t in &org.tables {
        let owner = t
            .owner
            .and_then(|o| org.roles.get(o))
            .map_or(LOADER, |r| r.name.as_str());
        grant(&mut inv, owner, "table", &t.qualified(), "OWNER");
    }
    for g in &org.table_grants {
        if let Some(t) = org.tables.get(g.table) {
            for p in &g.privileges {
                grant(&mut inv, &role_name(g.grantee), "table", &t.qualified(), p);
            }
        }
    }
    for g in &org.column_grants {
        if let Some(t) = org.tables.get(g.table) {
            for c in &g.columns {
                let object = format!("{}.{c}", t.qualified());
                grant(
                    &mut inv,
                    &role_name(g.grantee),
                    "column",
                    &object,
                    &g.privilege,
                );
            }
        }
    }
    for f in &org.functions {
        let object = format!("{}()", f.qualified());
        grant(&mut inv, LOADER, "routine", &object, "OWNER");
        if f.public_execute {
            grant(&mut inv, "PUBLIC", "routine", &object, "EXECUTE");
        }
    }
    for &(function, grantee) in &org.function_grants {
        if let Some(f) = org.functions.get(function) {
            let object = format!("{}()", f.qualified());
            grant(&mut inv, &role_name(grantee), "routine", &object, "EXECUTE");
        }
    }
    inv.permissions = perms.into_values().collect();
    inv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_demo_is_labelled_filled_and_never_mixed_into_a_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let demo = dir.path().join("demo");
        let (ws, report) = Workspace::create_demo(&demo, 7, DemoSize::Small)
            .await
            .unwrap();
        let info = ws.demo_info().expect("the marker labels the workspace");
        assert_eq!(info.seed, 7);
        assert_eq!(info.backends, vec![DEMO_VAULT, DEMO_POSTGRES]);
        assert!(report.principals > 10, "{report:?}");
        assert!(report.credentials > 5, "{report:?}");
        assert!(report.audit_events > 50, "{report:?}");
        let overview = ws.overview().await.unwrap();
        assert_eq!(overview.backends.len(), 2);
        assert_eq!(overview.totals.audit_events, report.audit_events);
        // Both outcomes occur, and credentials were used (the history is tied to them).
        let used = ws
            .credentials(&portcullis_model::CredentialFilter::default())
            .await
            .unwrap()
            .iter()
            .filter(|c| c.last_used_at.is_some())
            .count();
        assert!(used > 0, "no credential has a last use");
        for outcome in ["allow", "deny"] {
            let page = ws
                .audit_search(&format!("outcome:{outcome}"), None, 5)
                .await
                .unwrap();
            assert!(!page.events.is_empty(), "no {outcome} event");
        }
        let again = Workspace::create_demo(&dir.path().join("again"), 7, DemoSize::Small)
            .await
            .unwrap()
            .1;
        assert_eq!(
            again.principals, report.principals,
            "same seed, same organisation"
        );
        assert_eq!(again.audit_events, report.audit_events);
        // Its evidence says it is a demo, in the manifest and at the top of the HTML report.
        let run = ws
            .review_run(&portcullis_model::ReviewRequest::default())
            .await
            .unwrap();
        let evidence = dir.path().join("evidence");
        let manifest = ws.export_findings(&run, &evidence).await.unwrap();
        assert_eq!(manifest.demo.as_deref(), Some(info.label().as_str()));
        let html = manifest
            .files
            .iter()
            .find(|f| f.name.ends_with(".html"))
            .expect("an HTML report");
        let text = std::fs::read_to_string(evidence.join(&html.name)).unwrap();
        assert!(
            text.contains("<strong>DEMO</strong> Demo data"),
            "{text:.300}"
        );
        let check = ws.verify_evidence_with_journal(&evidence).await.unwrap();
        assert!(
            check.ok,
            "the labelled report is the one the manifest hashed: {check:?}"
        );
        drop(ws);

        // Not into a directory that holds anything (a real workspace least of all).
        let err = Workspace::create_demo(&demo, 7, DemoSize::Small)
            .await
            .err()
            .expect("refused");
        assert!(err.to_string().contains("not empty"), "{err}");
        let real = dir.path().join("real");
        let ws = Workspace::open(&real).await.unwrap();
        assert!(ws.demo_info().is_none());
        drop(ws);
        assert!(Workspace::create_demo(&real, 1, DemoSize::Small)
            .await
            .is_err());
    }
}
