//! IAM's answers (AWS Query protocol: XML documents) → typed values, as pure functions of the
//! bytes, so the fuzz target `aws_iam_xml` can drive them without a server.
//!
//! Hostile input is expected: no DTD (roxmltree refuses one), a cap on the number of nodes, no
//! recursion over the document's depth (lookups walk children and descendants iteratively),
//! every field optional until the mapping decides it is required, and a parse failure is a
//! `String` the caller turns into `ConnectorError::Malformed`.

use chrono::{DateTime, Utc};
use roxmltree::{Document, Node, ParsingOptions};

/// Nodes parsed at most in one answer: a page of 1000 users with a dozen fields each is ~40 000.
pub const MAX_NODES: u32 = 2_000_000;

/// Parses an answer; text that is not UTF-8 or not XML is an error, never a panic.
pub fn document(body: &[u8]) -> Result<Document<'_>, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("not UTF-8: {e}"))?;
    Document::parse_with_options(
        text,
        ParsingOptions {
            allow_dtd: false,
            nodes_limit: MAX_NODES,
            ..ParsingOptions::default()
        },
    )
    .map_err(|e| format!("not XML: {e}"))
}

/// The first child element called `name` (namespaces ignored: IAM's are all the same).
pub fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

/// The text of the child element `name`, trimmed; None when absent or empty.
pub fn text(node: Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name)
        .and_then(|c| c.text())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// The `member` elements of the list element `name`.
pub fn members<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Vec<Node<'a, 'i>> {
    child(node, name)
        .map(|list| {
            list.children()
                .filter(|c| c.is_element() && c.tag_name().name() == "member")
                .collect()
        })
        .unwrap_or_default()
}

/// `<{Action}Response><{Action}Result>`: the result element of an action's answer.
pub fn result<'a, 'i>(doc: &'a Document<'i>, action: &str) -> Result<Node<'a, 'i>, String> {
    let root = doc.root_element();
    let want = format!("{action}Result");
    child(root, &want).ok_or_else(|| {
        format!(
            "expected <{action}Response><{want}>, got <{}>",
            root.tag_name().name()
        )
    })
}

/// IAM timestamps are ISO 8601 (`2026-12-07T20:50:09Z`, sometimes with fractions or an offset).
pub fn time(node: Node<'_, '_>, name: &str) -> Option<DateTime<Utc>> {
    let t = text(node, name)?;
    DateTime::parse_from_rfc3339(&t)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// One page of a listing: its items and the marker of the next page, if truncated.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Reads a listing page: `<{list}><member>…</member></{list}>`, `IsTruncated`, `Marker`. A
/// truncated page without a marker is malformed (the listing could not go on).
pub fn page<T>(
    body: &[u8],
    action: &str,
    list: &str,
    item: impl Fn(Node<'_, '_>) -> Result<T, String>,
) -> Result<Page<T>, String> {
    let doc = document(body)?;
    let res = result(&doc, action)?;
    let items = members(res, list)
        .into_iter()
        .map(item)
        .collect::<Result<Vec<T>, String>>()?;
    let truncated = text(res, "IsTruncated").is_some_and(|t| t.eq_ignore_ascii_case("true"));
    let next = if truncated {
        Some(text(res, "Marker").ok_or("IsTruncated is true but there is no Marker")?)
    } else {
        None
    };
    Ok(Page { items, next })
}

/// A field the item cannot do without.
pub fn required(node: Node<'_, '_>, name: &str) -> Result<String, String> {
    text(node, name).ok_or_else(|| {
        format!(
            "<{}> without <{name}>",
            node.tag_name().name().chars().take(64).collect::<String>()
        )
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub name: String,
    pub id: Option<String>,
    pub arn: Option<String>,
    pub path: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub password_last_used: Option<DateTime<Utc>>,
}

pub fn user(n: Node<'_, '_>) -> Result<User, String> {
    Ok(User {
        name: required(n, "UserName")?,
        id: text(n, "UserId"),
        arn: text(n, "Arn"),
        path: text(n, "Path"),
        created: time(n, "CreateDate"),
        password_last_used: time(n, "PasswordLastUsed"),
    })
}

/// A group, or a role (`RoleName`), or an attached policy (`PolicyName` + `PolicyArn`): a name,
/// an id, an ARN.
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    pub name: String,
    pub id: Option<String>,
    pub arn: Option<String>,
    pub created: Option<DateTime<Utc>>,
    /// A role's trust policy (URL-encoded JSON, as IAM sends it); a policy's default version.
    pub document: Option<String>,
    pub default_version: Option<String>,
}

fn named(n: Node<'_, '_>, name: &str, id: &str, arn: &str) -> Result<Named, String> {
    Ok(Named {
        name: required(n, name)?,
        id: text(n, id),
        arn: text(n, arn),
        created: time(n, "CreateDate"),
        document: text(n, "AssumeRolePolicyDocument"),
        default_version: text(n, "DefaultVersionId"),
    })
}

pub fn group(n: Node<'_, '_>) -> Result<Named, String> {
    named(n, "GroupName", "GroupId", "Arn")
}

pub fn role(n: Node<'_, '_>) -> Result<Named, String> {
    named(n, "RoleName", "RoleId", "Arn")
}

pub fn policy(n: Node<'_, '_>) -> Result<Named, String> {
    named(n, "PolicyName", "PolicyId", "Arn")
}

pub fn attached(n: Node<'_, '_>) -> Result<Named, String> {
    let mut a = named(n, "PolicyName", "PolicyId", "PolicyArn")?;
    if a.arn.is_none() {
        return Err("an attached policy without <PolicyArn>".into());
    }
    a.id = None;
    Ok(a)
}

/// A bare string member (`ListUserPolicies` → `PolicyNames`).
pub fn string(n: Node<'_, '_>) -> Result<String, String> {
    n.text()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .ok_or_else(|| "an empty <member>".into())
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccessKey {
    pub id: String,
    pub user: Option<String>,
    /// `Active` or `Inactive`.
    pub status: String,
    pub created: Option<DateTime<Utc>>,
}

pub fn access_key(n: Node<'_, '_>) -> Result<AccessKey, String> {
    Ok(AccessKey {
        id: required(n, "AccessKeyId")?,
        user: text(n, "UserName"),
        status: required(n, "Status")?,
        created: time(n, "CreateDate"),
    })
}

/// `GetAccessKeyLastUsed`: whose key it is and when it last signed a request.
#[derive(Debug, Clone, PartialEq)]
pub struct LastUsed {
    pub user: Option<String>,
    pub at: Option<DateTime<Utc>>,
    pub service: Option<String>,
    pub region: Option<String>,
}

pub fn last_used(body: &[u8]) -> Result<LastUsed, String> {
    let doc = document(body)?;
    let res = result(&doc, "GetAccessKeyLastUsed")?;
    let used = child(res, "AccessKeyLastUsed");
    let field = |name: &str| used.and_then(|u| text(u, name)).filter(|v| v != "N/A");
    Ok(LastUsed {
        user: text(res, "UserName"),
        at: used.and_then(|u| time(u, "LastUsedDate")),
        service: field("ServiceName"),
        region: field("Region"),
    })
}

/// `GetUser` without a name: the caller.
pub fn caller(body: &[u8]) -> Result<User, String> {
    let doc = document(body)?;
    let res = result(&doc, "GetUser")?;
    child(res, "User")
        .ok_or_else(|| "GetUserResult without <User>".to_string())
        .and_then(user)
}

/// `GetPolicy`: the policy with its default version id.
pub fn get_policy(body: &[u8]) -> Result<Named, String> {
    let doc = document(body)?;
    let res = result(&doc, "GetPolicy")?;
    child(res, "Policy")
        .ok_or_else(|| "GetPolicyResult without <Policy>".to_string())
        .and_then(policy)
}

/// `GetPolicyVersion`: the version's document (URL-encoded JSON).
pub fn policy_version(body: &[u8]) -> Result<String, String> {
    let doc = document(body)?;
    let res = result(&doc, "GetPolicyVersion")?;
    child(res, "PolicyVersion")
        .and_then(|v| text(v, "Document"))
        .ok_or_else(|| "GetPolicyVersionResult without <PolicyVersion><Document>".into())
}

/// `Get{User,Group,Role}Policy`: an inline policy's document.
pub fn inline_document(body: &[u8], action: &str) -> Result<String, String> {
    let doc = document(body)?;
    let res = result(&doc, action)?;
    text(res, "PolicyDocument").ok_or_else(|| format!("{action}Result without <PolicyDocument>"))
}

/// An error answer: `<ErrorResponse><Error><Code>…` (or `<Response><Errors><Error>`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AwsError {
    pub code: String,
    pub message: String,
}

/// Reads an error answer; None when the body holds no `<Error>` element.
pub fn error(body: &[u8]) -> Option<AwsError> {
    let doc = document(body).ok()?;
    let err = doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "Error")?;
    Some(AwsError {
        code: text(err, "Code").unwrap_or_default(),
        message: text(err, "Message").unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const USERS: &str = r#"<ListUsersResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <ListUsersResult>
    <Users>
      <member><UserName>ana</UserName><UserId>AIDA1</UserId><Arn>arn:aws:iam::123456789012:user/ana</Arn><Path>/</Path><CreateDate>2026-12-07T20:50:09.123Z</CreateDate></member>
      <member><UserName>bo</UserName></member>
    </Users>
    <IsTruncated>true</IsTruncated>
    <Marker>m2</Marker>
  </ListUsersResult>
</ListUsersResponse>"#;

    #[test]
    fn a_page_with_its_marker() {
        let p = page(USERS.as_bytes(), "ListUsers", "Users", user).unwrap();
        assert_eq!(p.items.len(), 2);
        assert_eq!(p.items[0].name, "ana");
        assert_eq!(p.items[0].id.as_deref(), Some("AIDA1"));
        assert!(p.items[0].created.is_some());
        assert_eq!(p.next.as_deref(), Some("m2"));
    }

    #[test]
    fn hostile_answers_are_errors() {
        for bad in [
            &b"\xff\xfe"[..],
            b"<a>",
            b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",
            b"<ListUsersResponse><ListUsersResult><Users><member/></Users></ListUsersResult></ListUsersResponse>",
            b"<ListUsersResponse><ListUsersResult><IsTruncated>true</IsTruncated></ListUsersResult></ListUsersResponse>",
            b"<Other/>",
        ] {
            assert!(
                page(bad, "ListUsers", "Users", user).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = "<a>".repeat(100_000);
        assert!(page(deep.as_bytes(), "ListUsers", "Users", user).is_err());
    }

    #[test]
    fn errors_in_both_shapes() {
        let e = error(b"<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>gone</Message></Error></ErrorResponse>").unwrap();
        assert_eq!(e.code, "NoSuchEntity");
        assert_eq!(e.message, "gone");
        let e = error(
            b"<Response><Errors><Error><Code>AccessDenied</Code></Error></Errors></Response>",
        )
        .unwrap();
        assert_eq!(e.code, "AccessDenied");
        assert_eq!(error(b"not xml"), None);
    }
}
