//! Reading PostgreSQL's access model from the catalogs.
//!
//! Every role is a principal (a role that cannot log in is shown as a group); membership is a
//! principal→principal grant; role attributes (SUPERUSER, CREATEROLE, BYPASSRLS, ...) and
//! privileges from the ACLs of tables, columns, routines and schemas are permissions granted
//! directly to the role. ACLs are read with `aclexplode` from `pg_class`/`pg_proc`/
//! `pg_namespace`, which any role may read, rather than from `information_schema`, which only
//! shows what the current role can see. Credentials are login rights (with VALID UNTIL as expiry)
//! and live sessions from `pg_stat_activity`.

use chrono::{DateTime, Utc};
use portcullis_model::{
    Action, Credential, CredentialKind, CredentialStatus, Grant, Inventory, NodeKind, Permission,
    Principal, PrincipalKind, Progress,
};
use serde_json::json;
use sqlx::postgres::PgConnection;
use sqlx::Row;
use std::collections::BTreeMap;

/// A grantee oid as a name: 0 is `PUBLIC`, which `pg_get_userbyid` calls "unknown (OID=0)".
/// One rule for every ACL this module reads (table, routine, schema and column ACLs alike).
macro_rules! grantee_name {
    ($col:literal) => {
        concat!(
            "CASE WHEN ",
            $col,
            " = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(",
            $col,
            ")::text END"
        )
    };
}

use super::{parse_pg_timestamp, Postgres};
use crate::{ConnectorError, ProgressFn};

/// Privilege name → action class.
pub fn action_of(privilege: &str) -> Action {
    match privilege {
        "SELECT" | "USAGE" => Action::Read,
        "INSERT" | "UPDATE" | "DELETE" | "TRUNCATE" | "CREATE" => Action::Write,
        "EXECUTE" => Action::Execute,
        "OWNER" | "SUPERUSER" | "CREATEROLE" | "BYPASSRLS" | "CREATEDB" | "REPLICATION" => {
            Action::Admin
        }
        _ => Action::Other,
    }
}

/// A login role's password login as a credential: it lives until the role's `VALID UNTIL`.
pub fn login_credential(
    role: &str,
    expires: Option<DateTime<Utc>>,
    valid_until: serde_json::Value,
    now: DateTime<Utc>,
) -> Credential {
    Credential {
        external_id: format!("login:{role}"),
        kind: CredentialKind::Login,
        principal_external_id: Some(role.to_string()),
        client: None,
        scopes: Vec::new(),
        issued_at: None,
        expires_at: expires,
        last_used_at: None,
        status: match expires {
            Some(t) if t <= now => CredentialStatus::Expired,
            _ => CredentialStatus::Active,
        },
        attrs: json!({ "valid_until": valid_until }),
    }
}

/// The permission a privilege on an object is, as every PostgreSQL inventory names it (the demo
/// organisation builds its cache with it too).
pub fn privilege_permission(object_kind: &str, object: &str, privilege: &str) -> Permission {
    Permission {
        external_id: format!("{object_kind}:{object}:{privilege}"),
        // Role attributes are rights on the whole server, which has no name of its own.
        name: if object_kind == "cluster" {
            format!("{privilege} on the whole server")
        } else {
            format!("{privilege} on {object_kind} {object}")
        },
        resource: object.to_string(),
        action: action_of(privilege),
        raw: json!({"object_kind": object_kind, "object": object, "privilege": privilege}),
    }
}

/// One row of `pg_roles` as the mapping reads it.
#[derive(Debug, Clone, Default)]
pub struct PgRole {
    pub name: String,
    pub login: bool,
    pub superuser: bool,
    pub inherit: bool,
    pub createrole: bool,
    pub createdb: bool,
    pub replication: bool,
    pub bypassrls: bool,
    pub connection_limit: Option<i32>,
    /// `rolvaliduntil::text` (`2026-12-31 00:00:00+00`, `infinity`).
    pub valid_until: Option<String>,
}

/// A role as the model has it: the principal (a login role is a user, any other a group), the
/// cluster rights its attributes give (SUPERUSER, CREATEROLE …), and its password login as a
/// credential. The one mapping of a role, for the connector and the demo organisation alike.
pub fn role_principal(
    r: &PgRole,
    now: DateTime<Utc>,
) -> (Principal, Vec<Permission>, Option<Credential>) {
    let principal = Principal {
        external_id: r.name.clone(),
        kind: if r.login {
            PrincipalKind::User
        } else {
            PrincipalKind::Group
        },
        name: r.name.clone(),
        enabled: r.login,
        attrs: json!({
            "login": r.login,
            "superuser": r.superuser,
            "createrole": r.createrole,
            "bypassrls": r.bypassrls,
            "createdb": r.createdb,
            "replication": r.replication,
            "inherit": r.inherit,
            "valid_until": r.valid_until,
            "connection_limit": r.connection_limit,
        }),
    };
    let rights = [
        (r.superuser, "SUPERUSER"),
        (r.createrole, "CREATEROLE"),
        (r.bypassrls, "BYPASSRLS"),
        (r.createdb, "CREATEDB"),
        (r.replication, "REPLICATION"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, attr)| privilege_permission("cluster", "cluster", attr))
    .collect();
    let login = r.login.then(|| {
        let expires = r.valid_until.as_deref().and_then(parse_pg_timestamp);
        login_credential(&r.name, expires, json!(r.valid_until), now)
    });
    (principal, rights, login)
}

impl Postgres {
    pub(crate) async fn read_inventory(
        &self,
        progress: &ProgressFn<'_>,
    ) -> Result<Inventory, ConnectorError> {
        let task = "postgres inventory".to_string();
        progress(Progress::Started {
            task: task.clone(),
            total: Some(4),
        });
        let mut conn = self.connect().await?;
        let mut inv = Inventory::default();
        let mut perms: BTreeMap<String, Permission> = BTreeMap::new();
        let mut grant = |inv: &mut Inventory, role: &str, p: Permission| {
            inv.grants.push(Grant {
                from_kind: NodeKind::Principal,
                from_id: role.to_string(),
                to_kind: NodeKind::Permission,
                to_id: p.external_id.clone(),
            });
            perms.entry(p.external_id.clone()).or_insert(p);
        };

        // Roles, their attributes and login rights.
        let roles = self.bounded("SELECT on pg_roles", sqlx::query(
            "SELECT rolname::text, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
                    rolreplication, rolbypassrls, rolconnlimit, rolvaliduntil::text AS valid_until
             FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY rolname",
        )
        .fetch_all(&mut conn)).await?;
        let now = Utc::now();
        for r in &roles {
            let get_b = |c: &str| r.try_get::<bool, _>(c).unwrap_or(false);
            let role = PgRole {
                name: r
                    .try_get("rolname")
                    .map_err(|e| self.map_error(e, "pg_roles"))?,
                login: get_b("rolcanlogin"),
                superuser: get_b("rolsuper"),
                inherit: get_b("rolinherit"),
                createrole: get_b("rolcreaterole"),
                createdb: get_b("rolcreatedb"),
                replication: get_b("rolreplication"),
                bypassrls: get_b("rolbypassrls"),
                connection_limit: r.try_get::<i32, _>("rolconnlimit").ok(),
                valid_until: r.try_get("valid_until").ok().flatten(),
            };
            let (principal, rights, login) = role_principal(&role, now);
            inv.principals.push(principal);
            for p in rights {
                grant(&mut inv, &role.name, p);
            }
            inv.credentials.extend(login);
        }
        progress(Progress::Advanced {
            task: task.clone(),
            done: 1,
            total: Some(4),
            message: format!("{} roles", roles.len()),
        });

        // Membership: member → group role.
        let members = self
            .bounded(
                "SELECT on pg_auth_members",
                sqlx::query(
                    "SELECT m.rolname::text AS member, g.rolname::text AS grp, am.admin_option
             FROM pg_auth_members am
             JOIN pg_roles m ON m.oid = am.member
             JOIN pg_roles g ON g.oid = am.roleid
             WHERE m.rolname !~ '^pg_'",
                )
                .fetch_all(&mut conn),
            )
            .await?;
        for m in &members {
            let member: String = m
                .try_get("member")
                .map_err(|e| self.map_error(e, "pg_auth_members"))?;
            let group: String = m
                .try_get("grp")
                .map_err(|e| self.map_error(e, "pg_auth_members"))?;
            inv.grants.push(Grant {
                from_kind: NodeKind::Principal,
                from_id: member,
                to_kind: NodeKind::Principal,
                to_id: group,
            });
        }

        // Object privileges from ACLs, and ownership.
        let acl_rows = self.bounded("SELECT on pg_class / pg_proc / pg_namespace", sqlx::query(concat!(
            "WITH objs AS (
               SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'view' WHEN 'S' THEN 'sequence' ELSE 'table' END AS kind,
                      format('%s.%s', n.nspname, c.relname) AS obj,
                      coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::\"char\", c.relowner)) AS acl,
                      c.relowner AS owner
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relkind IN ('r','v','m','p','S','f')
                 AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname !~ '^pg_toast'
               UNION ALL
               SELECT 'routine', format('%s.%s(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
                      coalesce(p.proacl, acldefault('f'::\"char\", p.proowner)), p.proowner
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname NOT IN ('pg_catalog','information_schema')
               UNION ALL
               SELECT 'schema', n.nspname, coalesce(n.nspacl, acldefault('n'::\"char\", n.nspowner)), n.nspowner
               FROM pg_namespace n
               WHERE n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname !~ '^pg_'
             )
             SELECT kind, obj, pg_get_userbyid(owner)::text AS owner_name,
                    ",
            grantee_name!("a.grantee"),
            " AS grantee,
                    a.privilege_type::text AS privilege
             FROM objs LEFT JOIN LATERAL aclexplode(objs.acl) a ON true"),
        )
        .fetch_all(&mut conn)).await?;
        let mut owners = std::collections::HashSet::new();
        for r in &acl_rows {
            let kind: String = r.try_get("kind").map_err(|e| self.map_error(e, "acl"))?;
            let obj: String = r.try_get("obj").map_err(|e| self.map_error(e, "acl"))?;
            let owner: String = r
                .try_get("owner_name")
                .map_err(|e| self.map_error(e, "acl"))?;
            if owners.insert((kind.clone(), obj.clone())) && !owner.starts_with("pg_") {
                grant(&mut inv, &owner, privilege_permission(&kind, &obj, "OWNER"));
            }
            let grantee: Option<String> = r.try_get("grantee").ok().flatten();
            let privilege: Option<String> = r.try_get("privilege").ok().flatten();
            if let (Some(g), Some(p)) = (grantee, privilege) {
                // The owner's own ACL entries restate ownership; skip them.
                if g != owner {
                    grant(&mut inv, &g, privilege_permission(&kind, &obj, &p));
                }
            }
        }
        progress(Progress::Advanced {
            task: task.clone(),
            done: 2,
            total: Some(4),
            message: format!("{} object privileges", acl_rows.len()),
        });

        // Column privileges.
        let cols = self
            .bounded(
                "SELECT on pg_attribute",
                sqlx::query(concat!(
                    "SELECT format('%s.%s.%s', n.nspname, c.relname, a.attname) AS obj,
                    ",
                    grantee_name!("x.grantee"),
                    " AS grantee, x.privilege_type::text AS privilege
             FROM pg_attribute a
             JOIN pg_class c ON c.oid = a.attrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             CROSS JOIN LATERAL aclexplode(a.attacl) x
             WHERE a.attacl IS NOT NULL AND n.nspname NOT IN ('pg_catalog','information_schema')"
                ))
                .fetch_all(&mut conn),
            )
            .await?;
        for r in &cols {
            let obj: String = r.try_get("obj").map_err(|e| self.map_error(e, "columns"))?;
            let g: String = r
                .try_get("grantee")
                .map_err(|e| self.map_error(e, "columns"))?;
            let p: String = r
                .try_get("privilege")
                .map_err(|e| self.map_error(e, "columns"))?;
            grant(&mut inv, &g, privilege_permission("column", &obj, &p));
        }

        // Live sessions.
        inv.credentials.extend(self.sessions(&mut conn).await?);
        progress(Progress::Finished {
            task,
            ok: true,
            message: format!(
                "{} roles, {} permissions, {} credentials",
                inv.principals.len(),
                perms.len(),
                inv.credentials.len()
            ),
        });
        inv.permissions = perms.into_values().collect();
        Ok(inv)
    }

    pub(crate) async fn sessions(
        &self,
        conn: &mut PgConnection,
    ) -> Result<Vec<Credential>, ConnectorError> {
        let rows = sqlx::query(
            "SELECT pid, usename::text AS usename, datname::text AS datname, application_name,
                    client_addr::text AS client_addr, state, backend_start, state_change,
                    extract(epoch from backend_start)::bigint AS start_epoch
             FROM pg_stat_activity
             WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND usename IS NOT NULL",
        )
        .fetch_all(conn);
        let rows = self.bounded("SELECT on pg_stat_activity", rows).await?;
        let mut out = Vec::new();
        for r in rows {
            let pid: i32 = r
                .try_get("pid")
                .map_err(|e| self.map_error(e, "pg_stat_activity"))?;
            let epoch: i64 = r.try_get("start_epoch").unwrap_or(0);
            let started: Option<DateTime<Utc>> = r.try_get("backend_start").ok();
            let changed: Option<DateTime<Utc>> = r.try_get("state_change").ok().flatten();
            out.push(Credential {
                // pid alone is reused by the OS; with the start time it names one session.
                external_id: format!("session:{pid}:{epoch}"),
                kind: CredentialKind::Session,
                principal_external_id: r.try_get("usename").ok(),
                client: r
                    .try_get::<Option<String>, _>("application_name")
                    .ok()
                    .flatten()
                    .filter(|s| !s.is_empty()),
                scopes: Vec::new(),
                issued_at: started,
                expires_at: None,
                last_used_at: changed,
                status: CredentialStatus::Active,
                attrs: json!({
                    "pid": pid,
                    "database": r.try_get::<Option<String>, _>("datname").ok().flatten(),
                    "client_addr": r.try_get::<Option<String>, _>("client_addr").ok().flatten(),
                    "state": r.try_get::<Option<String>, _>("state").ok().flatten(),
                }),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privileges_map_to_action_classes() {
        assert_eq!(action_of("SELECT"), Action::Read);
        assert_eq!(action_of("UPDATE"), Action::Write);
        assert_eq!(action_of("EXECUTE"), Action::Execute);
        assert_eq!(action_of("SUPERUSER"), Action::Admin);
        assert_eq!(action_of("TRIGGER"), Action::Other);
        let p = privilege_permission("table", "billing.invoices", "SELECT");
        assert_eq!(p.external_id, "table:billing.invoices:SELECT");
        assert_eq!(p.resource, "billing.invoices");
    }
}
