//! Vault/OpenBao ACL policies, HCL and JSON (`vault::policy::parse_policy`, `rule_permissions`).
//! Each input is tried as policy text, and a policy is also generated from the data and written
//! both as HCL and as JSON, as Vault stores it. Invariants: no panic; every permission of a rule
//! is on the rule's path, at most one per capability; a generated policy parses back to exactly
//! its paths and capabilities, from either syntax.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use portcullis_connectors::vault::policy::{parse_policy, rule_permissions, PathRule};
use std::collections::BTreeMap;

const CAPS: &[&str] = &[
    "read",
    "list",
    "scan",
    "create",
    "update",
    "patch",
    "delete",
    "sudo",
    "deny",
    "subscribe",
];
const PATH_CHARS: &[u8] = b"abz09/_-.*+{}@:";

fn check(rules: &[PathRule]) {
    for rule in rules {
        let perms = rule_permissions(rule);
        assert!(perms.len() <= rule.capabilities.len());
        for p in &perms {
            assert_eq!(p.resource, rule.path);
            assert!(p.external_id.starts_with(&rule.path));
        }
    }
}

fn generated(u: &mut Unstructured) -> Result<BTreeMap<String, Vec<String>>> {
    let mut policy = BTreeMap::new();
    for _ in 0..u.int_in_range(0..=4)? {
        let len = u.int_in_range(1..=24)?;
        let mut path = String::new();
        for _ in 0..len {
            path.push(char::from(*u.choose(PATH_CHARS)?));
        }
        let mut caps = Vec::new();
        for _ in 0..u.int_in_range(0..=4)? {
            caps.push(u.choose(CAPS)?.to_string());
        }
        policy.insert(path, caps);
    }
    Ok(policy)
}

fn hcl(policy: &BTreeMap<String, Vec<String>>) -> String {
    let mut out = String::from("# generated\n");
    for (path, caps) in policy {
        let caps: Vec<String> = caps.iter().map(|c| format!("\"{c}\"")).collect();
        out.push_str(&format!(
            "path \"{path}\" {{\n  capabilities = [{}]\n}}\n\n",
            caps.join(", ")
        ));
    }
    out
}

fn json(policy: &BTreeMap<String, Vec<String>>) -> String {
    let paths: serde_json::Map<String, serde_json::Value> = policy
        .iter()
        .map(|(p, caps)| (p.clone(), serde_json::json!({ "capabilities": caps })))
        .collect();
    serde_json::json!({ "path": paths }).to_string()
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(rules) = parse_policy("fuzz", text) {
            check(&rules);
        }
    }
    let Ok(policy) = generated(&mut Unstructured::new(data)) else {
        return;
    };
    for (syntax, text) in [("HCL", hcl(&policy)), ("JSON", json(&policy))] {
        let rules = parse_policy("fuzz", &text)
            .unwrap_or_else(|e| panic!("generated {syntax} policy refused: {e}\n{text}"));
        check(&rules);
        let back: BTreeMap<String, Vec<String>> = rules
            .into_iter()
            .map(|r| (r.path, r.capabilities))
            .collect();
        assert_eq!(
            back, policy,
            "{syntax} policy read back differently:\n{text}"
        );
    }
});
