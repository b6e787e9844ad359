//! Mapping tests over EVERY file in `tests/fixtures/kubernetes/`.
//!
//! A Kubernetes API server cannot run on our machines: these are authentic payloads (RBAC docs
//! examples, the bootstrap policy test data, API-server objects captured in audit events, a real
//! audit log) plus a few `*.handwritten.*` files for shapes no licensed upstream sample shows (see
//! `PROVENANCE.md`). Each must map through the same code the live API and `kubectl` files use, and
//! no parser may panic on any truncation of any of them.

use chrono::{TimeZone, Utc};
use portcullis_connectors::fingerprint;
use portcullis_connectors::kubernetes::files::{objects_from_files, parse_documents};
use portcullis_connectors::kubernetes::inventory::{build_inventory, subject_id};
use portcullis_connectors::kubernetes::objects::{Objects, PolicyRule, Subject};
use portcullis_connectors::kubernetes::rules::{expand, Scope};
use portcullis_connectors::kubernetes::{inventory_from_files, parse_k8s_audit_line};
use portcullis_model::{
    Action, CredentialStatus, ErrorCode, Grant, Inventory, NodeKind, Outcome, PrincipalKind,
};
use proptest::prelude::*;
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kubernetes")
}

fn path(name: &str) -> PathBuf {
    dir().join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn inv_of(names: &[&str]) -> Inventory {
    let paths: Vec<PathBuf> = names.iter().map(|n| path(n)).collect();
    inventory_from_files(&paths).unwrap_or_else(|e| panic!("{names:?}: {e}"))
}

fn has(inv: &Inventory, fk: NodeKind, f: &str, tk: NodeKind, t: &str) -> bool {
    inv.grants.contains(&Grant {
        from_kind: fk,
        from_id: f.into(),
        to_kind: tk,
        to_id: t.into(),
    })
}

fn perm_ids_of(inv: &Inventory, role: &str) -> Vec<String> {
    let mut v: Vec<String> = inv
        .grants
        .iter()
        .filter(|g| g.from_id == role && g.to_kind == NodeKind::Permission)
        .map(|g| g.to_id.clone())
        .collect();
    v.sort();
    v
}

fn check_fixture(name: &str) {
    match name {
        "audit2rbac-demo-audit-policy.yaml"
        | "k8s-apiserver-clusterrole-delete.status.from-audit-responseObject.json" => {
            // Not RBAC objects (an audit Policy, a Status): passed over, nothing mapped.
            let o = objects_from_files(&[path(name)]).unwrap();
            assert_eq!(o.skipped.values().sum::<usize>(), 1, "{:?}", o.skipped);
            assert_eq!(inv_of(&[name]), Inventory::default());
        }
        "audit2rbac-demo-audit.jsonl" => {
            let events: Vec<_> = read(name)
                .lines()
                .enumerate()
                .map(|(i, l)| parse_k8s_audit_line(l, i as u64 + 1).unwrap())
                .collect();
            assert_eq!(events.len(), 37);
            let denied = events.iter().filter(|e| e.outcome == Outcome::Deny).count();
            assert_eq!(denied, 11);
            assert_eq!(events.len() - denied, 26);
            let first = &events[0];
            // v1beta1-era `timestamp`; impersonated user is the actor.
            assert_eq!(
                first.at,
                Utc.with_ymd_and_hms(2017, 9, 11, 19, 55, 5).unwrap()
            );
            assert_eq!(first.actor.as_deref(), Some("bob"));
            assert_eq!(first.raw["user"]["username"], "system:admin");
            assert_eq!(first.action, "list");
            assert_eq!(first.resource.as_deref(), Some("ns:default/core/pods"));
            assert_eq!(first.source_ip.as_deref(), Some("::1"));
            assert_eq!(
                first.dedup_key,
                "k8s:033d17af-082d-4b24-aa22-627752e83d71:ResponseComplete"
            );
            assert_eq!(
                events[4].actor.as_deref(),
                Some("system:serviceaccount:ns1:sa1")
            );
            assert_eq!(events[6].resource.as_deref(), Some("cluster/core/nodes"));
            assert_eq!(events[9].resource.as_deref(), Some("url:/api"));
            let keys: std::collections::HashSet<_> = events.iter().map(|e| &e.dedup_key).collect();
            assert_eq!(keys.len(), 37);
        }
        "k8s-audit-v1.handwritten.jsonl" => {
            let events: Vec<_> = read(name)
                .lines()
                .enumerate()
                .map(|(i, l)| parse_k8s_audit_line(l, i as u64 + 1).unwrap())
                .collect();
            assert_eq!(events.len(), 9);
            // v1 timestamps: the request's reception time.
            assert_eq!(
                events[1].at,
                Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap()
            );
            assert_eq!(events[1].outcome, Outcome::Allow);
            assert!(events[1].raw["reason"]
                .as_str()
                .unwrap()
                .contains("RoleBinding"));
            assert_eq!(events[2].outcome, Outcome::Deny);
            assert_eq!(events[2].raw["decision"], "forbid");
            assert_eq!(
                events[3].credential.as_deref(),
                Some("JTI=0d6c6f1e-handwritten")
            );
            assert_eq!(
                events[3].resource.as_deref(),
                Some("ns:development/core/secrets#db-password")
            );
            assert!(!events[3]
                .raw
                .to_string()
                .contains("aGFuZHdyaXR0ZW4tc2VjcmV0LXZhbHVl"));
            assert_eq!(events[4].actor.as_deref(), Some("manager-bob"));
            assert_eq!(events[4].raw["user"]["username"], "admin");
            assert_eq!(events[5].resource.as_deref(), Some("url:/healthz"));
            assert_eq!(
                events[7].resource.as_deref(),
                Some("ns:default/apps/deployments")
            );
            assert_eq!(
                events[8].resource.as_deref(),
                Some("ns:default/core/pods/log#web-0")
            );
            assert_eq!(events[8].outcome, Outcome::Error);
            // RequestReceived with no decision yet.
            assert_eq!(events[0].outcome, Outcome::Error);
            assert_ne!(
                events[0].dedup_key, events[1].dedup_key,
                "one key per stage"
            );
        }
        "k8s-apiserver-clusterrole-wildcard-resources.from-audit-responseObject.json" => {
            let inv = inv_of(&[name]);
            let ids = perm_ids_of(&inv, "ClusterRole/some-reader");
            assert_eq!(ids.len(), 2 + 13);
            assert!(ids.contains(&"get cluster/core/*".to_string()));
            assert!(ids.contains(&"get url:/swagger.json".to_string()));
            let star = inv
                .permissions
                .iter()
                .find(|p| p.external_id == "list cluster/core/*")
                .unwrap();
            assert_eq!(star.raw["wildcard"], true);
            assert_eq!(star.action, Action::Read);
            let api = inv
                .permissions
                .iter()
                .find(|p| p.external_id == "get url:/api/*")
                .unwrap();
            assert_eq!(api.raw["wildcard"], true);
            let version = inv
                .permissions
                .iter()
                .find(|p| p.external_id == "get url:/version")
                .unwrap();
            assert_eq!(version.raw["wildcard"], false);
        }
        "k8s-apiserver-clusterrolebinding-cluster-admin.from-audit-responseObject.json" => {
            let inv = inv_of(&[name]);
            assert!(has(
                &inv,
                NodeKind::Principal,
                "minikube",
                NodeKind::Role,
                "ClusterRoleBinding/some-reader-binding"
            ));
            assert!(has(
                &inv,
                NodeKind::Role,
                "ClusterRoleBinding/some-reader-binding",
                NodeKind::Role,
                "ClusterRole/cluster-admin"
            ));
            let placeholder = inv
                .roles
                .iter()
                .find(|r| r.external_id == "ClusterRole/cluster-admin")
                .unwrap();
            assert!(placeholder
                .description
                .as_deref()
                .unwrap()
                .contains("not found"));
            assert_eq!(inv.principals[0].kind, PrincipalKind::User);
        }
        "k8s-bootstrap-cluster-role-bindings.v1beta1.yaml" => {
            let inv = inv_of(&[name]);
            let bindings = inv
                .roles
                .iter()
                .filter(|r| r.external_id.starts_with("ClusterRoleBinding/"))
                .count();
            assert_eq!(bindings, 6);
            assert!(has(
                &inv,
                NodeKind::Principal,
                "group:system:masters",
                NodeKind::Role,
                "ClusterRoleBinding/cluster-admin"
            ));
            assert!(has(
                &inv,
                NodeKind::Principal,
                "system:kube-proxy",
                NodeKind::Role,
                "ClusterRoleBinding/system:node-proxier"
            ));
            // Users are members of system:authenticated, which system:basic-user binds.
            assert!(has(
                &inv,
                NodeKind::Principal,
                "system:kube-proxy",
                NodeKind::Principal,
                "group:system:authenticated"
            ));
        }
        "k8s-bootstrap-cluster-roles.excerpt.yaml" => {
            let inv = inv_of(&[name]);
            assert_eq!(inv.roles.len(), 9);
            // Aggregation: admin selects edit and system:aggregate-to-admin by label.
            assert!(has(
                &inv,
                NodeKind::Role,
                "ClusterRole/admin",
                NodeKind::Role,
                "ClusterRole/edit"
            ));
            assert!(has(
                &inv,
                NodeKind::Role,
                "ClusterRole/admin",
                NodeKind::Role,
                "ClusterRole/system:aggregate-to-admin"
            ));
            assert!(!has(
                &inv,
                NodeKind::Role,
                "ClusterRole/admin",
                NodeKind::Role,
                "ClusterRole/cluster-admin"
            ));
            assert!(
                perm_ids_of(&inv, "ClusterRole/admin").is_empty(),
                "rules: null"
            );
            let admin = perm_ids_of(&inv, "ClusterRole/cluster-admin");
            assert_eq!(
                admin,
                vec!["* cluster/*/*".to_string(), "* url:*".to_string()]
            );
            let all = inv
                .permissions
                .iter()
                .find(|p| p.external_id == "* cluster/*/*")
                .unwrap();
            assert_eq!(all.action, Action::Admin);
            assert_eq!(all.raw["wildcard"], true);
            let kcm = perm_ids_of(&inv, "ClusterRole/system:kube-controller-manager");
            assert!(kcm.contains(&"list cluster/*/*".to_string()));
            assert!(kcm.contains(
                &"get cluster/coordination.k8s.io/leases#kube-controller-manager".to_string()
            ));
            assert!(kcm.contains(&"create cluster/core/serviceaccounts/token".to_string()));
            let approve = perm_ids_of(
                &inv,
                "ClusterRole/system:certificates.k8s.io:kube-apiserver-client-approver",
            );
            assert_eq!(approve, vec!["approve cluster/certificates.k8s.io/signers#kubernetes.io/kube-apiserver-client".to_string()]);
        }
        "k8s-docs-clusterrole-aggregated-monitoring.yaml"
        | "k8s-clusterrole-aggregation-members.handwritten.yaml" => {
            let inv = inv_of(&[
                "k8s-docs-clusterrole-aggregated-monitoring.yaml",
                "k8s-clusterrole-aggregation-members.handwritten.yaml",
            ]);
            assert!(has(
                &inv,
                NodeKind::Role,
                "ClusterRole/monitoring",
                NodeKind::Role,
                "ClusterRole/monitoring-endpoints"
            ));
            assert!(!has(
                &inv,
                NodeKind::Role,
                "ClusterRole/monitoring",
                NodeKind::Role,
                "ClusterRole/monitoring-not-selected"
            ));
            let sa = "system:serviceaccount:monitoring:prometheus";
            assert!(has(
                &inv,
                NodeKind::Principal,
                sa,
                NodeKind::Role,
                "ClusterRoleBinding/monitoring-global"
            ));
            assert!(has(
                &inv,
                NodeKind::Role,
                "ClusterRoleBinding/monitoring-global",
                NodeKind::Role,
                "ClusterRole/monitoring"
            ));
            assert!(perm_ids_of(&inv, "ClusterRole/monitoring-endpoints")
                .contains(&"watch cluster/core/endpointslices".to_string()));
            let p = inv.principals.iter().find(|p| p.external_id == sa).unwrap();
            assert_eq!(p.kind, PrincipalKind::Service);
            assert_eq!(p.attrs["declared"], false);
        }
        "k8s-docs-clusterrole-secret-reader.yaml" => {
            let inv = inv_of(&[name]);
            assert_eq!(
                perm_ids_of(&inv, "ClusterRole/secret-reader"),
                vec![
                    "get cluster/core/secrets",
                    "list cluster/core/secrets",
                    "watch cluster/core/secrets"
                ]
            );
        }
        "k8s-docs-clusterrolebinding-read-secrets-global.yaml" => {
            let inv = inv_of(&[name, "k8s-docs-clusterrole-secret-reader.yaml"]);
            assert!(has(
                &inv,
                NodeKind::Principal,
                "group:manager",
                NodeKind::Role,
                "ClusterRoleBinding/read-secrets-global"
            ));
            assert!(has(
                &inv,
                NodeKind::Role,
                "ClusterRoleBinding/read-secrets-global",
                NodeKind::Role,
                "ClusterRole/secret-reader"
            ));
            let g = inv
                .principals
                .iter()
                .find(|p| p.external_id == "group:manager")
                .unwrap();
            assert_eq!((g.kind, g.name.as_str()), (PrincipalKind::Group, "manager"));
        }
        "k8s-docs-nonresource-rule.yaml" => {
            // A `rules:` snippet, not an object: files refuse it by name...
            let err = inventory_from_files(&[path(name)]).unwrap_err();
            assert_eq!(err.code(), ErrorCode::Malformed);
            assert!(err.to_string().contains("no `kind`"), "{err}");
            assert!(err.to_string().contains(name), "{err}");
            // ...and its rules expand, cluster-wide only.
            let doc = &parse_documents(&read(name), false).unwrap()[0];
            let rules: Vec<PolicyRule> = serde_json::from_value(doc["rules"].clone()).unwrap();
            let perms = expand(&rules, &Scope::Cluster);
            let ids: Vec<&str> = perms.iter().map(|p| p.external_id.as_str()).collect();
            assert_eq!(
                ids,
                vec![
                    "get url:/healthz",
                    "get url:/healthz/*",
                    "post url:/healthz",
                    "post url:/healthz/*"
                ]
            );
            assert!(expand(&rules, &Scope::Namespace("x".into())).is_empty());
        }
        "k8s-docs-role-binding-subjects-examples.yaml" => {
            assert!(inventory_from_files(&[path(name)]).is_err());
            let docs = parse_documents(&read(name), false).unwrap();
            assert_eq!(docs.len(), 5);
            let mut ids = Vec::new();
            for d in docs {
                let subjects: Vec<Subject> = serde_json::from_value(d["subjects"].clone()).unwrap();
                ids.extend(
                    subjects
                        .iter()
                        .filter_map(|s| subject_id(s, Some("ns-of-binding"))),
                );
            }
            assert_eq!(
                ids,
                vec![
                    "alice@example.com",
                    "group:frontend-admins",
                    "system:serviceaccount:kube-system:default",
                    "group:system:serviceaccounts:qa",
                    "group:system:authenticated",
                    "group:system:unauthenticated",
                ]
            );
        }
        "k8s-docs-role-configmap-updater-resourcenames.yaml" => {
            let inv = inv_of(&[name]);
            assert_eq!(
                perm_ids_of(&inv, "Role/default/configmap-updater"),
                vec![
                    "get ns:default/core/configmaps#my-configmap",
                    "update ns:default/core/configmaps#my-configmap"
                ]
            );
            let u = inv
                .permissions
                .iter()
                .find(|p| p.external_id.starts_with("update"))
                .unwrap();
            assert_eq!(u.action, Action::Write);
            assert_eq!(u.raw["resourceName"], "my-configmap");
        }
        "k8s-docs-role-pod-reader.yaml" => {
            let inv = inv_of(&[name]);
            assert_eq!(perm_ids_of(&inv, "Role/default/pod-reader").len(), 3);
        }
        "k8s-docs-rolebinding-read-pods.yaml" => {
            let inv = inv_of(&[name, "k8s-docs-role-pod-reader.yaml"]);
            assert!(has(
                &inv,
                NodeKind::Principal,
                "jane",
                NodeKind::Role,
                "RoleBinding/default/read-pods"
            ));
            assert!(has(
                &inv,
                NodeKind::Role,
                "RoleBinding/default/read-pods",
                NodeKind::Role,
                "Role/default/pod-reader"
            ));
        }
        "k8s-docs-rolebinding-read-secrets-clusterrole.yaml" => {
            let inv = inv_of(&[name, "k8s-docs-clusterrole-secret-reader.yaml"]);
            // A RoleBinding to a ClusterRole grants its rules in the binding's namespace only.
            assert!(has(
                &inv,
                NodeKind::Principal,
                "dave",
                NodeKind::Role,
                "RoleBinding/development/read-secrets"
            ));
            assert!(has(
                &inv,
                NodeKind::Role,
                "RoleBinding/development/read-secrets",
                NodeKind::Role,
                "ClusterRole/secret-reader@development"
            ));
            assert!(!has(
                &inv,
                NodeKind::Role,
                "RoleBinding/development/read-secrets",
                NodeKind::Role,
                "ClusterRole/secret-reader"
            ));
            assert_eq!(
                perm_ids_of(&inv, "ClusterRole/secret-reader@development"),
                vec![
                    "get ns:development/core/secrets",
                    "list ns:development/core/secrets",
                    "watch ns:development/core/secrets"
                ]
            );
            let p = inv
                .permissions
                .iter()
                .find(|p| p.external_id == "get ns:development/core/secrets")
                .unwrap();
            assert_eq!(p.raw["namespace"], "development");
        }
        "k8s-serviceaccount.from-audit-requestObject.json" => {
            let inv = inv_of(&[name]);
            let p = &inv.principals[0];
            assert_eq!(p.external_id, "system:serviceaccount:default:myacct");
            assert_eq!(p.kind, PrincipalKind::Service);
            assert_eq!(p.attrs["declared"], true);
        }
        "k8s-legacy-token-secrets.handwritten.yaml" => {
            let o = objects_from_files(&[path(name)]).unwrap();
            assert_eq!(o.skipped.get("Secret (other types)"), Some(&1));
            let inv = build_inventory(&o);
            assert_eq!(inv.credentials.len(), 2);
            let robot = &inv.credentials[0];
            assert_eq!(robot.external_id, "Secret/default/build-robot-secret");
            assert_eq!(
                robot.principal_external_id.as_deref(),
                Some("system:serviceaccount:default:build-robot")
            );
            assert_eq!(robot.status, CredentialStatus::Active);
            assert_eq!(
                robot.last_used_at,
                Some(Utc.with_ymd_and_hms(2022, 10, 24, 0, 0, 0).unwrap())
            );
            assert_eq!(
                robot.issued_at,
                Some(Utc.with_ymd_and_hms(2021, 3, 1, 9, 0, 1).unwrap())
            );
            assert!(robot.expires_at.is_none());
            assert_eq!(
                robot.attrs["token_sha256"],
                fingerprint("handwritten.fake-legacy-token.build-robot")
            );
            let old = &inv.credentials[1];
            assert_eq!(old.status, CredentialStatus::Expired);
            assert_eq!(old.attrs["invalid_since"], "2023-10-25");
            // The SA named only by the Secret's annotation becomes a principal.
            assert!(inv
                .principals
                .iter()
                .any(|p| p.external_id == "system:serviceaccount:ci:old-ci"));
            let text = serde_json::to_string(&inv).unwrap();
            for leaked in [
                "handwritten.fake-legacy-token",
                "aGFuZHdyaXR0ZW4uZmFrZS1sZWdhY3ktdG9rZW4",
                "aGFuZHdyaXR0ZW4tbm90LWEtdG9rZW4=",
                "LS0tLS1CRUdJTi",
            ] {
                assert!(!text.contains(leaked), "{leaked} leaked");
            }
        }
        other => panic!("fixture {other} has no mapping test: add one"),
    }
}

fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_kubernetes_fixture_maps() {
    let names = fixture_names();
    assert!(names.len() >= 20, "{names:?}");
    for name in names {
        check_fixture(&name);
    }
}

#[test]
fn a_directory_of_kubectl_output_is_one_inventory() {
    let tmp = tempfile::tempdir().unwrap();
    for name in [
        "k8s-docs-role-pod-reader.yaml",
        "k8s-docs-rolebinding-read-pods.yaml",
        "k8s-docs-clusterrole-secret-reader.yaml",
        "k8s-docs-rolebinding-read-secrets-clusterrole.yaml",
        "k8s-apiserver-clusterrole-wildcard-resources.from-audit-responseObject.json",
        "k8s-legacy-token-secrets.handwritten.yaml",
    ] {
        std::fs::copy(path(name), tmp.path().join(name)).unwrap();
    }
    std::fs::write(tmp.path().join("README.txt"), "not a manifest: ignored").unwrap();
    let inv = inventory_from_files(&[tmp.path().to_path_buf()]).unwrap();
    assert!(has(
        &inv,
        NodeKind::Principal,
        "jane",
        NodeKind::Role,
        "RoleBinding/default/read-pods"
    ));
    assert!(has(
        &inv,
        NodeKind::Principal,
        "dave",
        NodeKind::Role,
        "RoleBinding/development/read-secrets"
    ));
    assert_eq!(inv.credentials.len(), 2);
    // Every grant's role and permission ends exist.
    let roles: std::collections::HashSet<&str> =
        inv.roles.iter().map(|r| r.external_id.as_str()).collect();
    let perms: std::collections::HashSet<&str> = inv
        .permissions
        .iter()
        .map(|p| p.external_id.as_str())
        .collect();
    let principals: std::collections::HashSet<&str> = inv
        .principals
        .iter()
        .map(|p| p.external_id.as_str())
        .collect();
    for g in &inv.grants {
        let ok = |k: NodeKind, id: &str| match k {
            NodeKind::Role => roles.contains(id),
            NodeKind::Permission => perms.contains(id),
            NodeKind::Principal => principals.contains(id),
        };
        assert!(
            ok(g.from_kind, &g.from_id) && ok(g.to_kind, &g.to_id),
            "{g:?}"
        );
    }
    // Deterministic: the same input gives the same inventory.
    assert_eq!(
        inv,
        inventory_from_files(&[tmp.path().to_path_buf()]).unwrap()
    );
}

#[test]
fn broken_files_are_named_with_a_position() {
    let tmp = tempfile::tempdir().unwrap();
    let yaml = tmp.path().join("bad.yaml");
    std::fs::write(&yaml, "kind: Role\nmetadata:\n  name: x\n rules: [\n").unwrap();
    let err = inventory_from_files(&[yaml]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Malformed);
    let msg = err.to_string();
    assert!(msg.contains("bad.yaml") && msg.contains("line"), "{msg}");
    let json = tmp.path().join("bad.json");
    std::fs::write(&json, "{\"kind\": \"Role\",\n \"metadata\": }").unwrap();
    let msg = inventory_from_files(&[json]).unwrap_err().to_string();
    assert!(msg.contains("line 2 column 14"), "{msg}");
    let missing = inventory_from_files(&[tmp.path().join("nope.yaml")]).unwrap_err();
    assert_eq!(missing.code(), ErrorCode::InvalidInput);
}

#[test]
fn list_items_without_kind_take_the_list_kind() {
    let mut o = Objects::default();
    let list: Value = serde_json::json!({
        "kind": "RoleBindingList", "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {"resourceVersion": "1"},
        "items": [{"metadata": {"name": "b", "namespace": "ns"}, "roleRef": {"kind": "Role", "name": "r"}, "subjects": null}]
    });
    o.add(list, "test").unwrap();
    assert_eq!(o.role_bindings.len(), 1);
    assert!(o.role_bindings[0].subjects.is_empty());
}

fn parse_any(name: &str, text: &str) {
    if name.ends_with(".jsonl") {
        for (i, line) in text.lines().enumerate() {
            let _ = parse_k8s_audit_line(line, i as u64 + 1);
        }
        return;
    }
    if let Ok(docs) = parse_documents(text, name.ends_with(".json")) {
        let mut o = Objects::default();
        for d in docs {
            let _ = o.add(d, "doc");
        }
        let _ = build_inventory(&o);
    }
}

#[test]
fn no_parser_panics_on_any_truncation_of_any_fixture() {
    for name in fixture_names() {
        let text = read(&name);
        if name.ends_with(".jsonl") {
            // Every truncation of every line.
            for line in text.lines() {
                for cut in (0..=line.len()).filter(|i| line.is_char_boundary(*i)) {
                    let _ = parse_k8s_audit_line(&line[..cut], 1);
                }
            }
            continue;
        }
        for cut in (0..=text.len()).filter(|i| text.is_char_boundary(*i)) {
            parse_any(&name, &text[..cut]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn audit_lines_never_panic(line in ".{0,400}") {
        let _ = parse_k8s_audit_line(&line, 1);
    }

    #[test]
    fn yaml_documents_never_panic(text in "[a-z:\\-\\[\\]{}\"' \\n#*&!|>0-9]{0,300}") {
        parse_any("x.yaml", &text);
    }

    #[test]
    fn audit_codes_decide_the_outcome(code in 100u16..600) {
        let line = format!(
            r#"{{"kind":"Event","auditID":"a","stage":"ResponseComplete","verb":"get","requestURI":"/api","timestamp":"2017-09-11T19:55:05Z","responseStatus":{{"code":{code}}}}}"#
        );
        let ev = parse_k8s_audit_line(&line, 1).unwrap();
        let want = match code {
            401 | 403 => Outcome::Deny,
            200..=399 => Outcome::Allow,
            _ => Outcome::Error,
        };
        prop_assert_eq!(ev.outcome, want);
    }
}
