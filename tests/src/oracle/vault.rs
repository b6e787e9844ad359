//! Loads a generated Vault organisation into a real OpenBao server, and asks the server's own
//! authorizer (`sys/capabilities-accessor`) what every token may do on every probed path.

use std::collections::{BTreeMap, HashMap};

use portcullis_orggen::vault::{Actor, Lifetime, VaultOrg};
use serde_json::{json, Value};

use super::servers::Bao;
use crate::{HarnessError, Result};

/// What loading created: the accessor of every token an actor holds.
pub struct LoadedVault {
    pub tokens: Vec<(Actor, String, String)>,
}

impl LoadedVault {
    pub fn token_of(&self, actor: Actor) -> Option<&str> {
        self.tokens
            .iter()
            .find(|(a, _, _)| *a == actor)
            .map(|(_, _, t)| t.as_str())
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Result<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| HarnessError::Failed(format!("no {pointer} in {v}")))
}

pub fn load(bao: &Bao, org: &VaultOrg) -> Result<LoadedVault> {
    for m in &org.mounts {
        bao.call(
            "POST",
            &format!("sys/mounts/{m}"),
            Some(&json!({"type": "kv", "options": {"version": "1"}})),
        )?;
    }
    for method in ["userpass", "approle"] {
        bao.call(
            "POST",
            &format!("sys/auth/{method}"),
            Some(&json!({ "type": method })),
        )?;
    }
    for p in &org.policies {
        bao.call(
            "PUT",
            &format!("sys/policies/acl/{}", p.name),
            Some(&json!({"policy": p.hcl()})),
        )?;
    }
    let mut tokens = Vec::new();
    let mut entity_of_user: HashMap<usize, String> = HashMap::new();
    for (ui, u) in org.users.iter().enumerate() {
        bao.call(
            "POST",
            &format!("auth/userpass/users/{}", u.name),
            Some(&json!({"password": u.password, "token_policies": u.policies})),
        )?;
        for n in 0..u.logins {
            let login = bao.call_as(
                "POST",
                &format!("auth/userpass/login/{}", u.name),
                None,
                Some(&json!({"password": u.password})),
            )?;
            let entity = str_at(&login, "/auth/entity_id")?.to_string();
            tokens.push((
                Actor::UserLogin { user: ui, n },
                str_at(&login, "/auth/accessor")?.to_string(),
                str_at(&login, "/auth/client_token")?.to_string(),
            ));
            entity_of_user.insert(ui, entity);
        }
        if let (Some(e), false) = (entity_of_user.get(&ui), u.entity_policies.is_empty()) {
            bao.call(
                "POST",
                &format!("identity/entity/id/{e}"),
                Some(&json!({"policies": u.entity_policies})),
            )?;
        }
    }
    let mut disabled: Vec<String> = Vec::new();
    for (ui, u) in org.users.iter().enumerate() {
        if let (Some(e), true) = (entity_of_user.get(&ui), u.disabled) {
            disabled.push(e.clone());
        }
    }
    let mut group_ids: Vec<String> = Vec::new();
    for g in &org.groups {
        let members: Vec<&String> = g
            .member_users
            .iter()
            .filter_map(|u| entity_of_user.get(u))
            .collect();
        let subgroups: Vec<&String> = g.member_groups.iter().map(|i| &group_ids[*i]).collect();
        let made = bao.call(
            "POST",
            "identity/group",
            Some(&json!({"name": g.name, "policies": g.policies,
                "member_entity_ids": members, "member_group_ids": subgroups})),
        )?;
        group_ids.push(str_at(&made, "/data/id")?.to_string());
    }
    for (ri, r) in org.approles.iter().enumerate() {
        let path = format!("auth/approle/role/{}", r.name);
        bao.call("POST", &path, Some(&json!({"token_policies": r.policies})))?;
        let role_id = bao.call("GET", &format!("{path}/role-id"), None)?;
        let role_id = str_at(&role_id, "/data/role_id")?.to_string();
        for n in 0..r.logins {
            let secret = bao.call("POST", &format!("{path}/secret-id"), None)?;
            let login = bao.call_as(
                "POST",
                "auth/approle/login",
                None,
                Some(
                    &json!({"role_id": role_id, "secret_id": str_at(&secret, "/data/secret_id")?}),
                ),
            )?;
            tokens.push((
                Actor::AppRoleLogin { role: ri, n },
                str_at(&login, "/auth/accessor")?.to_string(),
                str_at(&login, "/auth/client_token")?.to_string(),
            ));
        }
    }
    for (ti, t) in org.tokens.iter().enumerate() {
        let mut body = json!({"display_name": t.display_name, "policies": t.policies,
            "no_default_policy": t.no_default_policy, "no_parent": true});
        match t.lifetime {
            Lifetime::Ttl(h) => body["ttl"] = json!(format!("{h}h")),
            Lifetime::Period(h) => body["period"] = json!(format!("{h}h")),
            Lifetime::Root => {}
        }
        let made = bao.call("POST", "auth/token/create", Some(&body))?;
        tokens.push((
            Actor::Token(ti),
            str_at(&made, "/auth/accessor")?.to_string(),
            str_at(&made, "/auth/client_token")?.to_string(),
        ));
    }
    let loaded = LoadedVault { tokens };
    activity(bao, org, &loaded)?;
    // Disabled last, so the activity before shows their use; their tokens stay and must be
    // worth nothing from now on.
    for e in disabled {
        bao.call(
            "POST",
            &format!("identity/entity/id/{e}"),
            Some(&json!({"disabled": true})),
        )?;
    }
    Ok(loaded)
}

/// The requests of the organisation's activity, as each actor's token; refusals are part of it.
fn activity(bao: &Bao, org: &VaultOrg, loaded: &LoadedVault) -> Result<()> {
    for r in &org.activity {
        let Some(token) = loaded.token_of(r.actor) else {
            continue;
        };
        let (method, path, body) = match r.operation.as_str() {
            "list" => ("GET", format!("{}?list=true", r.path), None),
            "update" => ("POST", r.path.clone(), Some(json!({"v": "x"}))),
            _ => ("GET", r.path.clone(), None),
        };
        bao.request(method, &path, Some(token), body.as_ref())?;
    }
    Ok(())
}

/// Every token accessor the server holds (the generated ones, the root token's, any other).
pub fn accessors(bao: &Bao) -> Result<Vec<String>> {
    let v = bao.call("GET", "auth/token/accessors?list=true", None)?;
    Ok(v.pointer("/data/keys")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

/// The server's answer: accessor → path → capabilities.
pub fn capabilities(
    bao: &Bao,
    accessors: &[String],
    paths: &[String],
) -> Result<BTreeMap<String, BTreeMap<String, Vec<String>>>> {
    let mut out = BTreeMap::new();
    for a in accessors {
        let (status, v) = bao.request(
            "POST",
            "sys/capabilities-accessor",
            Some(&bao.root_token),
            Some(&json!({"accessor": a, "paths": paths})),
        )?;
        let mut per_path = BTreeMap::new();
        // The server's word for a token of a disabled entity: it is worth nothing.
        if status == 400 && v.to_string().contains("invalid token") {
            for p in paths {
                per_path.insert(p.clone(), Vec::new());
            }
            out.insert(a.clone(), per_path);
            continue;
        }
        if status >= 400 {
            return Err(HarnessError::Failed(format!(
                "OpenBao sys/capabilities-accessor for {a}: HTTP {status}: {v}"
            )));
        }
        let data = v.get("data").unwrap_or(&v);
        for p in paths {
            let caps: Vec<String> = data
                .get(p)
                .and_then(Value::as_array)
                .ok_or_else(|| HarnessError::Failed(format!("no capabilities for {p} in {v}")))?
                .iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect();
            per_path.insert(p.clone(), caps);
        }
        out.insert(a.clone(), per_path);
    }
    Ok(out)
}
