//! A random PostgreSQL organisation: schemas, tables with columns, functions, roles (login or
//! not, inheriting or not, rarely superuser, members of predefined roles) in a random membership
//! DAG, and table, column, function and schema grants — to roles and to `PUBLIC` — plus table
//! ownership and the statements login roles run.

use rand::Rng;
use serde::Serialize;

use crate::names::{pick, subset, Names};
use crate::Size;

pub const TABLE_PRIVILEGES: [&str; 5] = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"];
pub const COLUMN_PRIVILEGES: [&str; 3] = ["SELECT", "INSERT", "UPDATE"];
pub const PREDEFINED: [&str; 2] = ["pg_read_all_data", "pg_write_all_data"];

#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub schema: String,
    pub name: String,
    pub columns: Vec<String>,
    /// Index into `PgOrg::roles`; None: the superuser that loads the org owns it.
    pub owner: Option<usize>,
}

impl Table {
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Function {
    pub schema: String,
    pub name: String,
    /// PostgreSQL grants EXECUTE to PUBLIC by default; false: revoked from PUBLIC.
    pub public_execute: bool,
}

impl Function {
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PgRole {
    pub name: String,
    pub login: bool,
    pub inherit: bool,
    pub superuser: bool,
    /// Predefined roles it is a member of (`pg_read_all_data`, `pg_write_all_data`).
    pub predefined: Vec<String>,
    pub password: String,
}

/// `grantee` None is `PUBLIC`.
#[derive(Debug, Clone, Serialize)]
pub struct TableGrant {
    pub table: usize,
    pub grantee: Option<usize>,
    pub privileges: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ColumnGrant {
    pub table: usize,
    pub columns: Vec<String>,
    pub grantee: Option<usize>,
    pub privilege: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    pub role: usize,
    /// `SELECT`, `INSERT` or `EXECUTE`.
    pub kind: String,
    /// Table index for SELECT/INSERT, function index for EXECUTE.
    pub object: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PgOrg {
    pub database: String,
    pub schemas: Vec<String>,
    pub tables: Vec<Table>,
    pub functions: Vec<Function>,
    pub roles: Vec<PgRole>,
    /// (member, group): indices into `roles`; the group's index is always lower (no cycles).
    pub memberships: Vec<(usize, usize)>,
    pub table_grants: Vec<TableGrant>,
    pub column_grants: Vec<ColumnGrant>,
    /// (function, grantee) EXECUTE grants.
    pub function_grants: Vec<(usize, Option<usize>)>,
    /// (schema index, grantee) USAGE grants.
    pub schema_grants: Vec<(usize, Option<usize>)>,
    pub activity: Vec<Statement>,
}

impl PgOrg {
    pub fn generate(rng: &mut impl Rng, names: &mut Names, size: Size) -> PgOrg {
        let database = names.fresh(rng);
        let schemas: Vec<String> = (0..rng.gen_range(2..=3))
            .map(|_| names.fresh(rng))
            .collect();
        let roles: Vec<PgRole> = (0..size.n(rng.gen_range(6..=10)))
            .map(|_| PgRole {
                name: names.fresh(rng),
                login: rng.gen_bool(0.6),
                inherit: rng.gen_bool(0.75),
                superuser: rng.gen_bool(0.04),
                predefined: subset(rng, &PREDEFINED, 0.08)
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
                password: format!("{}-{}", names.fresh(rng), rng.gen_range(1000..9999)),
            })
            .collect();
        let role_ix: Vec<usize> = (0..roles.len()).collect();
        let mut tables = Vec::new();
        let mut functions = Vec::new();
        for s in &schemas {
            for _ in 0..size.n(rng.gen_range(2..=4)) {
                tables.push(Table {
                    schema: s.clone(),
                    name: names.fresh(rng),
                    columns: (0..rng.gen_range(2..=4))
                        .map(|_| names.fresh(rng))
                        .collect(),
                    owner: if rng.gen_bool(0.15) {
                        pick(rng, &role_ix).copied()
                    } else {
                        None
                    },
                });
            }
            for _ in 0..rng.gen_range(0..=2) {
                functions.push(Function {
                    schema: s.clone(),
                    name: names.fresh(rng),
                    public_execute: rng.gen_bool(0.5),
                });
            }
        }
        let mut memberships = Vec::new();
        for member in 1..roles.len() {
            for group in 0..member {
                if rng.gen_bool(0.18) {
                    memberships.push((member, group));
                }
            }
        }
        let grantee = |rng: &mut dyn rand::RngCore| -> Option<usize> {
            if rng.gen_bool(0.1) {
                None
            } else {
                Some(rng.gen_range(0..roles.len()))
            }
        };
        let mut table_grants = Vec::new();
        let mut column_grants = Vec::new();
        for (t, table) in tables.iter().enumerate() {
            for _ in 0..rng.gen_range(0..=3) {
                let mut privileges: Vec<String> = subset(rng, &TABLE_PRIVILEGES, 0.35)
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                if privileges.is_empty() {
                    privileges.push("SELECT".into());
                }
                table_grants.push(TableGrant {
                    table: t,
                    grantee: grantee(rng),
                    privileges,
                });
            }
            for _ in 0..rng.gen_range(0..=2) {
                let mut columns = subset(rng, &table.columns, 0.5);
                if columns.is_empty() {
                    columns.push(table.columns[0].clone());
                }
                column_grants.push(ColumnGrant {
                    table: t,
                    columns,
                    grantee: grantee(rng),
                    privilege: COLUMN_PRIVILEGES[rng.gen_range(0..COLUMN_PRIVILEGES.len())].into(),
                });
            }
        }
        let mut function_grants = Vec::new();
        for f in 0..functions.len() {
            for _ in 0..rng.gen_range(0..=2) {
                function_grants.push((f, grantee(rng)));
            }
        }
        let mut schema_grants = Vec::new();
        for s in 0..schemas.len() {
            for _ in 0..rng.gen_range(0..=3) {
                schema_grants.push((s, grantee(rng)));
            }
        }
        let mut org = PgOrg {
            database,
            schemas,
            tables,
            functions,
            roles,
            memberships,
            table_grants,
            column_grants,
            function_grants,
            schema_grants,
            activity: Vec::new(),
        };
        org.activity = pg_activity(rng, &org);
        org
    }

    /// The SQL that creates the organisation in an empty database, run by a superuser
    /// (identifiers quoted; generated names never need it, hostile ones would).
    pub fn setup_sql(&self) -> String {
        let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let who = |g: Option<usize>| g.map_or("PUBLIC".to_string(), |r| q(&self.roles[r].name));
        let mut sql = Vec::new();
        for r in &self.roles {
            sql.push(format!(
                "CREATE ROLE {} {} {} {} PASSWORD '{}';",
                q(&r.name),
                if r.login { "LOGIN" } else { "NOLOGIN" },
                if r.inherit { "INHERIT" } else { "NOINHERIT" },
                if r.superuser {
                    "SUPERUSER"
                } else {
                    "NOSUPERUSER"
                },
                r.password
            ));
            for p in &r.predefined {
                sql.push(format!("GRANT {p} TO {};", q(&r.name)));
            }
        }
        for (m, g) in &self.memberships {
            sql.push(format!(
                "GRANT {} TO {};",
                q(&self.roles[*g].name),
                q(&self.roles[*m].name)
            ));
        }
        for s in &self.schemas {
            sql.push(format!("CREATE SCHEMA {};", q(s)));
        }
        for t in &self.tables {
            let cols: Vec<String> = t.columns.iter().map(|c| format!("{} text", q(c))).collect();
            sql.push(format!(
                "CREATE TABLE {}.{} ({});",
                q(&t.schema),
                q(&t.name),
                cols.join(", ")
            ));
            if let Some(o) = t.owner {
                sql.push(format!(
                    "ALTER TABLE {}.{} OWNER TO {};",
                    q(&t.schema),
                    q(&t.name),
                    q(&self.roles[o].name)
                ));
            }
        }
        for f in &self.functions {
            sql.push(format!(
                "CREATE FUNCTION {}.{}() RETURNS integer LANGUAGE sql AS 'SELECT 1';",
                q(&f.schema),
                q(&f.name)
            ));
            if !f.public_execute {
                sql.push(format!(
                    "REVOKE EXECUTE ON FUNCTION {}.{}() FROM PUBLIC;",
                    q(&f.schema),
                    q(&f.name)
                ));
            }
        }
        for g in &self.table_grants {
            let t = &self.tables[g.table];
            sql.push(format!(
                "GRANT {} ON {}.{} TO {};",
                g.privileges.join(", "),
                q(&t.schema),
                q(&t.name),
                who(g.grantee)
            ));
        }
        for g in &self.column_grants {
            let t = &self.tables[g.table];
            let cols: Vec<String> = g.columns.iter().map(|c| q(c)).collect();
            sql.push(format!(
                "GRANT {} ({}) ON {}.{} TO {};",
                g.privilege,
                cols.join(", "),
                q(&t.schema),
                q(&t.name),
                who(g.grantee)
            ));
        }
        for (f, g) in &self.function_grants {
            let f = &self.functions[*f];
            sql.push(format!(
                "GRANT EXECUTE ON FUNCTION {}.{}() TO {};",
                q(&f.schema),
                q(&f.name),
                who(*g)
            ));
        }
        for (s, g) in &self.schema_grants {
            sql.push(format!(
                "GRANT USAGE ON SCHEMA {} TO {};",
                q(&self.schemas[*s]),
                who(*g)
            ));
        }
        sql.join("\n") + "\n"
    }

    /// The SQL that removes every role the organisation created (roles are cluster-wide).
    pub fn teardown_sql(&self) -> String {
        let mut sql: Vec<String> = Vec::new();
        for r in self.roles.iter().rev() {
            sql.push(format!(
                "DROP OWNED BY \"{0}\"; DROP ROLE IF EXISTS \"{0}\";",
                r.name
            ));
        }
        sql.join("\n") + "\n"
    }
}

fn pg_activity(rng: &mut impl Rng, org: &PgOrg) -> Vec<Statement> {
    let mut out = Vec::new();
    for (role, r) in org.roles.iter().enumerate() {
        if !r.login {
            continue;
        }
        for _ in 0..rng.gen_range(0..=3) {
            let (kind, n) = match rng.gen_range(0..10) {
                0..=5 => ("SELECT", org.tables.len()),
                6..=7 => ("INSERT", org.tables.len()),
                _ => ("EXECUTE", org.functions.len()),
            };
            if n == 0 {
                continue;
            }
            out.push(Statement {
                role,
                kind: kind.into(),
                object: rng.gen_range(0..n),
            });
        }
    }
    out
}
