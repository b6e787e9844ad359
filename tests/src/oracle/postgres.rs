//! Loads a generated PostgreSQL organisation into a real cluster, runs its activity as the login
//! roles, and asks the server's own privilege functions what every role can do.
//!
//! "Can" is Portcullis's notion (../shared/docs/ORACLES.md): a role can do what it, or any role it
//! may `SET ROLE` to (`pg_has_role(r, g, 'MEMBER')`), holds by `has_*_privilege` — so the server
//! answers in one query per object kind, over every role of the cluster.

use std::collections::BTreeSet;

use portcullis_orggen::postgres::{PgOrg, COLUMN_PRIVILEGES, TABLE_PRIVILEGES};

use super::servers::Pg;
use crate::Result;

pub fn load(pg: &Pg, org: &PgOrg) -> Result<()> {
    pg.psql(
        "postgres",
        "postgres",
        &format!("CREATE DATABASE \"{}\";", org.database),
    )?;
    pg.psql("postgres", &org.database, &org.setup_sql())?;
    for s in &org.activity {
        let role = &org.roles[s.role].name;
        let sql = match s.kind.as_str() {
            "EXECUTE" => format!("SELECT {}();", org.functions[s.object].qualified()),
            "INSERT" => {
                let t = &org.tables[s.object];
                format!("INSERT INTO {} DEFAULT VALUES;", t.qualified())
            }
            _ => format!("SELECT * FROM {};", org.tables[s.object].qualified()),
        };
        // A refusal is activity too; the statement's outcome is the server's business.
        let _ = pg.psql(role, &org.database, &sql);
    }
    Ok(())
}

/// One privilege question and the roles the server says can: (privilege, object) → roles.
pub type Answers = Vec<((String, String), BTreeSet<String>)>;

/// The closure query: roles `r` for which some `g` with `pg_has_role(r, g, 'MEMBER')` passes
/// `check` (an expression over `g`).
fn closure(pg: &Pg, db: &str, check: &str) -> Result<BTreeSet<String>> {
    let sql = format!(
        "SELECT r.rolname FROM pg_roles r WHERE r.rolname !~ '^pg_' AND EXISTS (\
           SELECT 1 FROM pg_roles g WHERE pg_has_role(r.oid, g.oid, 'MEMBER') AND {check}) \
         ORDER BY 1;"
    );
    Ok(pg
        .psql("postgres", db, &sql)?
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect())
}

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Table level: who can, and who can on some columns only.
pub fn tables(pg: &Pg, org: &PgOrg) -> Result<(Answers, Answers)> {
    let mut full = Vec::new();
    let mut partial = Vec::new();
    for t in &org.tables {
        let obj = lit(&t.qualified());
        for p in TABLE_PRIVILEGES {
            let can = closure(
                pg,
                &org.database,
                &format!("has_table_privilege(g.oid, {obj}, '{p}')"),
            )?;
            full.push(((p.to_string(), t.qualified()), can));
        }
        for p in COLUMN_PRIVILEGES {
            let some = closure(
                pg,
                &org.database,
                &format!("has_any_column_privilege(g.oid, {obj}, '{p}')"),
            )?;
            partial.push(((p.to_string(), t.qualified()), some));
        }
    }
    Ok((full, partial))
}

/// Column level, for every column and column privilege.
pub fn columns(pg: &Pg, org: &PgOrg) -> Result<Answers> {
    let mut out = Vec::new();
    for t in &org.tables {
        for c in &t.columns {
            for p in COLUMN_PRIVILEGES {
                let check = format!(
                    "has_column_privilege(g.oid, {}, {}, '{p}')",
                    lit(&t.qualified()),
                    lit(c)
                );
                let can = closure(pg, &org.database, &check)?;
                out.push(((p.to_string(), format!("{}.{c}", t.qualified())), can));
            }
        }
    }
    Ok(out)
}

/// EXECUTE on every function.
pub fn functions(pg: &Pg, org: &PgOrg) -> Result<Answers> {
    let mut out = Vec::new();
    for f in &org.functions {
        let check = format!(
            "has_function_privilege(g.oid, {}, 'EXECUTE')",
            lit(&format!("{}()", f.qualified()))
        );
        let can = closure(pg, &org.database, &check)?;
        out.push((("EXECUTE".to_string(), f.qualified()), can));
    }
    Ok(out)
}
