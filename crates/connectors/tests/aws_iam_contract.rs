//! The IAM wire contract of every call the connector makes, against answers recorded from
//! moto_server (`tests/fixtures/aws_iam/`, PROVENANCE.md) served by a local mock: each request is
//! `POST /` with the form `Action=…&Version=2010-05-08`, a SigV4 `Authorization` for `iam` in
//! `us-east-1` and an `X-Amz-Date`; listings are followed through `Marker` to the last page;
//! IAM's error codes become the crate's typed errors; a redirect to another origin is refused.

use portcullis_connectors::aws_iam::api::{Api, Call};
use portcullis_connectors::aws_iam::{policy, xml, AwsIam};
use portcullis_connectors::http::Http;
use portcullis_connectors::{Connector, RevokeTarget};
use portcullis_model::{CredentialKind, ErrorCode};
use secrecy::SecretString;
use std::time::Duration;
use wiremock::matchers::{body_string_contains, header_exists, header_regex, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn fixture(name: &str) -> String {
    let p = format!(
        "{}/tests/fixtures/aws_iam/{name}.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn api(server: &MockServer) -> Api {
    Api::new(
        Http::new("IAM mock", Duration::from_secs(5)).unwrap(),
        url::Url::parse(&format!("{}/", server.uri())).unwrap(),
        "AKIACONTRACT".into(),
        Some(SecretString::from("contract-secret".to_string())),
    )
}

/// The request shape every IAM call must have.
fn iam_call(action: &str) -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/"))
        .and(body_string_contains(format!("Action={action}&Version=2010-05-08")))
        .and(header_regex("content-type", "^application/x-www-form-urlencoded"))
        .and(header_regex(
            "authorization",
            r"^AWS4-HMAC-SHA256 Credential=AKIACONTRACT/\d{8}/us-east-1/iam/aws4_request, SignedHeaders=[a-z;-]*host[a-z;-]*, Signature=[0-9a-f]{64}$",
        ))
        .and(header_exists("x-amz-date"))
}

fn xml_answer(status: u16, name: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "text/xml")
        .set_body_string(fixture(name))
}

#[tokio::test]
async fn every_read_call_is_a_signed_form_and_its_answer_parses() {
    let server = MockServer::start().await;
    for (action, file) in [
        ("ListUsers", "ListUsers"),
        ("ListAccessKeys", "ListAccessKeys"),
        ("GetAccessKeyLastUsed", "GetAccessKeyLastUsed"),
        ("ListAttachedGroupPolicies", "ListAttachedGroupPolicies"),
        ("GetPolicy", "GetPolicy"),
        ("GetPolicyVersion", "GetPolicyVersion"),
        ("GetUserPolicy", "GetUserPolicy"),
    ] {
        iam_call(action)
            .respond_with(xml_answer(200, file))
            .expect(1)
            .mount(&server)
            .await;
    }
    let a = api(&server);
    let users = a.list("ListUsers", &[], "Users", xml::user).await.unwrap();
    assert!(users.iter().any(|u| u.name == "rhea"), "{users:?}");
    assert!(users.iter().all(|u| u.arn.is_some() && u.created.is_some()));
    let keys = a
        .list(
            "ListAccessKeys",
            &[("UserName", "oskar")],
            "AccessKeyMetadata",
            xml::access_key,
        )
        .await
        .unwrap();
    let statuses: Vec<&str> = keys.iter().map(|k| k.status.as_str()).collect();
    assert_eq!(statuses.len(), 2);
    assert!(statuses.contains(&"Active") && statuses.contains(&"Inactive"));
    let body = a
        .call("GetAccessKeyLastUsed", &[("AccessKeyId", "K")], Call::Read)
        .await
        .unwrap();
    let used = xml::last_used(&body).unwrap();
    assert_eq!(used.user.as_deref(), Some("rhea"));
    assert!(used.at.is_some());
    assert_eq!(used.service.as_deref(), Some("iam"));
    let attached = a
        .list(
            "ListAttachedGroupPolicies",
            &[("GroupName", "developers")],
            "AttachedPolicies",
            xml::attached,
        )
        .await
        .unwrap();
    assert_eq!(attached[0].name, "acme-developers");
    let body = a
        .call("GetPolicy", &[("PolicyArn", "x")], Call::Read)
        .await
        .unwrap();
    assert_eq!(
        xml::get_policy(&body).unwrap().default_version.as_deref(),
        Some("v1")
    );
    let body = a
        .call(
            "GetPolicyVersion",
            &[("PolicyArn", "x"), ("VersionId", "v1")],
            Call::Read,
        )
        .await
        .unwrap();
    let statements = policy::parse(&xml::policy_version(&body).unwrap()).unwrap();
    assert_eq!(statements.len(), 3);
    assert!(statements[2].is_deny());
    let body = a
        .call(
            "GetUserPolicy",
            &[("UserName", "ines"), ("PolicyName", "p")],
            Call::Read,
        )
        .await
        .unwrap();
    let inline = policy::parse(&xml::inline_document(&body, "GetUserPolicy").unwrap()).unwrap();
    assert!(inline[0].not_resource.is_some());
}

#[tokio::test]
async fn listings_follow_the_marker_to_the_last_page() {
    let server = MockServer::start().await;
    iam_call("ListRoles")
        .and(body_string_contains("Marker=1"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            "<ListRolesResponse><ListRolesResult><Roles><member><RoleName>last</RoleName></member></Roles><IsTruncated>false</IsTruncated></ListRolesResult></ListRolesResponse>",
        ))
        .expect(1)
        .mount(&server)
        .await;
    iam_call("ListRoles")
        .and(body_string_contains("MaxItems=1"))
        .respond_with(|r: &Request| {
            if String::from_utf8_lossy(&r.body).contains("Marker=") {
                ResponseTemplate::new(500)
            } else {
                xml_answer(200, "ListRoles-page1")
            }
        })
        .expect(1..)
        .mount(&server)
        .await;
    let roles = api(&server)
        .with_page_size(1)
        .list("ListRoles", &[], "Roles", xml::role)
        .await
        .unwrap();
    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names[1], "last");
}

#[tokio::test]
async fn a_marker_that_repeats_is_malformed_not_a_loop() {
    let server = MockServer::start().await;
    iam_call("ListRoles")
        .respond_with(xml_answer(200, "ListRoles-page1"))
        .mount(&server)
        .await;
    let err = api(&server)
        .list("ListRoles", &[], "Roles", xml::role)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Malformed, "{err}");
}

#[tokio::test]
async fn iam_error_codes_become_typed_errors() {
    let server = MockServer::start().await;
    let throttled = "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>";
    for (action, status, body) in [
        ("GetAccessKeyLastUsed", 404, fixture("error-NoSuchEntity")),
        ("CreateUser", 403, fixture("error-AccessDenied")),
        ("ListUsers", 403, fixture("error-InvalidClientTokenId")),
        // Hand-written from the IAM API reference (moto does not throttle): AWS says 400.
        ("ListGroups", 400, throttled.to_string()),
        ("ListRoles", 500, "internal".to_string()),
    ] {
        iam_call(action)
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .mount(&server)
            .await;
    }
    let a = api(&server);
    let code = |r: Result<Vec<u8>, portcullis_connectors::ConnectorError>| {
        let e = r.unwrap_err();
        (e.code(), e.to_string())
    };
    let (c, m) = code(a.call("GetAccessKeyLastUsed", &[], Call::Read).await);
    assert_eq!(c, ErrorCode::NotFound, "{m}");
    let (c, m) = code(a.call("CreateUser", &[], Call::Change).await);
    assert_eq!(c, ErrorCode::Forbidden, "{m}");
    assert!(m.contains("iam:CreateUser"), "{m}");
    let (c, m) = code(a.call("ListUsers", &[], Call::Read).await);
    assert_eq!(c, ErrorCode::Unauthorized, "{m}");
    let (c, m) = code(a.call("ListGroups", &[], Call::Change).await);
    assert_eq!(c, ErrorCode::RateLimited, "{m}");
    let (c, m) = code(a.call("ListRoles", &[], Call::Change).await);
    assert_eq!(c, ErrorCode::BackendError, "{m}");
}

#[tokio::test]
async fn revocation_deactivates_then_deletes_and_verification_rereads() {
    let server = MockServer::start().await;
    let last_used = fixture("GetAccessKeyLastUsed");
    iam_call("GetAccessKeyLastUsed")
        .and(body_string_contains("AccessKeyId=AKIAREVOKE"))
        .respond_with(ResponseTemplate::new(200).set_body_string(last_used))
        .mount(&server)
        .await;
    iam_call("UpdateAccessKey")
        .and(body_string_contains(
            "UserName=rhea&AccessKeyId=AKIAREVOKE&Status=Inactive",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string("<UpdateAccessKeyResponse/>"))
        .expect(1)
        .mount(&server)
        .await;
    iam_call("DeleteAccessKey")
        .and(body_string_contains("UserName=rhea&AccessKeyId=AKIAREVOKE"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<DeleteAccessKeyResponse/>"))
        .expect(1)
        .mount(&server)
        .await;
    iam_call("ListAccessKeys")
        .and(body_string_contains("UserName=rhea"))
        .respond_with(xml_answer(200, "ListAccessKeys"))
        .mount(&server)
        .await;
    let c = AwsIam::from_api(api(&server));
    let target = RevokeTarget::Credential {
        kind: CredentialKind::ApiKey,
        external_id: "AKIAREVOKE".into(),
    };
    let receipt = c.revoke(&target).await.unwrap();
    assert!(receipt
        .action
        .starts_with("UpdateAccessKey Status=Inactive, then DeleteAccessKey"));
    // The recorded listing (oskar's keys) does not hold AKIAREVOKE: dead.
    let v = c.verify_revoked(&target).await.unwrap();
    assert!(v.dead, "{v:?}");
    assert!(v.evidence.contains("ListAccessKeys"), "{}", v.evidence);
    // Only access keys are revoked here.
    let grants = RevokeTarget::Login {
        principal: "user/rhea".into(),
    };
    assert_eq!(
        c.revoke(&grants).await.unwrap_err().code(),
        ErrorCode::Unsupported
    );
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_refused_with_the_signature() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(307).insert_header("location", "http://127.0.0.2:9/steal"),
        )
        .mount(&server)
        .await;
    let err = api(&server)
        .call("ListUsers", &[], Call::Read)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Redirected, "{err}");
}
