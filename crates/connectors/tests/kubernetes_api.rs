//! Contract tests of the Kubernetes connector against the API endpoints it uses.
//!
//! A Kubernetes API server cannot run on our machines: a local mock HTTP server (wiremock) serves
//! authentic objects (`tests/fixtures/kubernetes/`, see `PROVENANCE.md`) in the list envelope the
//! API uses (items without `kind`, `metadata.continue`). Each test pins the method, path, query,
//! bearer token, pagination to the last page and the mapping of error statuses to error codes.

use base64::Engine;
use portcullis_connectors::kubernetes::files::parse_documents;
use portcullis_connectors::kubernetes::Kubernetes;
use portcullis_connectors::{BackendConfig, Connector, RevokeTarget, VecAuditSink};
use portcullis_model::{BackendKind, CredentialKind, ErrorCode, Grant, NodeKind};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;
use wiremock::matchers::{
    body_partial_json, header, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "k8s-bearer-token-for-tests";
const RBAC: &str = "/apis/rbac.authorization.k8s.io/v1";

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kubernetes")
        .join(name)
}

/// The objects of a fixture (List items flattened), as the API serves them inside a list: no kind.
fn items(name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(fixture_path(name)).unwrap();
    let mut out = Vec::new();
    for doc in parse_documents(&text, name.ends_with(".json")).unwrap() {
        let docs = match doc.get("items") {
            Some(Value::Array(a)) => a.clone(),
            _ => vec![doc],
        };
        for mut d in docs {
            d.as_object_mut().unwrap().remove("kind");
            out.push(d);
        }
    }
    out
}

fn object(name: &str) -> Value {
    items(name).remove(0)
}

fn list(items: Vec<Value>, cont: Option<&str>) -> Value {
    json!({
        "kind": "List", "apiVersion": "v1",
        "metadata": { "resourceVersion": "4242", "continue": cont },
        "items": items,
    })
}

fn k8s(uri: &str) -> Kubernetes {
    Kubernetes::new(BackendConfig {
        name: "cluster".into(),
        kind: BackendKind::Kubernetes,
        url: uri.into(),
        secret: Some(SecretString::from(TOKEN.to_string())),
        timeout: Duration::from_secs(5),
        audit_log: None,
    })
    .unwrap()
}

fn bearer() -> wiremock::matchers::HeaderExactMatcher {
    header("Authorization", format!("Bearer {TOKEN}").as_str())
}

/// One page of `p` (first when `cont` is None), answering `body`, hit exactly once.
async fn page(server: &MockServer, p: &str, cont: Option<&str>, body: Value) {
    let m = Mock::given(method("GET"))
        .and(path(p))
        .and(query_param("limit", "500"))
        .and(bearer());
    let m = match cont {
        Some(c) => m.and(query_param("continue", c)),
        None => m.and(query_param_is_missing("continue")),
    };
    m.respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

async fn cluster() -> MockServer {
    let server = MockServer::start().await;
    page(
        &server,
        &format!("{RBAC}/roles"),
        None,
        list(items("k8s-docs-role-pod-reader.yaml"), Some("roles-page-2")),
    )
    .await;
    page(
        &server,
        &format!("{RBAC}/roles"),
        Some("roles-page-2"),
        list(
            items("k8s-docs-role-configmap-updater-resourcenames.yaml"),
            None,
        ),
    )
    .await;
    let mut cluster_roles = items("k8s-bootstrap-cluster-roles.excerpt.yaml");
    cluster_roles.extend(items("k8s-docs-clusterrole-secret-reader.yaml"));
    page(
        &server,
        &format!("{RBAC}/clusterroles"),
        None,
        list(cluster_roles, Some("")),
    )
    .await;
    let mut rbs = items("k8s-docs-rolebinding-read-pods.yaml");
    rbs.extend(items("k8s-docs-rolebinding-read-secrets-clusterrole.yaml"));
    page(
        &server,
        &format!("{RBAC}/rolebindings"),
        None,
        list(rbs, None),
    )
    .await;
    let mut crbs = items("k8s-bootstrap-cluster-role-bindings.v1beta1.yaml");
    crbs.extend(items(
        "k8s-apiserver-clusterrolebinding-cluster-admin.from-audit-responseObject.json",
    ));
    page(
        &server,
        &format!("{RBAC}/clusterrolebindings"),
        None,
        list(crbs, None),
    )
    .await;
    let secrets_file = items("k8s-legacy-token-secrets.handwritten.yaml");
    let sas: Vec<Value> = secrets_file
        .iter()
        .filter(|o| o.get("secrets").is_some())
        .cloned()
        .collect();
    page(&server, "/api/v1/serviceaccounts", None, list(sas, None)).await;
    let token_secrets: Vec<Value> = secrets_file
        .into_iter()
        .filter(|o| o["type"] == "kubernetes.io/service-account-token")
        .collect();
    Mock::given(method("GET"))
        .and(path("/api/v1/secrets"))
        .and(query_param(
            "fieldSelector",
            "type=kubernetes.io/service-account-token",
        ))
        .and(query_param("limit", "500"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(list(token_secrets, None)))
        .expect(1)
        .mount(&server)
        .await;
    server
}

fn has(inv: &portcullis_model::Inventory, fk: NodeKind, f: &str, tk: NodeKind, t: &str) -> bool {
    inv.grants.contains(&Grant {
        from_kind: fk,
        from_id: f.into(),
        to_kind: tk,
        to_id: t.into(),
    })
}

#[tokio::test]
async fn inventory_lists_every_endpoint_to_the_last_page() {
    let server = cluster().await;
    let inv = k8s(&server.uri()).inventory(&|_| {}).await.unwrap();
    assert!(inv
        .roles
        .iter()
        .any(|r| r.external_id == "Role/default/pod-reader"));
    assert!(
        inv.roles
            .iter()
            .any(|r| r.external_id == "Role/default/configmap-updater"),
        "second page"
    );
    assert!(has(
        &inv,
        NodeKind::Role,
        "ClusterRole/admin",
        NodeKind::Role,
        "ClusterRole/edit"
    ));
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
        "RoleBinding/development/read-secrets",
        NodeKind::Role,
        "ClusterRole/secret-reader@development"
    ));
    assert!(has(
        &inv,
        NodeKind::Principal,
        "minikube",
        NodeKind::Role,
        "ClusterRoleBinding/some-reader-binding"
    ));
    assert_eq!(inv.credentials.len(), 2);
    assert!(inv.principals.iter().any(|p| p.external_id
        == "system:serviceaccount:default:build-robot"
        && p.attrs["declared"] == true));
    let text = serde_json::to_string(&inv).unwrap();
    assert!(!text.contains("fake-legacy-token"));
    assert!(!text.contains(TOKEN));
}

#[tokio::test]
async fn without_the_right_to_list_secrets_the_sync_goes_on() {
    let server = MockServer::start().await;
    for p in [
        "roles",
        "clusterroles",
        "rolebindings",
        "clusterrolebindings",
    ] {
        page(&server, &format!("{RBAC}/{p}"), None, list(vec![], None)).await;
    }
    page(&server, "/api/v1/serviceaccounts", None, list(vec![], None)).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/secrets"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "secrets is forbidden: User \"system:serviceaccount:portcullis:reader\" cannot list resource \"secrets\" in API group \"\" at the cluster scope",
            "reason": "Forbidden", "code": 403
        })))
        .mount(&server)
        .await;
    let messages = std::sync::Mutex::new(Vec::new());
    let inv = k8s(&server.uri())
        .inventory(&|p| {
            if let portcullis_model::Progress::Finished { message, .. } = p {
                messages.lock().unwrap().push(message)
            }
        })
        .await
        .unwrap();
    assert!(inv.credentials.is_empty());
    assert!(messages.lock().unwrap()[0].contains("secrets"));
}

#[tokio::test]
async fn error_statuses_map_to_codes() {
    for (status, code) in [
        (401, ErrorCode::Unauthorized),
        (403, ErrorCode::Forbidden),
        (500, ErrorCode::BackendError),
        (404, ErrorCode::NotFound),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!("{RBAC}/roles")))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({
                "kind": "Status", "status": "Failure", "message": format!("status {status}"), "code": status
            })))
            .mount(&server)
            .await;
        let err = k8s(&server.uri()).inventory(&|_| {}).await.unwrap_err();
        assert_eq!(err.code(), code, "{status}: {err}");
        if status == 403 {
            assert!(err.to_string().contains("list roles"), "{err}");
        }
    }
}

#[tokio::test]
async fn a_malformed_list_is_reported_not_a_panic() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{RBAC}/roles")))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"items\": [ {\"metadata\": "))
        .mount(&server)
        .await;
    let err = k8s(&server.uri()).inventory(&|_| {}).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Malformed);
    assert!(err.to_string().contains("line 1 column"), "{err}");
}

#[tokio::test]
async fn check_names_the_identity_version_and_each_right() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/version"))
        .and(bearer())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"major": "1", "minor": "29", "gitVersion": "v1.29.2"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/apis/authentication.k8s.io/v1/selfsubjectreviews"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
            "status": {"userInfo": {"username": "system:serviceaccount:portcullis:reader", "groups": ["system:serviceaccounts"]}}
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        ))
        .and(body_partial_json(
            json!({"spec": {"resourceAttributes": {"resource": "secrets"}}}),
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"status": {"allowed": false}})),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        ))
        .and(bearer())
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"status": {"allowed": true, "reason": "RBAC: allowed"}})),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let report = k8s(&server.uri()).check().await.unwrap();
    assert_eq!(report.server.as_deref(), Some("Kubernetes v1.29.2"));
    assert_eq!(
        report.identity.as_deref(),
        Some("system:serviceaccount:portcullis:reader")
    );
    let right = |r: &str| report.rights.iter().find(|x| x.right == r).unwrap().granted;
    assert!(right("list rbac.authorization.k8s.io/roles cluster-wide"));
    assert!(!right("list core/secrets cluster-wide"));
    assert!(!right("delete core/secrets cluster-wide"));
    assert_eq!(report.rights.len(), 13);
}

#[tokio::test]
async fn check_with_a_bad_token_is_unauthorized() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/version"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "kind": "Status", "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401
        })))
        .mount(&server)
        .await;
    let err = k8s(&server.uri()).check().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unauthorized);
}

fn read_pods_binding(subjects: Value) -> Value {
    let mut b = object("k8s-docs-rolebinding-read-pods.yaml");
    b["kind"] = "RoleBinding".into();
    b["metadata"]["resourceVersion"] = "12345".into();
    b["subjects"] = subjects;
    b
}

fn jane() -> Value {
    json!({"kind": "User", "name": "jane", "apiGroup": "rbac.authorization.k8s.io"})
}

fn robot() -> Value {
    json!({"kind": "ServiceAccount", "name": "build-robot", "namespace": "default"})
}

fn subject_grant(pid: &str) -> RevokeTarget {
    RevokeTarget::Grant(Grant {
        from_kind: NodeKind::Principal,
        from_id: pid.into(),
        to_kind: NodeKind::Role,
        to_id: "RoleBinding/default/read-pods".into(),
    })
}

const BINDING: &str =
    "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/read-pods";

#[tokio::test]
async fn removing_a_subject_puts_the_binding_back_without_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(BINDING))
        .and(bearer())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(read_pods_binding(json!([jane(), robot()]))),
        )
        .expect(2)
        .mount(&server)
        .await;
    // A concurrent writer changed the binding: the first PUT conflicts, the retry lands.
    Mock::given(method("PUT"))
        .and(path(BINDING))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "kind": "Status", "status": "Failure", "reason": "Conflict", "code": 409,
            "message": "Operation cannot be fulfilled on rolebindings.rbac.authorization.k8s.io \"read-pods\": the object has been modified; please apply your changes to the latest version and try again"
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(BINDING))
        .and(bearer())
        .and(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            body["metadata"]["resourceVersion"] == "12345" && body["subjects"] == json!([robot()])
        })
        .respond_with(ResponseTemplate::new(200).set_body_json(read_pods_binding(json!([robot()]))))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    let receipt = k8s(&server.uri())
        .revoke(&subject_grant("jane"))
        .await
        .unwrap();
    assert_eq!(
        receipt.action,
        format!("PUT {BINDING} without subject jane")
    );
    assert_eq!(receipt.detail["subjects_left"], 1);
}

#[tokio::test]
async fn removing_a_subject_that_is_not_there_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(BINDING))
        .respond_with(ResponseTemplate::new(200).set_body_json(read_pods_binding(json!([robot()]))))
        .mount(&server)
        .await;
    let err = k8s(&server.uri())
        .revoke(&subject_grant("jane"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
}

async fn pod_reader(server: &MockServer) {
    let mut role = object("k8s-docs-role-pod-reader.yaml");
    role["kind"] = "Role".into();
    Mock::given(method("GET"))
        .and(path(format!("{RBAC}/namespaces/default/roles/pod-reader")))
        .respond_with(ResponseTemplate::new(200).set_body_json(role))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_removed_subject_is_proved_dead_by_a_subject_access_review() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(BINDING))
        .respond_with(ResponseTemplate::new(200).set_body_json(read_pods_binding(json!([robot()]))))
        .mount(&server)
        .await;
    pod_reader(&server).await;
    Mock::given(method("POST"))
        .and(path("/apis/authorization.k8s.io/v1/subjectaccessreviews"))
        .and(bearer())
        .and(body_partial_json(json!({
            "kind": "SubjectAccessReview",
            "spec": {
                "user": "jane",
                "resourceAttributes": {"verb": "get", "group": "", "resource": "pods", "namespace": "default"}
            }
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"status": {"allowed": false}})))
        .expect(1)
        .mount(&server)
        .await;
    let v = k8s(&server.uri())
        .verify_revoked(&subject_grant("jane"))
        .await
        .unwrap();
    assert!(v.dead, "{}", v.evidence);
    assert!(v.evidence.contains("allowed: false"), "{}", v.evidence);
}

#[tokio::test]
async fn access_granted_elsewhere_is_not_dead() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(BINDING))
        .respond_with(ResponseTemplate::new(200).set_body_json(read_pods_binding(json!([jane()]))))
        .mount(&server)
        .await;
    pod_reader(&server).await;
    Mock::given(method("POST"))
        .and(path("/apis/authorization.k8s.io/v1/subjectaccessreviews"))
        .and(body_partial_json(json!({
            "spec": {
                "user": "system:serviceaccount:default:build-robot",
                "groups": ["system:authenticated", "system:serviceaccounts", "system:serviceaccounts:default"]
            }
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "status": {"allowed": true, "reason": "RBAC: allowed by ClusterRoleBinding \"view-all\" of ClusterRole \"view\" to Group \"system:serviceaccounts\""}
        })))
        .mount(&server)
        .await;
    let k = k8s(&server.uri());
    // Still a subject: not dead, without asking for a review.
    let v = k.verify_revoked(&subject_grant("jane")).await.unwrap();
    assert!(!v.dead);
    assert!(v.evidence.contains("still lists jane"), "{}", v.evidence);
    // Removed, but a group binding still grants it.
    let v = k
        .verify_revoked(&subject_grant("system:serviceaccount:default:build-robot"))
        .await
        .unwrap();
    assert!(!v.dead);
    assert!(v.evidence.contains("view-all"), "{}", v.evidence);
}

#[tokio::test]
async fn deleting_a_binding_and_a_token_secret_then_verifying_by_404() {
    let server = MockServer::start().await;
    let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"});
    Mock::given(method("DELETE"))
        .and(path(format!(
            "{RBAC}/clusterrolebindings/some-reader-binding"
        )))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(status.clone()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(
            "/api/v1/namespaces/default/secrets/build-robot-secret",
        ))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(status))
        .expect(1)
        .mount(&server)
        .await;
    let k = k8s(&server.uri());
    let binding = RevokeTarget::Grant(Grant {
        from_kind: NodeKind::Role,
        from_id: "ClusterRoleBinding/some-reader-binding".into(),
        to_kind: NodeKind::Role,
        to_id: "ClusterRole/cluster-admin".into(),
    });
    let r = k.revoke(&binding).await.unwrap();
    assert_eq!(
        r.action,
        format!("DELETE {RBAC}/clusterrolebindings/some-reader-binding")
    );
    let secret = RevokeTarget::Credential {
        kind: CredentialKind::ApiKey,
        external_id: "Secret/default/build-robot-secret".into(),
    };
    k.revoke(&secret).await.unwrap();
    // Both are gone now (wiremock answers 404 to the re-reads).
    assert!(k.verify_revoked(&binding).await.unwrap().dead);
    assert!(k.verify_revoked(&secret).await.unwrap().dead);
    // A binding that is still there is not dead.
    Mock::given(method("GET"))
        .and(path(format!(
            "{RBAC}/clusterrolebindings/some-reader-binding"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(object(
            "k8s-apiserver-clusterrolebinding-cluster-admin.from-audit-responseObject.json",
        )))
        .mount(&server)
        .await;
    assert!(!k.verify_revoked(&binding).await.unwrap().dead);
}

#[tokio::test]
async fn what_kubernetes_cannot_revoke_is_unsupported() {
    let server = MockServer::start().await;
    let k = k8s(&server.uri());
    for target in [
        RevokeTarget::Grant(Grant {
            from_kind: NodeKind::Role,
            from_id: "ClusterRole/admin".into(),
            to_kind: NodeKind::Role,
            to_id: "ClusterRole/edit".into(),
        }),
        RevokeTarget::Grant(Grant {
            from_kind: NodeKind::Role,
            from_id: "Role/default/pod-reader".into(),
            to_kind: NodeKind::Permission,
            to_id: "get ns:default/core/pods".into(),
        }),
        RevokeTarget::Login {
            principal: "jane".into(),
        },
    ] {
        assert_eq!(
            k.revoke(&target).await.unwrap_err().code(),
            ErrorCode::Unsupported
        );
    }
}

fn fake_jwt(claims: Value) -> String {
    let e = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.c2ln", e(&json!({"alg": "RS256"})), e(&claims))
}

#[tokio::test]
async fn token_triage_asks_a_token_review() {
    let server = MockServer::start().await;
    let token = fake_jwt(
        json!({"iat": 1714557600, "exp": 1714561200, "sub": "system:serviceaccount:default:build-robot"}),
    );
    Mock::given(method("POST"))
        .and(path("/apis/authentication.k8s.io/v1/tokenreviews"))
        .and(bearer())
        .and(body_partial_json(json!({"kind": "TokenReview", "spec": {"token": token}})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
            "status": {
                "authenticated": true,
                "user": {
                    "username": "system:serviceaccount:default:build-robot",
                    "uid": "0b6f1c2a-1111-4a2b-9c3d-000000000001",
                    "groups": ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"],
                    "extra": {"authentication.kubernetes.io/credential-id": ["JTI=7c1d"]}
                },
                "audiences": ["https://kubernetes.default.svc"]
            }
        })))
        .mount(&server)
        .await;
    let k = k8s(&server.uri());
    let info = k
        .lookup_token(&SecretString::from(token.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        info.subject.as_deref(),
        Some("system:serviceaccount:default:build-robot")
    );
    assert_eq!(info.external_id.as_deref(), Some("JTI=7c1d"));
    assert_eq!(info.fingerprint, portcullis_connectors::fingerprint(&token));
    assert_eq!(info.expires_at.map(|t| t.timestamp()), Some(1714561200));
    assert_eq!(
        info.audience,
        vec!["https://kubernetes.default.svc".to_string()]
    );
    assert!(!serde_json::to_string(&info).unwrap().contains(&token));
    // An unknown token: not recognised.
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/apis/authentication.k8s.io/v1/tokenreviews"))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"status": {"authenticated": false, "error": "invalid bearer token"}}),
        ))
        .mount(&server)
        .await;
    assert!(k
        .lookup_token(&SecretString::from("nope".to_string()))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_file_url_reads_kubectl_output_offline_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "k8s-docs-role-pod-reader.yaml",
        "k8s-docs-rolebinding-read-pods.yaml",
    ] {
        std::fs::copy(fixture_path(name), dir.path().join(name)).unwrap();
    }
    let url = url::Url::from_directory_path(dir.path()).unwrap();
    let k = Kubernetes::new(BackendConfig {
        name: "snapshot".into(),
        kind: BackendKind::Kubernetes,
        url: url.to_string(),
        secret: None,
        timeout: Duration::from_secs(1),
        audit_log: None,
    })
    .unwrap();
    let inv = k.inventory(&|_| {}).await.unwrap();
    assert!(has(
        &inv,
        NodeKind::Principal,
        "jane",
        NodeKind::Role,
        "RoleBinding/default/read-pods"
    ));
    let report = k.check().await.unwrap();
    assert!(report.server.unwrap().contains("1 Roles"));
    assert!(!k.capabilities().revoke);
    let err = k.revoke(&subject_grant("jane")).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unsupported);
}

#[tokio::test]
async fn audit_reads_the_api_server_log_named_in_the_backend() {
    let server = MockServer::start().await;
    let k = Kubernetes::new(BackendConfig {
        name: "cluster".into(),
        kind: BackendKind::Kubernetes,
        url: server.uri(),
        secret: None,
        timeout: Duration::from_secs(1),
        audit_log: Some(fixture_path("k8s-audit-v1.handwritten.jsonl")),
    })
    .unwrap();
    let mut sink = VecAuditSink::default();
    let cursor = k.audit(None, &mut sink).await.unwrap();
    // 9 lines, of which RequestReceived and ResponseStarted only open a request.
    assert_eq!(sink.events.len(), 7);
    assert!(cursor.is_some());
}
