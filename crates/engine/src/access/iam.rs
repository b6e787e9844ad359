//! AWS IAM policy statements as the access map reads them: `Action` / `NotAction` patterns
//! (case-insensitive, `*` and `?` wildcards), `Resource` / `NotResource` patterns (ARNs,
//! case-sensitive, the same wildcards), and `Deny`. The statement is read from the permission's
//! `raw`, where the connector keeps it exactly as IAM states it.
//!
//! How statements combine (any matching explicit Deny wins, else any matching Allow) is the
//! dialect's [`super::dialect::DenyRule::AnyMatchingDeny`], read by the one evaluator in
//! `query.rs`. Conditions are not evaluated: a statement with a `Condition` matches at most
//! partly, so it never proves an Allow or a Deny on its own.

use portcullis_model::{Action, Coverage};
use serde_json::Value;

use super::dialect::ActionQuery;

/// One statement, parsed once when the graph is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamRule {
    /// Action patterns, lowercased (IAM compares actions case-insensitively).
    actions: Vec<String>,
    /// The patterns are `NotAction`: the statement applies to every other action.
    not_action: bool,
    resources: Vec<String>,
    not_resource: bool,
    conditional: bool,
}

fn list(raw: &Value, key: &str) -> Option<Vec<String>> {
    raw.get(key)?.as_array().map(|a| {
        a.iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    })
}

impl IamRule {
    pub fn from_raw(raw: &Value) -> Option<IamRule> {
        let (actions, not_action) = match (list(raw, "Action"), list(raw, "NotAction")) {
            (Some(a), _) => (a, false),
            (None, Some(n)) => (n, true),
            (None, None) => return None,
        };
        let (resources, not_resource) = match (list(raw, "Resource"), list(raw, "NotResource")) {
            (Some(r), _) => (r, false),
            (None, Some(n)) => (n, true),
            (None, None) => (Vec::new(), false),
        };
        Some(IamRule {
            actions: actions.iter().map(|a| a.to_ascii_lowercase()).collect(),
            not_action,
            resources,
            not_resource,
            conditional: raw.get("Condition").is_some_and(|c| !c.is_null()),
        })
    }
}

/// IAM's wildcard match: `*` any run of characters (`:` and `/` included), `?` one character.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    super::pattern::star_match(pattern, text, true)
}

/// How much of `asked` (itself maybe a pattern) the pattern list covers: Full when one pattern
/// takes in all of it, Partial when one only shares some values with it.
fn list_coverage(patterns: &[String], asked: &str) -> Option<Coverage> {
    if patterns.iter().any(|p| wildcard_match(p, asked)) {
        return Some(Coverage::Full);
    }
    let pattern_asked = asked.contains('*') || asked.contains('?');
    (pattern_asked && patterns.iter().any(|p| wildcard_match(asked, p)))
        .then_some(Coverage::Partial)
}

/// The same for a `Not…` list: the statement covers what no pattern takes in.
fn not_list_coverage(patterns: &[String], asked: &str) -> Option<Coverage> {
    match list_coverage(patterns, asked) {
        Some(Coverage::Full) => None,
        Some(Coverage::Partial) => Some(Coverage::Partial),
        None => Some(Coverage::Full),
    }
}

fn min(a: Coverage, b: Coverage) -> Coverage {
    if a == Coverage::Full && b == Coverage::Full {
        Coverage::Full
    } else {
        Coverage::Partial
    }
}

/// Whether the statement reaches the asked action: a verb (`s3:GetObject`, `iam:List*`) is
/// matched against the patterns; a class (`read`) against the statement's class, which only
/// statements covering every action (`*`, any `NotAction`) reach whatever the class.
fn action_coverage(rule: &IamRule, action: Action, q: &ActionQuery) -> Option<Coverage> {
    if let Some(verb) = &q.verb {
        let verb = verb.to_ascii_lowercase();
        return if rule.not_action {
            not_list_coverage(&rule.actions, &verb)
        } else {
            list_coverage(&rule.actions, &verb)
        };
    }
    let everything = !rule.not_action && rule.actions.iter().any(|a| a == "*");
    match q.class {
        None => Some(Coverage::Full),
        Some(_) if everything => Some(Coverage::Full),
        Some(_) if rule.not_action => Some(Coverage::Partial),
        Some(c) if c == action => Some(Coverage::Full),
        Some(_) => None,
    }
}

fn resource_coverage(rule: &IamRule, asked: &str) -> Option<Coverage> {
    if rule.not_resource {
        not_list_coverage(&rule.resources, asked)
    } else {
        list_coverage(&rule.resources, asked)
    }
}

/// Whether the statement applies to the asked action on the asked resource, and how fully.
/// Deny statements are matched the same way: in IAM a Deny reaches only its own actions.
pub fn statement_match(
    rule: &IamRule,
    action: Action,
    q: &ActionQuery,
    resource: &str,
) -> Option<Coverage> {
    let a = action_coverage(rule, action, q)?;
    let r = resource_coverage(rule, resource)?;
    let c = min(a, r);
    Some(if rule.conditional {
        Coverage::Partial
    } else {
        c
    })
}

/// An IAM action as asked: `service:Action` (patterns allowed) or `*`.
pub fn is_action(word: &str) -> bool {
    word == "*"
        || word.split_once(':').is_some_and(|(s, a)| {
            !s.is_empty()
                && !a.is_empty()
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(raw: Value) -> IamRule {
        IamRule::from_raw(&raw).unwrap()
    }

    fn verb(v: &str) -> ActionQuery {
        ActionQuery {
            class: None,
            verb: Some(v.to_string()),
        }
    }

    #[test]
    fn wildcards_star_and_question_mark() {
        assert!(wildcard_match("iam:list?sers", "iam:listusers"));
        assert!(!wildcard_match("iam:list?sers", "iam:listgroups"));
        assert!(wildcard_match(
            "arn:aws:s3:::acme-dev-*",
            "arn:aws:s3:::acme-dev-x"
        ));
        assert!(wildcard_match(
            "arn:aws:s3:::acme-dev-*",
            "arn:aws:s3:::acme-dev-x/a/b"
        ));
        assert!(!wildcard_match(
            "arn:aws:s3:::acme-dev-?",
            "arn:aws:s3:::acme-dev-xy"
        ));
        assert!(wildcard_match("*", ""));
        assert!(!wildcard_match("a", ""));
    }

    #[test]
    fn actions_ignore_case_resources_do_not() {
        let r = rule(json!({"Action": ["S3:GetObject"], "Resource": ["arn:aws:s3:::B/*"]}));
        let ok = statement_match(&r, Action::Read, &verb("s3:getobject"), "arn:aws:s3:::B/k");
        assert_eq!(ok, Some(Coverage::Full));
        assert_eq!(
            statement_match(&r, Action::Read, &verb("s3:GetObject"), "arn:aws:s3:::b/k"),
            None
        );
    }

    #[test]
    fn not_action_and_not_resource_take_in_everything_else() {
        let r = rule(json!({"NotAction": ["iam:*"], "Resource": ["*"]}));
        assert_eq!(
            statement_match(&r, Action::Admin, &verb("s3:PutObject"), "arn:aws:s3:::x"),
            Some(Coverage::Full)
        );
        assert_eq!(
            statement_match(&r, Action::Admin, &verb("iam:ListUsers"), "*"),
            None
        );
        // Asking `*`: some actions are in, IAM's are not.
        assert_eq!(
            statement_match(&r, Action::Admin, &verb("*"), "*"),
            Some(Coverage::Partial)
        );
        let d = rule(
            json!({"Action": ["s3:*"], "NotResource": ["arn:aws:s3:::rel", "arn:aws:s3:::rel/*"]}),
        );
        assert_eq!(
            statement_match(
                &d,
                Action::Deny,
                &verb("s3:GetObject"),
                "arn:aws:s3:::other/k"
            ),
            Some(Coverage::Full)
        );
        assert_eq!(
            statement_match(
                &d,
                Action::Deny,
                &verb("s3:GetObject"),
                "arn:aws:s3:::rel/k"
            ),
            None
        );
    }

    #[test]
    fn conditions_never_decide_alone() {
        let r = rule(
            json!({"Action": ["*"], "Resource": ["*"], "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}),
        );
        assert_eq!(
            statement_match(&r, Action::Admin, &verb("iam:DeleteUser"), "*"),
            Some(Coverage::Partial)
        );
    }

    #[test]
    fn what_counts_as_an_action() {
        for ok in [
            "*",
            "s3:GetObject",
            "iam:List*",
            "iam:List?sers",
            "execute-api:Invoke",
        ] {
            assert!(is_action(ok), "{ok}");
        }
        for no in ["read", "s3:", ":x", "a b:c", "arn:aws:s3:::b"] {
            assert!(!is_action(no), "{no}");
        }
    }
}
