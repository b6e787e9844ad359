//! The access map (`portcullis who-can`, `portcullis explain`) against the REAL sandbox servers
//! (`scripts/sandbox up`). Every expectation is derived from the seed file
//! `scripts/sandbox.d/seed.toml` (policies, group roles, memberships, tokens, activity, exemptions)
//! and the accessors the sandbox issued (`sandbox.json`), never from the answer itself.

use portcullis_e2e::cli_ws::CliWs;
use portcullis_e2e::repo_root;
use serde_json::Value;
use std::collections::BTreeSet;

fn seed() -> toml::Value {
    let text = std::fs::read_to_string(repo_root().join("scripts/sandbox.d/seed.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

fn arr(v: &toml::Value) -> &Vec<toml::Value> {
    v.as_array().unwrap()
}

fn s(v: &toml::Value) -> &str {
    v.as_str().unwrap()
}

fn strs(v: Option<&toml::Value>) -> Vec<String> {
    v.and_then(|x| x.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A workspace with the three sandbox backends registered and synced.
struct Ws(CliWs);

impl std::ops::Deref for Ws {
    type Target = CliWs;
    fn deref(&self) -> &CliWs {
        &self.0
    }
}

impl Ws {
    fn synced() -> Ws {
        let ws = CliWs::load();
        ws.add_sandbox_backends();
        ws.sync_all();
        Ws(ws)
    }

    /// The cached principal id of the credential with this accessor (OpenBao tokens).
    fn bao_principal_of_token(&self, seed_token: &str) -> String {
        let accessor = self.sb.tokens[seed_token]["accessor"]
            .as_str()
            .unwrap_or_else(|| panic!("no accessor for {seed_token} in sandbox.json"))
            .to_string();
        let creds = self.json(&["credentials", "--backend", "openbao"]);
        let c = creds
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["external_id"] == accessor.as_str())
            .unwrap_or_else(|| panic!("token {seed_token} not synced"));
        c["principal"].as_str().unwrap().to_string()
    }
}

fn allowed_ids(answer: &Value, key: &str) -> BTreeSet<String> {
    answer[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["principal"]["external_id"].as_str().unwrap().to_string())
        .collect()
}

fn entry<'a>(answer: &'a Value, key: &str, principal: &str) -> &'a Value {
    answer[key]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["principal"]["external_id"] == principal)
        .unwrap_or_else(|| panic!("{principal} not in {key}: {answer}"))
}

fn hops(path: &Value) -> Vec<String> {
    path["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["external_id"].as_str().unwrap().to_string())
        .collect()
}

/// Every match of every entry has paths from the principal to the matched permission.
fn assert_paths_explain(answer: &Value, key: &str) {
    for e in answer[key].as_array().unwrap() {
        let who = e["principal"]["id"].as_str().unwrap();
        for m in e["matches"].as_array().unwrap() {
            let paths = m["paths"].as_array().unwrap();
            assert!(!paths.is_empty(), "{who}: a match without a path: {m}");
            for p in paths {
                let h = p["hops"].as_array().unwrap();
                assert_eq!(h[0]["id"], who, "path does not start at {who}: {p}");
                assert_eq!(
                    h.last().unwrap()["id"],
                    m["permission"]["id"],
                    "path does not end at the permission: {p}"
                );
            }
        }
    }
}

fn exempt(seed: &toml::Value, backend: &str) -> BTreeSet<String> {
    arr(&seed["review"]["exempt"])
        .iter()
        .filter(|e| s(&e["backend"]) == backend)
        .map(|e| s(&e["principal"]).to_string())
        .collect()
}

#[test]
fn who_can_read_payments_cards_on_postgres_is_what_the_seed_grants() {
    let ws = Ws::synced();
    let seed = seed();
    let pg = &seed["postgres"];

    // Group roles granting SELECT on payments.cards (table or columns), then every group role
    // that is a member of one of them, transitively.
    let groups = arr(&pg["group_roles"]);
    let mut readers: BTreeSet<String> = groups
        .iter()
        .filter(|g| {
            strs(g.get("grants"))
                .iter()
                .any(|x| x.contains("SELECT") && x.contains("payments.cards"))
        })
        .map(|g| s(&g["name"]).to_string())
        .collect();
    loop {
        let more: Vec<String> = groups
            .iter()
            .filter(|g| strs(g.get("member_of")).iter().any(|m| readers.contains(m)))
            .map(|g| s(&g["name"]).to_string())
            .filter(|n| !readers.contains(n))
            .collect();
        if more.is_empty() {
            break;
        }
        readers.extend(more);
    }
    assert!(
        readers.contains("payments_read"),
        "seed changed: {readers:?}"
    );
    let mut expected = readers.clone();
    let mut via_all_data = BTreeSet::new();
    let mut superusers = BTreeSet::new();
    for r in arr(&pg["login_roles"]) {
        let name = s(&r["name"]).to_string();
        let member_of = strs(r.get("member_of"));
        if member_of.iter().any(|m| readers.contains(m)) {
            expected.insert(name.clone());
        }
        if member_of.iter().any(|m| m == "pg_read_all_data") {
            via_all_data.insert(name.clone());
            expected.insert(name.clone());
            expected.insert("pg_read_all_data".into());
        }
        if strs(r.get("attributes")).iter().any(|a| a == "SUPERUSER") {
            superusers.insert(name.clone());
            expected.insert(name);
        }
    }
    // The sandbox's own roles (owner of every object, the audit role granted SELECT on
    // payments.cards, the console and its revoker, the bootstrap superuser): all exempt from
    // review, all able to read the table.
    let infra = exempt(&seed, "postgres");
    assert!(infra.contains(s(&pg["owner"])) && infra.contains(s(&pg["audit_role"])));
    expected.extend(infra);

    let answer = ws.json(&["who-can", "read", "payments.cards", "--backend", "postgres"]);
    assert_eq!(allowed_ids(&answer, "allowed"), expected, "{answer:#}");
    assert!(answer["denied"].as_array().unwrap().is_empty());
    assert_paths_explain(&answer, "allowed");

    // carol → payments_read → a column of payments.cards (only some columns: partly).
    let carol = entry(&answer, "allowed", "carol");
    assert_eq!(
        hops(&carol["matches"][0]["paths"][0])[..2],
        ["carol", "payments_read"]
    );
    assert!(carol["matches"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["coverage"] == "partial"));
    let svc = entry(&answer, "allowed", "svc_payments");
    assert_eq!(
        hops(&svc["matches"][0]["paths"][0])[..3],
        ["svc_payments", "payments_write", "payments_read"]
    );
    for who in &via_all_data {
        let e = entry(&answer, "allowed", who);
        assert_eq!(hops(&e["matches"][0]["paths"][0])[1], "pg_read_all_data");
        assert_eq!(e["matches"][0]["permission"]["implied"], true);
    }
    for who in &superusers {
        let e = entry(&answer, "allowed", who);
        assert!(
            e["matches"][0]["permission"]["external_id"]
                .as_str()
                .unwrap()
                .ends_with("SUPERUSER"),
            "{e}"
        );
    }

    // A role the seed does not let read it is absent; a table it may read lists it.
    assert!(!allowed_ids(&answer, "allowed").contains("bob"));
    let daily = ws.json(&[
        "who-can",
        "SELECT",
        "reporting.daily",
        "--backend",
        "postgres",
    ]);
    assert!(allowed_ids(&daily, "allowed").contains("bob"));
}

/// Vault path rules of a seeded policy: (path, capabilities).
fn policy_rules(seed: &toml::Value, policy: &str) -> Vec<(String, Vec<String>)> {
    let p = arr(&seed["openbao"]["policies"])
        .iter()
        .find(|p| s(&p["name"]) == policy)
        .unwrap_or_else(|| panic!("policy {policy} not in the seed"));
    let text = s(&p["rules"]);
    let mut out = Vec::new();
    for block in text.split("path \"").skip(1) {
        let path = block.split('"').next().unwrap().to_string();
        let caps = block
            .split('[')
            .nth(1)
            .and_then(|x| x.split(']').next())
            .unwrap_or_default()
            .split(',')
            .map(|c| c.trim().trim_matches('"').to_string())
            .filter(|c| !c.is_empty())
            .collect();
        out.push((path, caps));
    }
    out
}

#[test]
fn who_can_read_payments_secrets_on_openbao_is_what_the_seed_grants() {
    let ws = Ws::synced();
    let seed = seed();
    let bao = &seed["openbao"];
    let asked = "secret/data/payments/";
    // A rule reaches under secret/data/payments/ when it is a glob whose prefix leads there, or
    // names a path under it (a `+` segment included).
    let reaches = |path: &str| match path.strip_suffix('*') {
        Some(prefix) => asked.starts_with(prefix) || prefix.starts_with(asked),
        None => path.starts_with(asked),
    };
    let policies: BTreeSet<String> = arr(&bao["policies"])
        .iter()
        .map(|p| s(&p["name"]).to_string())
        .filter(|name| {
            policy_rules(&seed, name)
                .iter()
                .any(|(path, caps)| caps.iter().any(|c| c == "read") && reaches(path))
        })
        .collect();
    assert!(
        policies.contains("payments-read"),
        "seed changed: {policies:?}"
    );

    let mut expected = BTreeSet::new();
    let mut partial = BTreeSet::new();
    for u in arr(&bao["users"]) {
        if strs(u.get("policies")).iter().any(|p| policies.contains(p)) {
            let person = s(&u["person"]);
            expected.insert(format!("userpass:userpass:{person}"));
            // A person who logged in holds a token with those policies, under their entity.
            if let Some(login) = u.get("login_credential").and_then(|l| l.as_str()) {
                expected.insert(ws.bao_principal_of_token(login));
            }
        }
    }
    for t in arr(&bao["tokens"]) {
        let pols = strs(t.get("policies"));
        if pols.iter().any(|p| policies.contains(p)) {
            let principal = ws.bao_principal_of_token(s(&t["name"]));
            // Only through a `+` rule: part of the subtree.
            if !pols
                .iter()
                .any(|p| p != "payments-read" && policies.contains(p))
            {
                partial.insert(principal.clone());
            }
            expected.insert(principal);
        }
    }
    // The dev server's root token (exempt as sandbox infrastructure) can read anything.
    assert!(exempt(&seed, "openbao").contains("root"));
    let root: Vec<String> = ws
        .json(&["credentials", "--backend", "openbao"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["scopes"].as_array().unwrap().iter().any(|x| x == "root"))
        .map(|c| c["principal"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(root.len(), 1, "one root token in the sandbox");
    expected.extend(root);

    let answer = ws.json(&[
        "who-can",
        "read",
        "secret/data/payments/*",
        "--backend",
        "openbao",
    ]);
    assert_eq!(allowed_ids(&answer, "allowed"), expected, "{answer:#}");
    assert_paths_explain(&answer, "allowed");
    for p in &partial {
        let e = entry(&answer, "allowed", p);
        assert!(
            e["matches"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["coverage"] == "partial"),
            "{e}"
        );
    }
    // A service token's path goes principal → its token → the policy → the rule.
    let payments = ws.bao_principal_of_token("bao-svc-payments");
    let e = entry(&answer, "allowed", &payments);
    let path = &e["matches"][0]["paths"][0]["hops"];
    assert_eq!(path[1]["kind"], "credential");
    assert_eq!(
        path[1]["external_id"],
        ws.sb.tokens["bao-svc-payments"]["accessor"]
    );
    assert_eq!(path[2]["external_id"], "payments-admin");

    // The same question without --backend asks every backend; PostgreSQL's superusers do not
    // answer a Vault path.
    let everywhere = ws.json(&["who-can", "read", "secret/data/payments/*"]);
    assert_eq!(allowed_ids(&everywhere, "allowed"), expected);
}

#[test]
fn a_vault_deny_rule_wins_over_a_glob() {
    let ws = Ws::synced();
    let seed = seed();
    // The seed's ci-deploy policy: a read glob with a deny hole in it.
    let rules = policy_rules(&seed, "ci-deploy");
    let (denied_path, _) = rules
        .iter()
        .find(|(_, caps)| caps.iter().any(|c| c == "deny"))
        .expect("ci-deploy has a deny rule");
    let (glob, _) = rules
        .iter()
        .find(|(p, caps)| p.ends_with('*') && caps.iter().any(|c| c == "read"))
        .expect("ci-deploy has a read glob");
    let ci = ws.bao_principal_of_token("bao-svc-ci");

    let answer = ws.json(&["who-can", "read", denied_path, "--backend", "openbao"]);
    assert!(!allowed_ids(&answer, "allowed").contains(&ci), "{answer:#}");
    let d = entry(&answer, "denied", &ci);
    assert_eq!(
        d["matches"][0]["permission"]["external_id"],
        format!("{denied_path}|deny")
    );
    assert_paths_explain(&answer, "denied");

    let sibling = glob.replace('*', "deploy-key");
    let answer = ws.json(&["who-can", "read", &sibling, "--backend", "openbao"]);
    let e = entry(&answer, "allowed", &ci);
    assert_eq!(
        e["matches"][0]["permission"]["external_id"],
        format!("{glob}|read")
    );
}

#[test]
fn explain_shows_grants_with_paths_and_what_the_activity_used() {
    let ws = Ws::synced();
    let seed = seed();
    // OIDC: each seeded dashboard/cli refresh token's owner holds its scopes; a scope the seed's
    // allowed activity `uses` through that person's credential shows uses, one it never uses none.
    let creds = arr(&seed["oidc"]["credentials"]);
    let activity = arr(&seed["oidc"]["activity"]);
    let mut checked = 0;
    for c in creds.iter().filter(|c| s(&c["kind"]) == "refresh_token") {
        let person = s(&c["principal"]);
        let answer = ws.json(&["explain", &format!("account:{person}"), "--backend", "oidc"]);
        let subject = &answer["subjects"][0];
        assert_eq!(
            subject["subject"]["external_id"],
            format!("account:{person}")
        );
        let perms = subject["permissions"].as_array().unwrap();
        for scope in strs(c.get("scopes")) {
            let p = perms
                .iter()
                .find(|p| p["permission"]["external_id"] == scope.as_str())
                .unwrap_or_else(|| panic!("{person} should hold {scope}: {answer}"));
            assert_eq!(
                hops(&p["paths"][0]),
                [format!("account:{person}"), scope.clone()]
            );
            let used = activity.iter().any(|a| {
                s(&a["credential"]) == s(&c["name"])
                    && a.get("uses").and_then(|u| u.as_str()) == Some(scope.as_str())
                    && s(&a["expect"]) == "allow"
            });
            assert_eq!(
                p["uses"].as_u64().unwrap() > 0,
                used,
                "{person} {scope}: used per seed = {used}: {p}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} grants checked");

    // PostgreSQL: bob reads reporting.daily through reporting_read (used), and holds billing
    // tables through billing_read, which his activity never touches.
    let bob = ws.json(&["explain", "bob", "--backend", "postgres"]);
    let perms = bob["subjects"][0]["permissions"].as_array().unwrap();
    let daily = perms
        .iter()
        .find(|p| p["permission"]["external_id"] == "table:reporting.daily:SELECT")
        .unwrap();
    assert_eq!(
        hops(&daily["paths"][0]),
        ["bob", "reporting_read", "table:reporting.daily:SELECT"]
    );
    assert!(daily["uses"].as_u64().unwrap() > 0);
    let invoices = perms
        .iter()
        .find(|p| p["permission"]["external_id"] == "table:billing.invoices:SELECT")
        .unwrap();
    assert_eq!(invoices["uses"], 0);
    let radius = &bob["subjects"][0]["blast_radius"];
    assert!(radius["total"]["pairs"].as_u64().unwrap() >= 3);

    // With a permission: only that one, with its path (why).
    let why = ws.json(&[
        "explain",
        "carol",
        "payments.cards",
        "--backend",
        "postgres",
    ]);
    let perms = why["subjects"][0]["permissions"].as_array().unwrap();
    assert!(!perms.is_empty());
    for p in perms {
        assert!(p["permission"]["resource"]
            .as_str()
            .unwrap()
            .starts_with("payments.cards"));
        assert_eq!(hops(&p["paths"][0])[1], "payments_read");
    }

    // A credential: the svc-ci token's rights are its policies, the deny included.
    let accessor = ws.sb.tokens["bao-svc-ci"]["accessor"].as_str().unwrap();
    let token = ws.json(&["explain", accessor, "--credential"]);
    let subject = &token["subjects"][0];
    assert_eq!(subject["credential_mode"], "scopes");
    let ids: BTreeSet<String> = subject["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["permission"]["external_id"].as_str().unwrap().to_string())
        .collect();
    for policy in ["ci-deploy", "payments-read"] {
        for (path, caps) in policy_rules(&seed, policy) {
            let class = if caps.iter().any(|c| c == "deny") {
                "deny"
            } else {
                "read"
            };
            assert!(
                ids.contains(&format!("{path}|{class}")),
                "{path}|{class} missing: {ids:?}"
            );
        }
    }
    assert!(subject["blast_radius"]["total"]["denied"].as_u64().unwrap() >= 1);

    // Nobody by that name: a hint, not an error.
    let none = ws.json(&["explain", "no-such-person"]);
    assert!(none["subjects"].as_array().unwrap().is_empty());
    assert!(none["hint"].as_str().unwrap().contains("portcullis sync"));
    let out = ws.run(&["who-can", "frobnicate", "x"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_input"));
}

/// pgaudit logs `SELECT reporting.refresh_daily()` as an allowed SELECT naming no object; the
/// call is only in the statement. A role that holds EXECUTE on a function through a group its
/// allowed activity `uses` shows that grant used exactly when one of its allowed statements calls
/// the function (svc_reporting's refresh_daily, svc_billing's issue_invoice), and unused when it
/// only used the group's tables (alice's UPDATE through billing_write).
#[test]
fn a_function_called_in_a_statement_counts_as_use_of_execute() {
    let ws = Ws::synced();
    let seed = seed();
    let groups = arr(&seed["postgres"]["group_roles"]);
    let allowed: Vec<&toml::Value> = arr(&seed["postgres"]["activity"])
        .iter()
        .filter(|a| s(&a["expect"]) == "allow")
        .collect();
    let name = |f: &str| f.split('(').next().unwrap_or(f).to_ascii_lowercase();
    let calls = |role: &str, f: &str| {
        allowed.iter().any(|a| {
            s(&a["role"]) == role
                && s(&a["sql"])
                    .to_ascii_lowercase()
                    .contains(&format!("{}(", name(f)))
        })
    };
    let mut seen = BTreeSet::new();
    let (mut used, mut unused) = (0, 0);
    for a in &allowed {
        let Some(group) = a.get("uses").and_then(|u| u.as_str()) else {
            continue;
        };
        let role = s(&a["role"]);
        let functions = groups
            .iter()
            .filter(|g| s(&g["name"]) == group)
            .flat_map(|g| strs(g.get("grants")))
            .filter_map(|g| {
                g.strip_prefix("GRANT EXECUTE ON FUNCTION ")
                    .map(str::to_string)
            });
        for f in functions {
            if !seen.insert((role.to_string(), f.clone())) {
                continue;
            }
            let answer = ws.json(&["explain", role, "--backend", "postgres"]);
            let perms = answer["subjects"][0]["permissions"].as_array().unwrap();
            // The seed names the function as granted (`f(integer, integer)`), the cache as
            // `pg_get_function_identity_arguments` prints it (with argument names).
            let p = perms
                .iter()
                .find(|p| {
                    name(p["permission"]["resource"].as_str().unwrap()) == name(&f)
                        && p["permission"]["external_id"]
                            .as_str()
                            .unwrap()
                            .ends_with(":EXECUTE")
                })
                .unwrap_or_else(|| panic!("{role} should hold EXECUTE on {f}: {answer}"));
            assert!(
                p["paths"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|h| hops(h).iter().any(|x| x == group)),
                "{role} holds EXECUTE on {f} through {group}: {p}"
            );
            let called = calls(role, &f);
            assert_eq!(
                p["uses"].as_u64().unwrap() > 0,
                called,
                "{role} calls {f} per seed = {called}: {p}"
            );
            if called {
                used += 1;
            } else {
                unused += 1;
            }
        }
    }
    assert!(used >= 2, "only {used} allowed function calls in the seed");
    assert!(
        unused >= 1,
        "no EXECUTE grant the seed's activity leaves unused"
    );
}
