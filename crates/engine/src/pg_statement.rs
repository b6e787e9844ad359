//! What a PostgreSQL statement text says that an audit event's fields do not: pgaudit logs a
//! function call as an allowed event with no object, so the function is only in the statement.
//! Shared by the review engine and the access map, so both credit the same EXECUTE grants.

/// Schema-qualified function calls in a statement (`billing.issue_invoice(`), the only calls a
/// privilege can be traced to. Bounded and panic-free on any text.
pub(crate) fn called_functions(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() && out.len() < 32 {
        if bytes[i] == b'(' {
            // Walk back over `schema.name`.
            let end = i;
            let mut j = end;
            while j > 0 && ident(bytes[j - 1]) {
                j -= 1;
            }
            let name_start = j;
            if j > 0 && bytes[j - 1] == b'.' && name_start < end {
                let mut k = j - 1;
                while k > 0 && ident(bytes[k - 1]) {
                    k -= 1;
                }
                if k < j - 1 {
                    if let Some(s) = text.get(k..end) {
                        let s = s.to_ascii_lowercase();
                        if !out.contains(&s) {
                            out.push(s);
                        }
                    }
                }
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_calls_are_found_in_statements() {
        let msg = r#"AUDIT: SESSION,1,1,READ,SELECT,,,"SELECT billing.issue_invoice(1, 12900)",<not logged>"#;
        assert_eq!(called_functions(msg), vec!["billing.issue_invoice"]);
        assert_eq!(
            called_functions("SELECT reporting.refresh_daily(), count(*)"),
            vec!["reporting.refresh_daily"]
        );
        assert!(called_functions("((((.(").is_empty());
        assert!(called_functions("").is_empty());
    }
}
