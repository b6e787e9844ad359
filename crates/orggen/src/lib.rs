//! Random organisations, reproducible from a seed: the data nobody here wrote.
//!
//! The sandbox's Acme is one example; tests that only ever see it learn its naming conventions
//! by accident. An [`Org`] has random names (no `svc-` prefixes, no meaningful words), random
//! depth of group and role nesting, globs, `+` segments and deny rules, column and function
//! grants, predefined roles, logins that create identity entities, approles, disabled accounts,
//! tokens sharing display names, expiring and never-expiring credentials, and random activity.
//!
//! This crate only *describes* an organisation; it does no IO. The oracle tests
//! (`tests/tests/oracle_sandbox.rs`) load it into real OpenBao and PostgreSQL servers and compare
//! Portcullis's offline answers with the servers' own authorizers; the demo workspace reads the
//! same description. The same seed always gives the same organisation.

pub mod names;
pub mod postgres;
pub mod vault;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

pub use postgres::PgOrg;
pub use vault::VaultOrg;

/// How big an organisation to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Size {
    /// A few dozen principals: fast enough for every `make test`.
    Small,
    /// Hundreds of principals and rules: the documented longer run and the demo's large option.
    Large,
}

impl Size {
    /// Scales a small-size count.
    pub(crate) fn n(self, small: usize) -> usize {
        match self {
            Size::Small => small,
            Size::Large => small * 6,
        }
    }
}

/// One generated organisation.
#[derive(Debug, Clone, Serialize)]
pub struct Org {
    pub seed: u64,
    pub size: Size,
    pub vault: VaultOrg,
    pub postgres: PgOrg,
}

impl Org {
    pub fn generate(seed: u64, size: Size) -> Org {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut names = names::Names::default();
        let vault = VaultOrg::generate(&mut rng, &mut names, size);
        let postgres = PgOrg::generate(&mut rng, &mut names, size);
        Org {
            seed,
            size,
            vault,
            postgres,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_org() {
        let a = format!("{:?}", Org::generate(7, Size::Small));
        let b = format!("{:?}", Org::generate(7, Size::Small));
        assert_eq!(a, b);
        let c = format!("{:?}", Org::generate(8, Size::Small));
        assert_ne!(a, c);
    }

    #[test]
    fn orgs_have_the_shapes_the_oracles_need() {
        // Over a handful of seeds every feature shows up somewhere: the tests built on the
        // generator would otherwise silently stop covering it.
        let orgs: Vec<Org> = (0..12).map(|s| Org::generate(s, Size::Small)).collect();
        let rules = || {
            orgs.iter()
                .flat_map(|o| o.vault.policies.iter().flat_map(|p| &p.rules))
        };
        assert!(rules().any(|r| r.path.ends_with('*')));
        assert!(rules().any(|r| r.path.split('/').any(|s| s == "+")));
        assert!(rules().any(|r| r.capabilities == ["deny"]));
        assert!(orgs.iter().any(|o| o.vault.tokens.iter().any(|t| o
            .vault
            .tokens
            .iter()
            .filter(|u| u.display_name == t.display_name)
            .count()
            > 1)));
        assert!(orgs
            .iter()
            .any(|o| o.vault.groups.iter().any(|g| !g.member_groups.is_empty())));
        let pg = || orgs.iter().map(|o| &o.postgres);
        assert!(pg().any(|p| p.column_grants.iter().any(|_| true)));
        assert!(pg().any(|p| p.roles.iter().any(|r| !r.inherit)));
        assert!(pg().any(|p| p.roles.iter().any(|r| !r.predefined.is_empty())));
        assert!(pg().any(|p| p.functions.iter().any(|f| !f.public_execute)));
        assert!(pg().any(|p| p.table_grants.iter().any(|g| g.grantee.is_none())));
    }

    #[test]
    fn names_are_unique_and_plain() {
        for seed in 0..20 {
            let o = Org::generate(seed, Size::Small);
            let mut all: Vec<&str> = o.vault.policies.iter().map(|p| p.name.as_str()).collect();
            all.extend(o.postgres.roles.iter().map(|r| r.name.as_str()));
            let n = all.len();
            all.sort();
            all.dedup();
            assert_eq!(all.len(), n, "seed {seed}");
            assert!(all.iter().all(|s| s
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())));
        }
    }
}
