//! Resource patterns: Vault/OpenBao path patterns (a trailing `*` glob, `+` for one segment, and
//! Vault's documented priority between patterns) and plain `*` globs for everything else.
//!
//! Both a rule and a question can be patterns ("who can read `secret/data/payments/*`"), so
//! besides "does this rule match this path" there is "does this rule cover everything the
//! question names" (full answer) and "do they share any path" (partial answer).

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    /// `+`: exactly one segment, any content.
    Any,
    Lit(String),
}

/// A Vault path pattern split into segments; `glob` means the last segment is a prefix followed by
/// anything (more segments included), as a trailing `*` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultPattern {
    segs: Vec<Seg>,
    glob: bool,
    text: String,
}

impl VaultPattern {
    pub fn parse(text: &str) -> VaultPattern {
        let (body, glob) = match text.strip_suffix('*') {
            Some(b) => (b, true),
            None => (text, false),
        };
        let segs = body
            .split('/')
            .map(|s| {
                if s == "+" {
                    Seg::Any
                } else {
                    Seg::Lit(s.to_string())
                }
            })
            .collect();
        VaultPattern {
            segs,
            glob,
            text: text.to_string(),
        }
    }

    pub fn is_concrete(&self) -> bool {
        !self.glob && !self.segs.contains(&Seg::Any)
    }

    /// Whether the concrete `path` matches this pattern.
    pub fn matches(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        self.matches_parts(&parts)
    }

    /// [`VaultPattern::matches`] on a path already split at `/` (split once, matched many times).
    pub fn matches_parts(&self, parts: &[&str]) -> bool {
        if self.glob {
            let last = self.segs.len() - 1;
            if parts.len() < self.segs.len() {
                return false;
            }
            for (i, seg) in self.segs.iter().enumerate() {
                let ok = match seg {
                    Seg::Any => true,
                    Seg::Lit(l) if i == last => parts[i].starts_with(l.as_str()),
                    Seg::Lit(l) => parts[i] == l,
                };
                if !ok {
                    return false;
                }
            }
            true
        } else {
            parts.len() == self.segs.len()
                && self.segs.iter().zip(parts).all(|(s, p)| match s {
                    Seg::Any => true,
                    Seg::Lit(l) => l == p,
                })
        }
    }

    /// Whether every path the `query` pattern names matches this rule.
    pub fn covers(&self, query: &VaultPattern) -> bool {
        if self.glob {
            let last = self.segs.len() - 1;
            if query.segs.len() < self.segs.len() {
                return false;
            }
            for (i, seg) in self.segs.iter().enumerate() {
                let q = &query.segs[i];
                let q_is_prefix = query.glob && i == query.segs.len() - 1;
                let ok = if i == last {
                    match (seg, q) {
                        (Seg::Lit(p), _) if p.is_empty() => true,
                        (Seg::Any, _) => !q_is_prefix || query.segs.len() > i + 1,
                        (Seg::Lit(p), Seg::Lit(l)) => l.starts_with(p.as_str()),
                        (Seg::Lit(_), Seg::Any) => false,
                    }
                } else {
                    match (seg, q) {
                        (_, Seg::Lit(_)) if q_is_prefix => false,
                        (Seg::Any, _) => true,
                        (Seg::Lit(a), Seg::Lit(b)) => a == b,
                        (Seg::Lit(_), Seg::Any) => false,
                    }
                };
                if !ok {
                    return false;
                }
            }
            true
        } else {
            !query.glob
                && query.segs.len() == self.segs.len()
                && self
                    .segs
                    .iter()
                    .zip(&query.segs)
                    .all(|(a, b)| match (a, b) {
                        (Seg::Any, _) => true,
                        (Seg::Lit(x), Seg::Lit(y)) => x == y,
                        (Seg::Lit(_), Seg::Any) => false,
                    })
        }
    }

    /// Whether some path matches both patterns.
    pub fn overlaps(&self, other: &VaultPattern) -> bool {
        let n = self.segs.len().min(other.segs.len());
        for i in 0..n {
            let a_pre = self.glob && i == self.segs.len() - 1;
            let b_pre = other.glob && i == other.segs.len() - 1;
            let ok = match (&self.segs[i], &other.segs[i]) {
                (Seg::Any, _) | (_, Seg::Any) => true,
                (Seg::Lit(a), Seg::Lit(b)) => match (a_pre, b_pre) {
                    (true, true) => a.starts_with(b.as_str()) || b.starts_with(a.as_str()),
                    (true, false) => b.starts_with(a.as_str()),
                    (false, true) => a.starts_with(b.as_str()),
                    (false, false) => a == b,
                },
            };
            if !ok {
                return false;
            }
            if a_pre || b_pre {
                // The glob side accepts whatever the other side has from here on.
                return true;
            }
        }
        self.segs.len() == other.segs.len()
    }

    /// The first `n` segments joined, when they are all literal: a bucket key, so an event is
    /// matched only against the rules that could match it (plus the wider ones).
    pub fn literal_key(&self, n: usize) -> Option<String> {
        let prefix_at = self.glob.then(|| self.segs.len() - 1);
        if self.segs.len() < n || prefix_at.is_some_and(|p| p < n) {
            return None;
        }
        let mut out: Vec<&str> = Vec::with_capacity(n);
        for s in &self.segs[..n] {
            match s {
                Seg::Lit(l) => out.push(l),
                Seg::Any => return None,
            }
        }
        Some(out.join("/"))
    }

    /// Vault's priority key: of two patterns matching a path, the greater one decides.
    /// (1) the later the first wildcard, the higher; (2) no trailing `*` beats one; (3) fewer `+`
    /// segments beat more; (4) longer beats shorter; (5) lexicographically greater wins.
    pub fn priority_cmp(&self, other: &VaultPattern) -> Ordering {
        let first_wild = |p: &VaultPattern| -> usize {
            let plus = p.text.split('/').scan(0usize, |pos, seg| {
                let at = *pos;
                *pos += seg.len() + 1;
                Some((at, seg))
            });
            let plus_pos = plus.filter(|(_, s)| *s == "+").map(|(at, _)| at).next();
            let star_pos = if p.glob { Some(p.text.len() - 1) } else { None };
            match (plus_pos, star_pos) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => usize::MAX,
            }
        };
        let plus_count = |p: &VaultPattern| p.segs.iter().filter(|s| **s == Seg::Any).count();
        first_wild(self)
            .cmp(&first_wild(other))
            .then_with(|| other.glob.cmp(&self.glob))
            .then_with(|| plus_count(other).cmp(&plus_count(self)))
            .then_with(|| self.text.len().cmp(&other.text.len()))
            .then_with(|| self.text.cmp(&other.text))
    }
}

/// `*` matches any run of characters (including none); everything else is literal.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == text;
    }
    star_match(pattern, text, false)
}

/// The one wildcard matcher: `*` any run of characters, and with `any_one` also `?` any one
/// character (IAM). The classic two-pointer match with one backtrack point: linear in practice.
pub fn star_match(pattern: &str, text: &str, any_one: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && ((any_one && p[pi] == '?') || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> VaultPattern {
        VaultPattern::parse(s)
    }

    #[test]
    fn vault_globs_and_plus_segments_match_paths() {
        assert!(p("secret/payments/*").matches("secret/payments/x"));
        assert!(p("secret/payments/*").matches("secret/payments/a/b"));
        assert!(!p("secret/payments/*").matches("secret/billing/x"));
        assert!(p("secret/+/x").matches("secret/payments/x"));
        assert!(!p("secret/+/x").matches("secret/payments/y"));
        assert!(!p("secret/+/x").matches("secret/a/b/x"));
        assert!(p("secret/zip-*").matches("secret/zip-code"));
        assert!(p("*").matches("sys/leases/x"));
        assert!(p("secret/data/ci/root-ca").matches("secret/data/ci/root-ca"));
        assert!(!p("secret/data/ci/root-ca").matches("secret/data/ci/root-ca2"));
        assert!(p("secret/+/teamb/*").matches("secret/x/teamb/y"));
    }

    #[test]
    fn coverage_and_overlap_of_two_patterns() {
        let q = p("secret/data/payments/*");
        assert!(p("secret/*").covers(&q));
        assert!(p("*").covers(&q));
        assert!(p("secret/data/payments/*").covers(&q));
        assert!(!p("secret/data/payments/+").covers(&q));
        assert!(p("secret/data/payments/+").overlaps(&q));
        assert!(p("secret/+/payments/gateway").overlaps(&q));
        assert!(!p("secret/data/billing/*").overlaps(&q));
        assert!(!p("secret/data/billing/*").covers(&q));
        assert!(p("secret/+/x").covers(&p("secret/payments/x")));
        assert!(!p("secret/payments/x").covers(&p("secret/+/x")));
        assert!(p("secret/payments/x").overlaps(&p("secret/+/x")));
    }

    #[test]
    fn priority_follows_the_vault_rules() {
        use Ordering::*;
        // Exact beats glob; later wildcard beats earlier; fewer + beats more; longer beats shorter.
        assert_eq!(
            p("secret/data/ci/root-ca").priority_cmp(&p("secret/data/ci/*")),
            Greater
        );
        assert_eq!(p("secret/data/*").priority_cmp(&p("secret/*")), Greater);
        assert_eq!(p("secret/+/x").priority_cmp(&p("secret/*")), Greater);
        assert_eq!(p("secret/a/+").priority_cmp(&p("secret/+/+")), Greater);
        assert_eq!(p("a/b").priority_cmp(&p("a/b")), Equal);
    }

    #[test]
    fn literal_keys_bucket_only_rules_with_literal_heads() {
        assert_eq!(
            p("secret/data/app/*").literal_key(3).as_deref(),
            Some("secret/data/app")
        );
        assert_eq!(
            p("secret/data/app").literal_key(3).as_deref(),
            Some("secret/data/app")
        );
        assert_eq!(p("secret/data/ap*").literal_key(3), None);
        assert_eq!(p("secret/+/app/x").literal_key(3), None);
        assert_eq!(p("secret/*").literal_key(3), None);
        assert_eq!(p("a/b").literal_key(3), None);
    }

    #[test]
    fn plain_globs() {
        assert!(glob_match("invoices:*", "invoices:read"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*c*e", "abcde"));
        assert!(!glob_match("a*c", "ab"));
        assert!(glob_match("route:x", "route:x"));
    }
}
