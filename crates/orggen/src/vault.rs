//! A random Vault/OpenBao organisation: kv mounts with a random path tree, ACL policies with
//! exact paths, globs (whole and partial segments), `+` segments and deny rules, userpass users
//! and approles whose logins create identity entities, nested identity groups, tokens created
//! directly (display names shared between tokens, as every CI job's token shares one), periodic,
//! expiring and root tokens, and the requests each credential makes.

use rand::Rng;
use serde::Serialize;

use crate::names::{pick, subset, Names};
use crate::Size;

/// Capabilities a generated rule may grant (`deny` is generated on its own).
pub const CAPABILITIES: [&str; 7] = [
    "create", "read", "update", "delete", "list", "patch", "sudo",
];

#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub path: String,
    pub capabilities: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub name: String,
    pub rules: Vec<Rule>,
}

impl Policy {
    /// The policy as HCL, as an operator would write it.
    pub fn hcl(&self) -> String {
        self.rules
            .iter()
            .map(|r| {
                let caps: Vec<String> = r.capabilities.iter().map(|c| format!("\"{c}\"")).collect();
                format!(
                    "path \"{}\" {{\n  capabilities = [{}]\n}}\n",
                    r.path,
                    caps.join(", ")
                )
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub name: String,
    pub password: String,
    /// The userpass user's token policies.
    pub policies: Vec<String>,
    /// How many times the user logs in (each login a token; the first creates the entity).
    pub logins: usize,
    /// Policies set on the user's identity entity after its first login.
    pub entity_policies: Vec<String>,
    /// The entity is disabled after the logins (its tokens stay, and may do nothing).
    pub disabled: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct AppRole {
    pub name: String,
    pub policies: Vec<String>,
    pub logins: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub name: String,
    pub policies: Vec<String>,
    /// Indices into `VaultOrg::users` (only users that logged in have an entity).
    pub member_users: Vec<usize>,
    /// Indices into `VaultOrg::groups`, always lower than this group's own index.
    pub member_groups: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Lifetime {
    /// Expires after this many hours.
    Ttl(u32),
    /// Periodic: renewable forever, this many hours at a time.
    Period(u32),
    /// The `root` policy: never expires, may do anything.
    Root,
}

#[derive(Debug, Clone, Serialize)]
pub struct Token {
    pub display_name: String,
    pub policies: Vec<String>,
    pub no_default_policy: bool,
    pub lifetime: Lifetime,
}

/// Who makes a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Actor {
    /// `VaultOrg::tokens[i]`.
    Token(usize),
    /// The `n`th login of `VaultOrg::users[user]`.
    UserLogin { user: usize, n: usize },
    /// The `n`th login of `VaultOrg::approles[role]`.
    AppRoleLogin { role: usize, n: usize },
}

#[derive(Debug, Clone, Serialize)]
pub struct Request {
    pub actor: Actor,
    /// `read`, `list` or `update`.
    pub operation: String,
    pub path: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct VaultOrg {
    /// kv version 1 mounts (request paths are policy paths, no `data/` inserted).
    pub mounts: Vec<String>,
    /// Every concrete path of the random tree, interior nodes included.
    pub tree: Vec<String>,
    pub policies: Vec<Policy>,
    pub users: Vec<User>,
    pub approles: Vec<AppRole>,
    pub groups: Vec<Group>,
    pub tokens: Vec<Token>,
    pub activity: Vec<Request>,
    /// Concrete paths worth asking about: the tree, every rule instantiated, some strangers.
    pub probes: Vec<String>,
}

impl VaultOrg {
    pub fn generate(rng: &mut impl Rng, names: &mut Names, size: Size) -> VaultOrg {
        let mounts: Vec<String> = (0..rng.gen_range(2..=3))
            .map(|_| names.fresh(rng))
            .collect();
        let tree = tree(rng, names, &mounts, size);
        let policies: Vec<Policy> = (0..size.n(rng.gen_range(4..=8)))
            .map(|_| Policy {
                name: names.fresh(rng),
                rules: (0..rng.gen_range(1..=5))
                    .map(|_| rule(rng, names, &tree))
                    .collect(),
            })
            .collect();
        let pnames: Vec<String> = policies.iter().map(|p| p.name.clone()).collect();
        let few = |rng: &mut dyn rand::RngCore| -> Vec<String> {
            let mut v = subset(rng, &pnames, 0.3);
            v.truncate(3);
            v
        };
        let users: Vec<User> = (0..size.n(rng.gen_range(3..=6)))
            .map(|_| User {
                name: names.fresh(rng),
                password: format!("{}-{}", names.fresh(rng), rng.gen_range(1000..9999)),
                policies: few(rng),
                logins: rng.gen_range(0..=2),
                entity_policies: if rng.gen_bool(0.4) {
                    few(rng)
                } else {
                    Vec::new()
                },
                disabled: rng.gen_bool(0.15),
            })
            .collect();
        let approles = (0..size.n(rng.gen_range(1..=2)))
            .map(|_| AppRole {
                name: names.fresh(rng),
                policies: few(rng),
                logins: rng.gen_range(1..=2),
            })
            .collect();
        let with_entity: Vec<usize> = (0..users.len()).filter(|&u| users[u].logins > 0).collect();
        let mut groups: Vec<Group> = Vec::new();
        for _ in 0..size.n(rng.gen_range(1..=3)) {
            let lower: Vec<usize> = (0..groups.len()).collect();
            groups.push(Group {
                name: names.fresh(rng),
                policies: few(rng),
                member_users: subset(rng, &with_entity, 0.35),
                member_groups: subset(rng, &lower, 0.4),
            });
        }
        let tokens = tokens(rng, names, &pnames, size);
        let mut org = VaultOrg {
            mounts,
            tree,
            policies,
            users,
            approles,
            groups,
            tokens,
            activity: Vec::new(),
            probes: Vec::new(),
        };
        org.probes = probes(rng, names, &org);
        org.activity = activity(rng, &org);
        org
    }

    /// Every actor that holds a token once the organisation is loaded.
    pub fn actors(&self) -> Vec<Actor> {
        let mut out: Vec<Actor> = (0..self.tokens.len()).map(Actor::Token).collect();
        for (user, u) in self.users.iter().enumerate() {
            out.extend((0..u.logins).map(|n| Actor::UserLogin { user, n }));
        }
        for (role, r) in self.approles.iter().enumerate() {
            out.extend((0..r.logins).map(|n| Actor::AppRoleLogin { role, n }));
        }
        out
    }
}

fn tree(rng: &mut impl Rng, names: &mut Names, mounts: &[String], size: Size) -> Vec<String> {
    let mut out = Vec::new();
    let mut frontier: Vec<(String, usize)> = mounts.iter().map(|m| (m.clone(), 0)).collect();
    while let Some((path, depth)) = frontier.pop() {
        if depth > 0 {
            out.push(path.clone());
        }
        if depth >= 3 || (depth > 0 && rng.gen_bool(0.3)) {
            continue;
        }
        let children = match size {
            Size::Small => rng.gen_range(1..=3),
            Size::Large => rng.gen_range(2..=6),
        };
        for _ in 0..children {
            frontier.push((format!("{path}/{}", names.fresh(rng)), depth + 1));
        }
    }
    out.sort();
    out
}

fn rule(rng: &mut impl Rng, names: &mut Names, tree: &[String]) -> Rule {
    let base = pick(rng, tree).cloned().unwrap_or_default();
    let segs: Vec<&str> = base.split('/').collect();
    let path = match rng.gen_range(0..100) {
        0..=29 => base.clone(),
        30..=49 => format!("{base}/*"),
        50..=59 => {
            // A partial-segment glob: `mount/a/ka*` matches `ka…` and everything below.
            let last = segs.last().copied().unwrap_or_default();
            let keep = rng.gen_range(0..=last.len().min(3));
            format!("{}{}*", &base[..base.len() - last.len()], &last[..keep])
        }
        60..=84 if segs.len() >= 2 => {
            let mut s: Vec<String> = segs.iter().map(|x| x.to_string()).collect();
            let i = rng.gen_range(1..s.len());
            s[i] = "+".into();
            let glob = if rng.gen_bool(0.4) { "/*" } else { "" };
            format!("{}{glob}", s.join("/"))
        }
        85..=95 => format!("{}/*", segs[0]),
        96..=97 => "*".into(),
        _ => format!("{}/{}", segs[0], names.fresh(rng)),
    };
    let capabilities = if rng.gen_bool(0.15) {
        vec!["deny".to_string()]
    } else {
        let mut caps: Vec<String> = subset(rng, &CAPABILITIES, 0.35)
            .into_iter()
            .map(str::to_string)
            .collect();
        if caps.is_empty() {
            caps.push(CAPABILITIES[rng.gen_range(0..CAPABILITIES.len())].into());
        }
        caps
    };
    Rule { path, capabilities }
}

fn tokens(rng: &mut impl Rng, names: &mut Names, pnames: &[String], size: Size) -> Vec<Token> {
    // A small pool: tokens share display names, as every CI job's token shares one.
    let pool: Vec<String> = (0..rng.gen_range(2..=3))
        .map(|_| names.fresh(rng))
        .collect();
    (0..size.n(rng.gen_range(3..=8)))
        .map(|_| {
            let lifetime = match rng.gen_range(0..100) {
                0..=59 => Lifetime::Ttl(rng.gen_range(1..=72)),
                60..=95 => Lifetime::Period(24),
                _ => Lifetime::Root,
            };
            let mut policies = subset(rng, pnames, 0.3);
            policies.truncate(3);
            if policies.is_empty() {
                policies.extend(pick(rng, pnames).cloned());
            }
            if lifetime == Lifetime::Root {
                policies = vec!["root".into()];
            }
            Token {
                display_name: pick(rng, &pool).cloned().unwrap_or_default(),
                policies,
                no_default_policy: rng.gen_bool(0.3),
                lifetime,
            }
        })
        .collect()
}

fn probes(rng: &mut impl Rng, names: &mut Names, org: &VaultOrg) -> Vec<String> {
    let mut out = org.tree.clone();
    for rule in org.policies.iter().flat_map(|p| &p.rules) {
        if rule.path == "*" {
            continue;
        }
        let mut segs: Vec<String> = Vec::new();
        for s in rule.path.split('/') {
            segs.push(if s == "+" {
                names.fresh(rng)
            } else {
                s.to_string()
            });
        }
        let mut p = segs.join("/");
        if let Some(prefix) = p.strip_suffix('*') {
            p = format!("{prefix}{}", names.fresh(rng));
        }
        out.push(p);
    }
    for m in &org.mounts {
        out.push(format!("{m}/{}", names.fresh(rng)));
    }
    out.sort();
    out.dedup();
    out
}

fn activity(rng: &mut impl Rng, org: &VaultOrg) -> Vec<Request> {
    let mut out = Vec::new();
    for actor in org.actors() {
        for _ in 0..rng.gen_range(0..=4) {
            let Some(path) = pick(rng, &org.probes) else {
                break;
            };
            let operation = ["read", "list", "update"][rng.gen_range(0..3)].to_string();
            out.push(Request {
                actor,
                operation,
                path: path.clone(),
            });
        }
    }
    out
}
