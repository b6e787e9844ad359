//! One realm's inventory: clients, roles with their composites, client scopes, users, groups,
//! sessions and consents, mapped to the normalised model (see the table in the module above).
//!
//! Only *direct* role mappings become grants, together with composite role → role edges and
//! group nesting, so that every effective right can be explained by a path
//! ([`super::effective`]). Keycloak's own effective-role endpoints are used only to cross-check
//! that computation ([`Keycloak::server_effective_roles`]).
//!
//! The mapping itself is in [`super::map`].

use chrono::{DateTime, Utc};
use portcullis_model::{Inventory, NodeKind, Permission, Principal, PrincipalKind, Progress};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use super::map::{
    admin_role_permission, client_principal_id, client_role_id, compact, consent_credential,
    group_principal_id, mapped_roles, realm_role_id, role_id, role_permission, scope_action,
    scope_permission, scope_permission_id, session_credential, user_principal, Builder,
};
use super::reps::{
    ClientRep, ClientScopeRef, ClientScopeRep, ConsentRep, GroupRep, MappingsRep, RoleRep, UserRep,
    UserSessionRep,
};
use super::{need, needs, Keycloak};
use crate::{ConnectorError, ProgressFn};

const TASK: &str = "keycloak inventory";
const STEPS: u64 = 7;

impl Keycloak {
    /// The realm this admin client manages, if `client_id` is one of the realm-management
    /// clients: `realm-management` in every realm, `REALM-realm` in the master realm.
    fn managed_realm(&self, client_id: &str) -> Option<String> {
        if client_id == "realm-management" {
            return Some(self.realm.clone());
        }
        if self.realm == "master" {
            return client_id
                .strip_suffix("-realm")
                .filter(|r| !r.is_empty())
                .map(str::to_string);
        }
        None
    }

    pub(crate) async fn read_inventory(
        &self,
        progress: &ProgressFn<'_>,
    ) -> Result<Inventory, ConnectorError> {
        progress(Progress::Started {
            task: TASK.into(),
            total: Some(STEPS),
        });
        let result = self.collect_inventory(progress).await;
        progress(Progress::Finished {
            task: TASK.into(),
            ok: result.is_ok(),
            message: match &result {
                Ok(inv) => format!(
                    "realm {}: {} principals, {} roles, {} grants, {} sessions and consents",
                    self.realm,
                    inv.principals.len(),
                    inv.roles.len(),
                    inv.grants.len(),
                    inv.credentials.len()
                ),
                Err(e) => e.to_string(),
            },
        });
        result
    }

    async fn collect_inventory(
        &self,
        progress: &ProgressFn<'_>,
    ) -> Result<Inventory, ConnectorError> {
        let step = |done: u64, message: String| {
            progress(Progress::Advanced {
                task: TASK.into(),
                done,
                total: Some(STEPS),
                message,
            })
        };
        let mut b = Builder::default();

        step(0, "clients".into());
        let clients: Vec<ClientRep> = self
            .get_paged(
                &["clients"],
                &[],
                &needs("the client list", need::VIEW_CLIENTS),
            )
            .await?;
        let by_uuid: HashMap<String, String> = clients
            .iter()
            .map(|c| (c.id.clone(), c.client_id.clone()))
            .collect();

        step(1, "roles and composites".into());
        self.read_roles(&mut b, &clients, &by_uuid).await?;

        step(2, "client scopes".into());
        let scopes: Vec<ClientScopeRep> = self
            .get_json(
                self.admin_url(&["client-scopes"])?,
                &needs("the client scope list", need::VIEW_CLIENTS),
            )
            .await?;
        for s in &scopes {
            b.permission(scope_permission(s));
            let mappings: MappingsRep = self
                .get_json(
                    self.admin_url(&["client-scopes", &s.id, "scope-mappings"])?,
                    &needs(
                        format!("scope mappings of client scope `{}`", s.name),
                        need::VIEW_CLIENTS,
                    ),
                )
                .await?;
            let scope_id = scope_permission_id(&s.name);
            for (role, r) in mapped_roles(&mappings, &by_uuid) {
                b.role_from(r, &role);
                b.grant(NodeKind::Role, &role, NodeKind::Permission, &scope_id);
            }
        }

        step(
            3,
            format!("{} clients and their service accounts", clients.len()),
        );
        let mut service_accounts: HashSet<String> = HashSet::new();
        for c in &clients {
            let sa = self.read_client(&mut b, c, &by_uuid).await?;
            service_accounts.extend(sa);
        }

        step(4, "users, role mappings and consents".into());
        let users: Vec<UserRep> = self
            .get_paged(
                &["users"],
                &[("briefRepresentation", "true")],
                &needs("the user list", need::VIEW_USERS),
            )
            .await?;
        for (i, u) in users.iter().enumerate() {
            if service_accounts.contains(&u.id) {
                continue;
            }
            let mut p = user_principal(u);
            if let Some(client) = &u.service_account_client_id {
                p.kind = PrincipalKind::Service;
                p.attrs["client_id"] = json!(client);
            }
            b.principal(p);
            let mappings: MappingsRep = self
                .get_json(
                    self.admin_url(&["users", &u.id, "role-mappings"])?,
                    &needs(format!("role mappings of user {}", u.id), need::VIEW_USERS),
                )
                .await?;
            b.mappings(&u.id, &mappings, &by_uuid);
            let consents: Vec<ConsentRep> = self
                .get_json(
                    self.admin_url(&["users", &u.id, "consents"])?,
                    &needs(format!("consents of user {}", u.id), need::VIEW_USERS),
                )
                .await?;
            for c in &consents {
                b.credential(consent_credential(&u.id, c));
            }
            if (i + 1) % 100 == 0 {
                step(4, format!("users: {} of {}", i + 1, users.len()));
            }
        }

        step(5, "groups and members".into());
        self.read_groups(&mut b, &by_uuid).await?;

        step(6, "sessions".into());
        for c in &clients {
            let online: Vec<UserSessionRep> = self
                .get_paged(
                    &["clients", &c.id, "user-sessions"],
                    &[],
                    &needs(
                        format!("sessions of client `{}`", c.client_id),
                        need::VIEW_CLIENTS,
                    ),
                )
                .await?;
            for s in &online {
                if let Some(cred) = session_credential(s, None) {
                    b.credential(cred);
                }
            }
            let offline: Vec<UserSessionRep> = self
                .get_paged(
                    &["clients", &c.id, "offline-sessions"],
                    &[],
                    &needs(
                        format!("offline sessions of client `{}`", c.client_id),
                        need::VIEW_CLIENTS,
                    ),
                )
                .await?;
            for s in &offline {
                if let Some(cred) = session_credential(s, Some((&c.id, &c.client_id))) {
                    b.credential(cred);
                }
            }
        }
        Ok(b.finish())
    }

    /// Realm roles, every client's roles, and composites followed to the end (each composite
    /// expanded once, so a cycle of composites ends).
    async fn read_roles(
        &self,
        b: &mut Builder,
        clients: &[ClientRep],
        by_uuid: &HashMap<String, String>,
    ) -> Result<(), ConnectorError> {
        let mut all: Vec<RoleRep> = self
            .get_paged(
                &["roles"],
                &[],
                &needs("the realm role list", need::VIEW_ROLES),
            )
            .await?;
        for r in &all {
            let p = role_permission(&self.realm, None, &r.name, r.description.as_deref());
            let role = realm_role_id(&r.name);
            b.grant(NodeKind::Role, &role, NodeKind::Permission, &p.external_id);
            b.permission(p);
        }
        for c in clients {
            let roles: Vec<RoleRep> = self
                .get_paged(
                    &["clients", &c.id, "roles"],
                    &[],
                    &needs(
                        format!("roles of client `{}`", c.client_id),
                        need::VIEW_CLIENTS,
                    ),
                )
                .await?;
            let managed = self.managed_realm(&c.client_id);
            for r in &roles {
                let p = match &managed {
                    Some(realm) => admin_role_permission(&c.client_id, &r.name, realm),
                    None => role_permission(
                        &self.realm,
                        Some(&c.client_id),
                        &r.name,
                        r.description.as_deref(),
                    ),
                };
                let role = client_role_id(&c.client_id, &r.name);
                b.grant(NodeKind::Role, &role, NodeKind::Permission, &p.external_id);
                b.permission(p);
            }
            all.extend(roles);
        }
        let mut queue: VecDeque<(String, String)> = VecDeque::new();
        let mut known: BTreeSet<String> = BTreeSet::new();
        for r in &all {
            let id = role_id(r, by_uuid, None);
            b.role_from(r, &id);
            known.insert(r.id.clone());
            if r.composite {
                queue.push_back((r.id.clone(), id));
            }
        }
        let mut expanded: HashSet<String> = HashSet::new();
        while let Some((uuid, parent)) = queue.pop_front() {
            if !expanded.insert(uuid.clone()) {
                continue;
            }
            let children: Vec<RoleRep> = self
                .get_json(
                    self.admin_url(&["roles-by-id", &uuid, "composites"])?,
                    &needs(format!("composites of role `{parent}`"), need::VIEW_ROLES),
                )
                .await?;
            for child in &children {
                let id = role_id(child, by_uuid, None);
                b.role_from(child, &id);
                b.grant(NodeKind::Role, &parent, NodeKind::Role, &id);
                if known.insert(child.id.clone()) && child.composite {
                    queue.push_back((child.id.clone(), id));
                }
            }
        }
        Ok(())
    }

    /// A client, its client scopes and its service account. Returns the service-account user id.
    async fn read_client(
        &self,
        b: &mut Builder,
        c: &ClientRep,
        by_uuid: &HashMap<String, String>,
    ) -> Result<Option<String>, ConnectorError> {
        let me = client_principal_id(&c.client_id);
        let mut scope_names: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for kind in ["default-client-scopes", "optional-client-scopes"] {
            let scopes: Vec<ClientScopeRef> = self
                .get_json(
                    self.admin_url(&["clients", &c.id, kind])?,
                    &needs(
                        format!("{kind} of client `{}`", c.client_id),
                        need::VIEW_CLIENTS,
                    ),
                )
                .await?;
            for s in &scopes {
                let id = scope_permission_id(&s.name);
                if !b.permissions.contains_key(&id) {
                    b.permission(Permission {
                        external_id: id.clone(),
                        name: s.name.clone(),
                        resource: s.name.clone(),
                        action: scope_action(&s.name),
                        raw: compact(json!({"client_scope_id": s.id, "name": s.name})),
                    });
                }
                b.grant(NodeKind::Principal, &me, NodeKind::Permission, &id);
            }
            scope_names.insert(kind, scopes.into_iter().map(|s| s.name).collect());
        }
        let mut sa_id = None;
        if c.service_accounts_enabled == Some(true) {
            let sa: UserRep = self
                .get_json(
                    self.admin_url(&["clients", &c.id, "service-account-user"])?,
                    &needs(
                        format!("the service account of client `{}`", c.client_id),
                        need::VIEW_CLIENTS,
                    ),
                )
                .await?;
            let mappings: MappingsRep = self
                .get_json(
                    self.admin_url(&["users", &sa.id, "role-mappings"])?,
                    &needs(
                        format!("role mappings of the service account of `{}`", c.client_id),
                        need::VIEW_USERS,
                    ),
                )
                .await?;
            let mut p = user_principal(&sa);
            p.kind = PrincipalKind::Service;
            p.enabled = p.enabled && c.enabled.unwrap_or(true);
            p.attrs["client_id"] = json!(c.client_id);
            b.principal(p);
            b.mappings(&sa.id, &mappings, by_uuid);
            sa_id = Some(sa.id);
        }
        b.principal(Principal {
            external_id: me,
            kind: PrincipalKind::Client,
            name: c.client_id.clone(),
            enabled: c.enabled.unwrap_or(true),
            attrs: compact(json!({
                "id": c.id,
                "name": c.name,
                "description": c.description,
                "protocol": c.protocol,
                "public_client": c.public_client,
                "bearer_only": c.bearer_only,
                "service_accounts_enabled": c.service_accounts_enabled,
                "service_account_user": sa_id,
                "standard_flow_enabled": c.standard_flow_enabled,
                "implicit_flow_enabled": c.implicit_flow_enabled,
                "direct_access_grants_enabled": c.direct_access_grants_enabled,
                "consent_required": c.consent_required,
                "full_scope_allowed": c.full_scope_allowed,
                "not_before": c.not_before.filter(|n| *n > 0)
                    .and_then(|n| DateTime::<Utc>::from_timestamp(n, 0)),
                "default_client_scopes": scope_names.get("default-client-scopes"),
                "optional_client_scopes": scope_names.get("optional-client-scopes"),
            })),
        });
        Ok(sa_id)
    }

    /// Groups, subgroups to any depth (a group met twice is read once), members and role
    /// mappings. A subgroup gets a grant to its parent: it inherits the parent's roles.
    async fn read_groups(
        &self,
        b: &mut Builder,
        by_uuid: &HashMap<String, String>,
    ) -> Result<(), ConnectorError> {
        let top: Vec<GroupRep> = self
            .get_paged(
                &["groups"],
                &[("briefRepresentation", "true")],
                &needs("the group list", need::QUERY_GROUPS),
            )
            .await?;
        let mut stack: Vec<(GroupRep, Option<String>)> =
            top.into_iter().rev().map(|g| (g, None)).collect();
        let mut visited: HashSet<String> = HashSet::new();
        while let Some((g, parent)) = stack.pop() {
            if !visited.insert(g.id.clone()) {
                continue;
            }
            let me = group_principal_id(&g.id);
            b.principal(Principal {
                external_id: me.clone(),
                kind: PrincipalKind::Group,
                name: g.path.clone().unwrap_or_else(|| g.name.clone()),
                enabled: true,
                attrs: compact(json!({
                    "id": g.id,
                    "name": g.name,
                    "path": g.path,
                    "parent": parent.as_deref().map(group_principal_id),
                })),
            });
            if let Some(p) = &parent {
                b.grant(
                    NodeKind::Principal,
                    &me,
                    NodeKind::Principal,
                    &group_principal_id(p),
                );
            }
            let members: Vec<UserRep> = self
                .get_paged(
                    &["groups", &g.id, "members"],
                    &[("briefRepresentation", "true")],
                    &needs(format!("members of group `{}`", g.name), need::VIEW_USERS),
                )
                .await?;
            for m in &members {
                b.grant(NodeKind::Principal, &m.id, NodeKind::Principal, &me);
            }
            let mappings: MappingsRep = self
                .get_json(
                    self.admin_url(&["groups", &g.id, "role-mappings"])?,
                    &needs(
                        format!("role mappings of group `{}`", g.name),
                        need::VIEW_USERS,
                    ),
                )
                .await?;
            b.mappings(&me, &mappings, by_uuid);
            let children = self.group_children(&g).await?;
            for child in children.into_iter().rev() {
                stack.push((child, Some(g.id.clone())));
            }
        }
        Ok(())
    }

    /// Keycloak before 23 inlines the whole tree in `subGroups` and sends no `subGroupCount`;
    /// 23 and later send the count and list children through `/groups/{id}/children`.
    async fn group_children(&self, g: &GroupRep) -> Result<Vec<GroupRep>, ConnectorError> {
        let inlined = g.sub_groups.clone();
        match g.sub_group_count {
            None | Some(0) => Ok(inlined),
            Some(n) if n as usize <= inlined.len() => Ok(inlined),
            Some(_) => {
                let mut children: Vec<GroupRep> = self
                    .get_paged(
                        &["groups", &g.id, "children"],
                        &[("briefRepresentation", "true")],
                        &needs(
                            format!("subgroups of group `{}`", g.name),
                            need::QUERY_GROUPS,
                        ),
                    )
                    .await?;
                for i in inlined {
                    if !children.iter().any(|c| c.id == i.id) {
                        children.push(i);
                    }
                }
                Ok(children)
            }
        }
    }

    /// Keycloak's own answer to "which roles does this user hold", through the effective
    /// (composite) role-mapping endpoints: the realm's and each client's. Used to cross-check
    /// the paths [`super::effective`] computes; not stored as grants.
    pub async fn server_effective_roles(
        &self,
        user_id: &str,
    ) -> Result<BTreeSet<String>, ConnectorError> {
        let clients: Vec<ClientRep> = self
            .get_paged(
                &["clients"],
                &[],
                &needs("the client list", need::VIEW_CLIENTS),
            )
            .await?;
        let by_uuid: HashMap<String, String> = clients
            .iter()
            .map(|c| (c.id.clone(), c.client_id.clone()))
            .collect();
        let mut out = BTreeSet::new();
        let realm: Vec<RoleRep> = self
            .get_json(
                self.admin_url(&["users", user_id, "role-mappings", "realm", "composite"])?,
                &needs(
                    format!("effective realm roles of user {user_id}"),
                    need::VIEW_USERS,
                ),
            )
            .await?;
        out.extend(realm.iter().map(|r| role_id(r, &by_uuid, None)));
        for c in &clients {
            let roles: Vec<RoleRep> = self
                .get_json(
                    self.admin_url(&[
                        "users",
                        user_id,
                        "role-mappings",
                        "clients",
                        &c.id,
                        "composite",
                    ])?,
                    &needs(
                        format!(
                            "effective roles of user {user_id} in client `{}`",
                            c.client_id
                        ),
                        need::VIEW_USERS,
                    ),
                )
                .await?;
            out.extend(roles.iter().map(|r| client_role_id(&c.client_id, &r.name)));
        }
        Ok(out)
    }
}
