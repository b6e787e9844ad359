//! IAM policy documents → statements, kept as the backend states them: `Effect`, `Action` or
//! `NotAction`, `Resource` or `NotResource`, `Condition`, `Sid`. What they mean (wildcards, Deny
//! winning) is decided once, in the engine's access dialect; here they are only read.
//!
//! IAM sends documents URL-encoded (RFC 3986) inside its XML; a document that already looks like
//! JSON is taken as is. A document that cannot be read is an error naming the policy, never a
//! panic and never a silently empty policy.

use percent_encoding::percent_decode_str;
use serde_json::{json, Value};

/// Documents larger than this are refused (IAM's own limit for a managed policy is 6 144
/// characters; inline ones 10 240 for a user).
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// Statements kept per document at most.
pub const MAX_STATEMENTS: usize = 1000;

/// One statement, each list normalised to an array (IAM allows a string or an array).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sid: Option<String>,
    /// `Allow` or `Deny` (anything else is refused while reading).
    pub effect: String,
    pub action: Option<Vec<String>>,
    pub not_action: Option<Vec<String>>,
    pub resource: Option<Vec<String>>,
    pub not_resource: Option<Vec<String>>,
    pub condition: Option<Value>,
    pub principal: Option<Value>,
}

impl Statement {
    pub fn is_deny(&self) -> bool {
        self.effect == "Deny"
    }

    /// The statement as `Permission::raw` keeps it: the IAM keys, lists as arrays.
    pub fn raw(&self) -> Value {
        json!({
            "Sid": self.sid,
            "Effect": self.effect,
            "Action": self.action,
            "NotAction": self.not_action,
            "Resource": self.resource,
            "NotResource": self.not_resource,
            "Condition": self.condition,
        })
    }
}

/// Decodes a document as IAM sends it.
pub fn decode(text: &str) -> Result<String, String> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "policy document larger than {} KiB",
            MAX_DOCUMENT_BYTES / 1024
        ));
    }
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        return Ok(text.to_string());
    }
    percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|e| format!("URL-encoded policy document is not UTF-8: {e}"))
}

fn strings(v: Option<&Value>, key: &str) -> Result<Option<Vec<String>>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("`{key}` holds a non-string"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(format!("`{key}` is neither a string nor an array")),
    }
}

fn statement(v: &Value) -> Result<Statement, String> {
    let obj = v.as_object().ok_or("a statement that is not an object")?;
    let effect = match obj.get("Effect").and_then(Value::as_str) {
        Some(e @ ("Allow" | "Deny")) => e.to_string(),
        Some(other) => {
            return Err(format!(
                "Effect `{}` is neither Allow nor Deny",
                other.chars().take(32).collect::<String>()
            ))
        }
        None => return Err("a statement without Effect".into()),
    };
    let s = Statement {
        sid: obj.get("Sid").and_then(Value::as_str).map(str::to_string),
        effect,
        action: strings(obj.get("Action"), "Action")?,
        not_action: strings(obj.get("NotAction"), "NotAction")?,
        resource: strings(obj.get("Resource"), "Resource")?,
        not_resource: strings(obj.get("NotResource"), "NotResource")?,
        condition: obj.get("Condition").cloned().filter(|c| !c.is_null()),
        principal: obj.get("Principal").cloned().filter(|c| !c.is_null()),
    };
    if s.action.is_some() == s.not_action.is_some() {
        return Err("a statement needs exactly one of Action and NotAction".into());
    }
    Ok(s)
}

/// The statements of a (decoded) document.
pub fn statements(document: &str) -> Result<Vec<Statement>, String> {
    let doc: Value = serde_json::from_str(document).map_err(|e| format!("policy document: {e}"))?;
    let list = match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect::<Vec<_>>(),
        Some(one @ Value::Object(_)) => vec![one],
        Some(_) => return Err("`Statement` is neither an object nor an array".into()),
        None => return Err("a policy document without `Statement`".into()),
    };
    if list.len() > MAX_STATEMENTS {
        return Err(format!("more than {MAX_STATEMENTS} statements"));
    }
    list.into_iter().map(statement).collect()
}

/// Decodes and reads a document as IAM sends it.
pub fn parse(encoded: &str) -> Result<Vec<Statement>, String> {
    statements(&decode(encoded)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_documents_with_lists_and_strings() {
        let doc = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A%22Deny%22%2C%22NotAction%22%3A%22iam%3A*%22%2C%22Resource%22%3A%5B%22*%22%5D%7D%7D";
        let s = parse(doc).unwrap();
        assert_eq!(s.len(), 1);
        assert!(s[0].is_deny());
        assert_eq!(s[0].not_action, Some(vec!["iam:*".to_string()]));
        assert_eq!(s[0].resource, Some(vec!["*".to_string()]));
        assert_eq!(s[0].action, None);
        assert_eq!(s[0].raw()["NotAction"], json!(["iam:*"]));
    }

    #[test]
    fn malformed_documents_are_errors() {
        for bad in [
            "{",
            "{}",
            r#"{"Statement": 3}"#,
            r#"{"Statement": [{"Effect": "Maybe", "Action": "*"}]}"#,
            r#"{"Statement": [{"Effect": "Allow"}]}"#,
            r#"{"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "x"}]}"#,
            r#"{"Statement": [{"Effect": "Allow", "Action": [1]}]}"#,
            "%FF%FE",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
