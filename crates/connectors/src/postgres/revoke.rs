//! Revocation on PostgreSQL, each verified from the catalogs afterwards: terminate a session,
//! disable a login (NOLOGIN), revoke a membership, revoke a privilege (as the object's owner when
//! the console may `SET ROLE` to it, since only the grantor or owner can revoke a grant).
//!
//! Identifiers are quoted by the server (`format('%I')`) and privilege names are checked against
//! a fixed list, so nothing from the cache is spliced into SQL unquoted.

use chrono::Utc;
use portcullis_model::{CredentialKind, Grant, NodeKind, RevokeReceipt, Verification};
use serde_json::json;
use sqlx::postgres::PgConnection;
use sqlx::Row;

use super::Postgres;
use crate::{ConnectorError, RevokeTarget};

const PRIVILEGES: [&str; 10] = [
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "REFERENCES",
    "TRIGGER",
    "EXECUTE",
    "USAGE",
    "CREATE",
];
const ATTRIBUTES: [&str; 5] = [
    "SUPERUSER",
    "CREATEROLE",
    "BYPASSRLS",
    "CREATEDB",
    "REPLICATION",
];

/// What a target means on PostgreSQL.
#[derive(Debug, Clone, PartialEq)]
enum Plan {
    Terminate {
        pid: i32,
        start_epoch: i64,
    },
    NoLogin {
        role: String,
    },
    Membership {
        member: String,
        group: String,
    },
    Privilege {
        role: String,
        kind: String,
        object: String,
        privilege: String,
    },
    Attribute {
        role: String,
        attribute: String,
    },
}

fn parse_session(id: &str) -> Option<(i32, i64)> {
    let mut it = id.strip_prefix("session:")?.split(':');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

fn plan(target: &RevokeTarget) -> Result<Plan, ConnectorError> {
    let bad = |what: String| ConnectorError::InvalidConfig(what);
    match target {
        RevokeTarget::Credential {
            kind: CredentialKind::Session,
            external_id,
        } => {
            let (pid, start_epoch) = parse_session(external_id)
                .ok_or_else(|| bad(format!("`{external_id}` is not a session id")))?;
            Ok(Plan::Terminate { pid, start_epoch })
        }
        RevokeTarget::Credential {
            kind: CredentialKind::Login,
            external_id,
        } => Ok(Plan::NoLogin {
            role: external_id
                .strip_prefix("login:")
                .unwrap_or(external_id)
                .to_string(),
        }),
        RevokeTarget::Login { principal } => Ok(Plan::NoLogin {
            role: principal.clone(),
        }),
        RevokeTarget::Grant(Grant {
            from_kind: NodeKind::Principal,
            from_id,
            to_kind: NodeKind::Principal,
            to_id,
        }) => Ok(Plan::Membership {
            member: from_id.clone(),
            group: to_id.clone(),
        }),
        RevokeTarget::Grant(Grant {
            from_kind: NodeKind::Principal,
            from_id,
            to_kind: NodeKind::Permission,
            to_id,
        }) => {
            // kind:object:PRIVILEGE, where the object may contain ':' (function signatures do not).
            let (rest, privilege) = to_id
                .rsplit_once(':')
                .ok_or_else(|| bad(format!("`{to_id}` is not a PostgreSQL permission id")))?;
            let (kind, object) = rest
                .split_once(':')
                .ok_or_else(|| bad(format!("`{to_id}` is not a PostgreSQL permission id")))?;
            if kind == "cluster" {
                if !ATTRIBUTES.contains(&privilege) {
                    return Err(bad(format!("unknown role attribute {privilege}")));
                }
                return Ok(Plan::Attribute {
                    role: from_id.clone(),
                    attribute: privilege.to_string(),
                });
            }
            if privilege == "OWNER" {
                return Err(ConnectorError::Unsupported(format!(
                    "{from_id} owns {object}: ownership cannot be revoked, only transferred (ALTER ... OWNER TO)"
                )));
            }
            if !PRIVILEGES.contains(&privilege) {
                return Err(bad(format!("unknown privilege {privilege}")));
            }
            Ok(Plan::Privilege {
                role: from_id.clone(),
                kind: kind.to_string(),
                object: object.to_string(),
                privilege: privilege.to_string(),
            })
        }
        other => Err(ConnectorError::Unsupported(format!(
            "PostgreSQL cannot revoke {}",
            other.describe()
        ))),
    }
}

impl Postgres {
    async fn exec_formatted(
        &self,
        conn: &mut PgConnection,
        template: &'static str,
        args: &[&str],
        right: &str,
    ) -> Result<String, ConnectorError> {
        // format() quotes identifiers server-side; then the statement runs as plain SQL.
        let mut q = sqlx::query_scalar::<_, String>(template);
        for a in args {
            q = q.bind(*a);
        }
        let sql = self.bounded(right, q.fetch_one(&mut *conn)).await?;
        self.bounded(
            right,
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone())).execute(&mut *conn),
        )
        .await?;
        Ok(sql)
    }

    pub(crate) async fn do_revoke(
        &self,
        target: &RevokeTarget,
    ) -> Result<RevokeReceipt, ConnectorError> {
        let plan = plan(target)?;
        let mut conn = self.connect().await?;
        let (action, caveats) = match &plan {
            Plan::Terminate { pid, start_epoch } => {
                let done: Option<bool> = self
                    .bounded(
                        "membership in pg_signal_backend",
                        sqlx::query_scalar(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE pid = $1 AND extract(epoch from backend_start)::bigint = $2",
                        )
                        .bind(pid)
                        .bind(start_epoch)
                        .fetch_optional(&mut conn),
                    )
                    .await?;
                match done {
                    None => {
                        return Err(ConnectorError::NotFound {
                            target: self.target.clone(),
                            what: format!("session {pid} (already ended)"),
                        })
                    }
                    Some(false) => {
                        return Err(ConnectorError::Forbidden {
                            target: self.target.clone(),
                            right: "membership in pg_signal_backend (and the session must not be a superuser's)".into(),
                            detail: None,
                        })
                    }
                    Some(true) => (
                        format!("SELECT pg_terminate_backend({pid})"),
                        vec!["the role can log in again: disable its login (NOLOGIN) to keep it out".into()],
                    ),
                }
            }
            Plan::NoLogin { role } => (
                self.exec_formatted(
                    &mut conn,
                    "SELECT format('ALTER ROLE %I NOLOGIN', $1)",
                    &[role],
                    "CREATEROLE",
                )
                .await?,
                vec!["sessions already open stay open: terminate them too".into()],
            ),
            Plan::Membership { member, group } => (
                self.exec_formatted(
                    &mut conn,
                    "SELECT format('REVOKE %I FROM %I', $1, $2)",
                    &[group, member],
                    "CREATEROLE or ADMIN OPTION on the group role",
                )
                .await?,
                vec!["sessions that already SET ROLE to the group keep it until they end".into()],
            ),
            Plan::Attribute { role, attribute } => {
                let stmt = format!("SELECT format('ALTER ROLE %I NO{attribute}', $1)");
                let sql: String = self
                    .bounded(
                        "format",
                        sqlx::query_scalar(sqlx::AssertSqlSafe(stmt))
                            .bind(role)
                            .fetch_one(&mut conn),
                    )
                    .await?;
                self.bounded(
                    "SUPERUSER (only a superuser changes these attributes)",
                    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone())).execute(&mut conn),
                )
                .await?;
                (sql, vec![])
            }
            Plan::Privilege {
                role,
                kind,
                object,
                privilege,
            } => {
                let sql = self
                    .revoke_privilege(&mut conn, role, kind, object, privilege)
                    .await?;
                (sql, vec!["the role may still hold the privilege through a group role or PUBLIC: the verification says".into()])
            }
        };
        Ok(RevokeReceipt {
            action,
            at: Utc::now(),
            caveats,
            detail: json!({ "target": target.describe() }),
        })
    }

    async fn revoke_privilege(
        &self,
        conn: &mut PgConnection,
        role: &str,
        kind: &str,
        object: &str,
        privilege: &str,
    ) -> Result<String, ConnectorError> {
        // Every parameter appears in every template (typed as text), as prepared statements need.
        let template: &'static str = match kind {
            "table" | "view" | "sequence" => "SELECT format('REVOKE %s ON %s %I.%I FROM %I', $1::text, $2::text, split_part($3::text, '.', 1), split_part($3::text, '.', 2), $4::text)",
            "column" => "SELECT format('REVOKE %s (%I) ON TABLE %I.%I FROM %I', $1::text, split_part($3::text, '.', 3), split_part($3::text, '.', 1), split_part($3::text, '.', 2), $4::text) || left($2::text, 0)",
            "schema" => "SELECT format('REVOKE %s ON SCHEMA %I FROM %I', $1::text, $3::text, $4::text) || left($2::text, 0)",
            "routine" => "SELECT format('REVOKE %s ON FUNCTION %s FROM %I', $1::text, $3::text::regprocedure, $4::text) || left($2::text, 0)",
            _ => return Err(ConnectorError::Unsupported(format!("revoking privileges on a {kind}"))),
        };
        let object_kind = match kind {
            "view" | "table" => "TABLE",
            "sequence" => "SEQUENCE",
            _ => "",
        };
        let sql: String = self
            .bounded(
                "format",
                sqlx::query_scalar(template)
                    .bind(privilege)
                    .bind(object_kind)
                    .bind(object)
                    .bind(role)
                    .fetch_one(&mut *conn),
            )
            .await?;
        // Only the grantor (usually the owner) can revoke: act as the owner when allowed.
        let owner: Option<String> = self.bounded("pg_class", sqlx::query_scalar(
            "SELECT pg_get_userbyid(c.relowner)::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = split_part($1, '.', 1) AND c.relname = split_part($1, '.', 2)
             AND pg_has_role(current_user, c.relowner, 'MEMBER')",
        )
        .bind(object)
        .fetch_optional(&mut *conn)).await?;
        if let Some(owner) = &owner {
            self.exec_formatted(
                conn,
                "SELECT format('SET ROLE %I', $1)",
                &[owner],
                "membership in the owner role",
            )
            .await?;
        }
        let result = self
            .bounded(
                "ownership of the object (or membership in its owner role)",
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone())).execute(&mut *conn),
            )
            .await;
        let _ = self
            .deadline(sqlx::raw_sql("RESET ROLE").execute(&mut *conn))
            .await;
        result?;
        Ok(match owner {
            Some(o) => format!("SET ROLE {o}; {sql}"),
            None => sql,
        })
    }

    pub(crate) async fn do_verify(
        &self,
        target: &RevokeTarget,
    ) -> Result<Verification, ConnectorError> {
        let plan = plan(target)?;
        let mut conn = self.connect().await?;
        let (dead, evidence): (bool, String) = match &plan {
            Plan::Terminate { pid, start_epoch } => {
                let alive: bool = self.bounded("pg_stat_activity", sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND extract(epoch from backend_start)::bigint = $2)",
                )
                .bind(pid)
                .bind(start_epoch)
                .fetch_one(&mut conn)).await?;
                (
                    !alive,
                    format!(
                        "pg_stat_activity {} session {pid}",
                        if alive {
                            "still lists"
                        } else {
                            "no longer lists"
                        }
                    ),
                )
            }
            Plan::NoLogin { role } => {
                let can: Option<bool> = self
                    .bounded(
                        "pg_roles",
                        sqlx::query_scalar("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1")
                            .bind(role)
                            .fetch_optional(&mut conn),
                    )
                    .await?;
                match can {
                    None => (true, format!("role {role} no longer exists")),
                    Some(c) => (!c, format!("pg_roles.rolcanlogin = {c} for {role}")),
                }
            }
            Plan::Membership { member, group } => {
                let still: bool = self.bounded("pg_auth_members", sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.member
                     JOIN pg_roles g ON g.oid = am.roleid WHERE m.rolname = $1 AND g.rolname = $2)",
                )
                .bind(member)
                .bind(group)
                .fetch_one(&mut conn)).await?;
                (
                    !still,
                    format!(
                        "pg_auth_members {} {member} in {group}",
                        if still { "still has" } else { "no longer has" }
                    ),
                )
            }
            Plan::Attribute { role, attribute } => {
                let row = self.bounded("pg_roles", sqlx::query("SELECT rolsuper, rolcreaterole, rolbypassrls, rolcreatedb, rolreplication FROM pg_roles WHERE rolname = $1")
                    .bind(role)
                    .fetch_one(&mut conn)).await?;
                let col = match attribute.as_str() {
                    "SUPERUSER" => "rolsuper",
                    "CREATEROLE" => "rolcreaterole",
                    "BYPASSRLS" => "rolbypassrls",
                    "CREATEDB" => "rolcreatedb",
                    _ => "rolreplication",
                };
                let has: bool = row
                    .try_get(col)
                    .map_err(|e| self.map_error(e, "pg_roles"))?;
                (!has, format!("pg_roles.{col} = {has} for {role}"))
            }
            Plan::Privilege {
                role,
                kind,
                object,
                privilege,
            } => {
                let check: &'static str = match kind.as_str() {
                    "table" | "view" | "sequence" => "SELECT has_table_privilege($1, $2, $3)",
                    "schema" => "SELECT has_schema_privilege($1, $2, $3)",
                    "routine" => "SELECT has_function_privilege($1, $2, $3)",
                    "column" => "SELECT has_column_privilege($1, split_part($2, '.', 1) || '.' || split_part($2, '.', 2), split_part($2, '.', 3), $3)",
                    _ => return Err(ConnectorError::Unsupported(format!("verifying privileges on a {kind}"))),
                };
                let has: bool = self
                    .bounded(
                        "privilege functions",
                        sqlx::query_scalar(check)
                            .bind(role)
                            .bind(object)
                            .bind(privilege)
                            .fetch_one(&mut conn),
                    )
                    .await?;
                (
                    !has,
                    format!(
                        "{role} {} {privilege} on {object} (effective, through any group role)",
                        if has { "still has" } else { "no longer has" }
                    ),
                )
            }
        };
        Ok(Verification {
            dead,
            evidence,
            at: Utc::now(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(from: &str, to_kind: NodeKind, to: &str) -> RevokeTarget {
        RevokeTarget::Grant(Grant {
            from_kind: NodeKind::Principal,
            from_id: from.into(),
            to_kind,
            to_id: to.into(),
        })
    }

    #[test]
    fn plans_from_targets() {
        assert_eq!(
            plan(&RevokeTarget::Credential {
                kind: CredentialKind::Session,
                external_id: "session:42:1700000000".into()
            })
            .unwrap(),
            Plan::Terminate {
                pid: 42,
                start_epoch: 1_700_000_000
            }
        );
        assert_eq!(
            plan(&grant(
                "alice",
                NodeKind::Permission,
                "table:billing.invoices:SELECT"
            ))
            .unwrap(),
            Plan::Privilege {
                role: "alice".into(),
                kind: "table".into(),
                object: "billing.invoices".into(),
                privilege: "SELECT".into()
            }
        );
        assert_eq!(
            plan(&grant("alice", NodeKind::Principal, "billing_rw")).unwrap(),
            Plan::Membership {
                member: "alice".into(),
                group: "billing_rw".into()
            }
        );
        assert_eq!(
            plan(&grant(
                "ops",
                NodeKind::Permission,
                "cluster:cluster:SUPERUSER"
            ))
            .unwrap(),
            Plan::Attribute {
                role: "ops".into(),
                attribute: "SUPERUSER".into()
            }
        );
    }

    #[test]
    fn refuses_unknown_privileges_and_bad_ids() {
        assert!(plan(&grant("a", NodeKind::Permission, "table:x.y:DROP; --")).is_err());
        assert!(plan(&grant("a", NodeKind::Permission, "nonsense")).is_err());
        assert!(plan(&RevokeTarget::Credential {
            kind: CredentialKind::Session,
            external_id: "session:x".into()
        })
        .is_err());
        assert!(matches!(
            plan(&grant("a", NodeKind::Permission, "table:x.y:OWNER")),
            Err(ConnectorError::Unsupported(_))
        ));
    }
}
