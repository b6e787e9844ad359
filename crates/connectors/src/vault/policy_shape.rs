//! A linear pre-check of HCL policy text before `hcl-rs` parses it.
//!
//! Vault and OpenBao read policies with HCL 1, which has no expressions: blocks, attributes,
//! strings, numbers, booleans, lists, objects, heredocs and comments. `hcl-rs` parses HCL 2, whose
//! expression grammar can backtrack exponentially: a 1.2 KB policy of nested object constructors
//! and operators took 42 s (found by fuzzing, `fuzz/fuzz_targets/vault_policy.rs`). A policy comes
//! from a backend, so it may be hostile; refusing up front what HCL 1 cannot hold (operators,
//! template interpolation, deep nesting, megabytes) bounds the work without refusing anything
//! Vault itself would accept.

/// Larger policy texts are refused (Vault's own limit on a request body is 32 MiB; real policies
/// are a few KB).
pub const MAX_POLICY_BYTES: usize = 1 << 20;
/// Brackets nested deeper than this are refused; real policies nest three deep
/// (`path { allowed_parameters { key = [] } }`).
pub const MAX_NESTING: usize = 16;

/// `Ok` when `text` has the shape of an HCL 1 document; otherwise why not.
pub fn check(text: &str) -> Result<(), String> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(format!(
            "{} bytes is more than a policy holds (at most {MAX_POLICY_BYTES})",
            text.len()
        ));
    }
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        i = match (b[i], b.get(i + 1).copied()) {
            (b'"', _) => string_end(b, i + 1)?,
            (b'#', _) | (b'/', Some(b'/')) => line_end(b, i),
            (b'/', Some(b'*')) => comment_end(b, i + 2)?,
            (b'<', Some(b'<')) => heredoc_end(text, i + 2)?,
            (b'{' | b'[', _) => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(format!(
                        "brackets nested deeper than {MAX_NESTING} at byte {i}"
                    ));
                }
                i + 1
            }
            (b'}' | b']', _) => {
                depth = depth.saturating_sub(1);
                i + 1
            }
            (b'-', next) if next.is_some_and(|n| n.is_ascii_digit()) || after_ident(b, i) => i + 1,
            (
                c @ (b'-' | b'+' | b'*' | b'/' | b'%' | b'?' | b'!' | b'<' | b'>' | b'&' | b'|'
                | b'(' | b')'),
                _,
            ) => {
                return Err(format!(
                    "`{}` at byte {i}: policies hold no expressions (HCL 1)",
                    char::from(c)
                ))
            }
            _ => i + 1,
        };
    }
    Ok(())
}

/// Whether the byte before `i` continues an identifier (`allowed-parameters`): HCL 1 allows
/// `-` inside one.
fn after_ident(b: &[u8], i: usize) -> bool {
    i > 0 && matches!(b[i - 1], b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.')
}

/// After an opening quote: the index after the closing one. Template interpolation (`${`, `%{`)
/// is HCL 2 and would be parsed as expressions, so it is refused.
fn string_end(b: &[u8], mut i: usize) -> Result<usize, String> {
    while i < b.len() {
        match (b[i], b.get(i + 1).copied()) {
            (b'\\', _) => i += 2,
            (b'"', _) => return Ok(i + 1),
            (b'$' | b'%', Some(b'{')) => {
                return Err(format!(
                    "template interpolation at byte {i}: not part of Vault's policy syntax"
                ))
            }
            (b'\n', _) => return Err(format!("a string runs past the end of line at byte {i}")),
            _ => i += 1,
        }
    }
    Err("a string is not closed".into())
}

fn line_end(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| i + p + 1)
}

fn comment_end(b: &[u8], i: usize) -> Result<usize, String> {
    b[i..]
        .windows(2)
        .position(|w| w == b"*/")
        .map(|p| i + p + 2)
        .ok_or_else(|| "a /* comment */ is not closed".into())
}

/// `<<ID` or `<<-ID` up to a line holding only `ID` (its body is text, not syntax).
fn heredoc_end(text: &str, start: usize) -> Result<usize, String> {
    let rest = &text[start..];
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let (first, body) = rest
        .split_once('\n')
        .ok_or_else(|| "a heredoc has no body".to_string())?;
    let id = first.trim();
    if id.is_empty() || !id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
        return Err(format!("`<<{id}` does not start a heredoc"));
    }
    let body_at = text.len() - body.len();
    let mut at = body_at;
    for line in body.split_inclusive('\n') {
        at += line.len();
        if line.trim() == id {
            return Ok(at);
        }
    }
    Err(format!("the heredoc `{id}` is not closed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_vault_accepts_passes_and_parses() {
        let policy = r#"
# a comment with + - * ( ) and "quotes
// another
/* block
   comment { { { */
path "secret/data/+/billing-*" {
  capabilities = ["read", "list"]
  min_wrapping_ttl = -1
  allowed_parameters = {
    "ttl" = ["1h", "2h"]
    "*"   = []
  }
  required-parameters = ["x"]
  description = <<-EOT
  anything { [ ( + here
  EOT
}
path "sys/policies/acl/{{identity.entity.id}}" { capabilities = ["deny"] }
"#;
        assert_eq!(check(policy), Ok(()));
        let rules = super::super::policy::parse_policy("ok", policy).unwrap();
        let paths: Vec<&str> = rules.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "secret/data/+/billing-*",
                "sys/policies/acl/{{identity.entity.id}}"
            ]
        );
    }

    #[test]
    fn expressions_templates_depth_and_size_are_refused() {
        for (text, why) in [
            ("p = a + b", "`+`"),
            ("p = -x", "`-`"),
            ("p = (1)", "`(`"),
            ("p = a ? b : c", "`?`"),
            (r#"path "${var.x}" {}"#, "template interpolation"),
            (r#"path "%{ if x }" {}"#, "template interpolation"),
            (r#"path "open"#, "not closed"),
            ("/* open", "not closed"),
            ("d = <<EOT\nno end", "not closed"),
        ] {
            let e = check(text).expect_err(text);
            assert!(e.contains(why), "{text}: {e}");
        }
        let deep = format!("p = {}", "{".repeat(MAX_NESTING + 1));
        assert!(check(&deep).is_err_and(|e| e.contains("nested deeper")));
        let big = format!("# {}", "x".repeat(MAX_POLICY_BYTES));
        assert!(check(&big).is_err_and(|e| e.contains("more than a policy holds")));
    }

    /// The fuzzing find: 1,235 bytes that kept hcl-rs busy for 42 s. Refused by the shape
    /// check, before hcl-rs sees them.
    #[test]
    fn the_slow_policy_fuzzing_found_is_refused_up_front() {
        let unit = "zzz9+{-9:___________________zz9+______%_______________";
        let text = format!("p = -{}\n", unit.repeat(20));
        let e = super::super::policy::parse_policy("hostile", &text).unwrap_err();
        assert!(e.detail.contains("policies hold no expressions"), "{e}");
    }
}
