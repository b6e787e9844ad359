//! Secrets inside free text: SQL password literals, header lines, bearer and basic credentials,
//! credential parameters of URLs, forms and connection strings, passwords in URLs' userinfo.
//! Each rule is one linear pass.

use regex::{Captures, Regex};
use std::borrow::Cow;
use std::sync::LazyLock;

use super::{is_exempt, token_value, REDACTED};

/// Passes over one text at most; see [`text`].
const MAX_PASSES: usize = 4;

/// The text with every secret it holds redacted, `None` when nothing was.
///
/// Rules can overlap (a match kept as it is hides one inside it; one rule's replacement can
/// uncover another's match), so the rules run again until a pass changes nothing: the result is
/// then stable under the rules by construction. A text still changing after [`MAX_PASSES`] is
/// contrived, and is replaced whole.
pub fn text(s: &str) -> Option<String> {
    let mut current: Option<String> = None;
    for _ in 0..MAX_PASSES {
        match one_pass(current.as_deref().unwrap_or(s)) {
            Some(next) => current = Some(next),
            None => return current,
        }
    }
    Some(REDACTED.to_string())
}

/// Every rule once, `None` when nothing changed.
fn one_pass(s: &str) -> Option<String> {
    if !may_hold_secret(s) {
        return None;
    }
    let mut out = Cow::Borrowed(s);
    for rule in [
        sql_passwords,
        pgaudit_parameters,
        headers,
        bearer,
        basic,
        parameters,
        userinfo,
        prefixed_tokens,
    ] {
        if let Some(new) = rule(&out) {
            out = Cow::Owned(new);
        }
    }
    match out {
        Cow::Owned(new) if new != s => Some(new),
        _ => None,
    }
}

/// Every rule needs one of these bytes, or a token prefix; most ids, names and paths have none.
fn may_hold_secret(s: &str) -> bool {
    s.bytes()
        .any(|b| matches!(b, b'=' | b':' | b'\'' | b'$' | b' ' | b'\t'))
        || s.contains("gl")
        || s.contains("gh")
        || s.contains("github_pat_")
}

/// `PASSWORD '…'` (`''` escaped), `PASSWORD E'…'` (backslash escapes too), `PASSWORD $t$…$t$`,
/// case-insensitive, also as an FDW option (`password '…'`). An unterminated literal runs to the
/// end of the text, which is then redacted whole.
fn sql_passwords(s: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase();
    let bytes = s.as_bytes();
    let mut out = String::new();
    let (mut copied, mut from) = (0, 0);
    while let Some(i) = lower[from..].find("password") {
        let keyword = from + i;
        from = keyword + "password".len();
        if keyword > 0 && is_ident_byte(bytes[keyword - 1]) {
            continue;
        }
        let start = skip_spaces(bytes, from);
        let Some(end) = literal_end(s, start) else {
            continue;
        };
        from = end;
        if &s[start..end] == "'redacted'" {
            continue;
        }
        out.push_str(&s[copied..start]);
        out.push_str("'redacted'");
        // A quote right after would read as an escaped one and reopen the literal.
        if bytes.get(end) == Some(&b'\'') {
            out.push(' ');
        }
        copied = end;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&s[copied..]);
    Some(out)
}

/// pgaudit with `log_parameter`: `AUDIT: …,"ALTER ROLE app PASSWORD $1",<parameters>`. The
/// literal rule cannot see a password bound to a placeholder, so when the statement sets a
/// password from one, the whole PARAMETER field goes (which parameter it is would need the
/// statement parsed; all of them is the safe side).
fn pgaudit_parameters(s: &str) -> Option<String> {
    let rest = s.strip_prefix("AUDIT: ")?;
    // AUDIT_TYPE,STATEMENT_ID,SUBSTATEMENT_ID,CLASS,COMMAND,OBJECT_TYPE,OBJECT_NAME,STATEMENT,PARAMETER
    let statement = csv_field_start(rest, 7)?;
    let parameters = csv_field_start(rest, 8)?;
    let params = &rest[parameters..];
    let logged = !matches!(params, "<not logged>" | "<none>" | REDACTED);
    (logged && sets_password_from_placeholder(&rest[statement..parameters]))
        .then(|| format!("AUDIT: {}{REDACTED}", &rest[..parameters]))
}

/// The byte offset where CSV field `index` starts (quotes with `""` escapes respected).
fn csv_field_start(s: &str, index: usize) -> Option<usize> {
    if index == 0 {
        return Some(0);
    }
    let (mut seen, mut quoted) = (0, false);
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                seen += 1;
                if seen == index {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// `PASSWORD $1` (any case, any spacing): a password taken from a bound parameter.
fn sets_password_from_placeholder(statement: &str) -> bool {
    let lower = statement.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    lower.match_indices("password").any(|(i, w)| {
        let after = skip_spaces(bytes, i + w.len());
        bytes.get(after) == Some(&b'$') && bytes.get(after + 1).is_some_and(u8::is_ascii_digit)
    })
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn skip_spaces(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The end (exclusive) of the SQL string literal starting at `start`, if one starts there.
fn literal_end(s: &str, start: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    match bytes.get(start)? {
        b'\'' => Some(quoted_end(bytes, start + 1, false)),
        b'e' | b'E' if bytes.get(start + 1) == Some(&b'\'') => {
            Some(quoted_end(bytes, start + 2, true))
        }
        b'$' => dollar_end(s, start),
        _ => None,
    }
}

/// After an opening quote: the index after the closing one (or the end of the text).
fn quoted_end(bytes: &[u8], mut i: usize, backslashes: bool) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if backslashes => i += 2,
            b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// `$tag$…$tag$` (or `$$…$$`); `None` when `$` does not open one (`$1` is a parameter).
fn dollar_end(s: &str, start: usize) -> Option<usize> {
    let rest = &s[start + 1..];
    let tag_len = rest.find('$')?;
    let tag = &rest[..tag_len];
    let valid = tag.bytes().enumerate().all(|(i, b)| {
        b == b'_' || b.is_ascii_alphabetic() || b >= 0x80 || (i > 0 && b.is_ascii_digit())
    });
    if !valid {
        return None;
    }
    let delimiter = &s[start..start + tag_len + 2];
    let body = start + delimiter.len();
    Some(
        s[body..]
            .find(delimiter)
            .map_or(s.len(), |j| body + j + delimiter.len()),
    )
}

/// A pattern of this module. They are constants, all compiled by a test; should one fail to
/// compile anyway, [`text`] treats every string as holding a secret rather than let one through.
fn regex(pattern: &str) -> Option<Regex> {
    Regex::new(pattern)
        .inspect_err(|e| tracing::error!(%e, "invalid redaction pattern"))
        .ok()
}

/// `Cookie:`-like headers in text: the rest of the line goes.
pub(super) static SECRET_HEADER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(r#"(?i)\b(set-cookie|cookie|x-api-key|api-key|apikey)("?[ \t]*:[ \t]*"?)([^\r\n"']*)"#)
});

/// `Authorization: [scheme] credentials`: the credentials end at a space, comma or semicolon
/// (a log line goes on after them, and is scanned on).
pub(super) static AUTHORIZATION_HEADER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(
        r#"(?i)\b((?:proxy-)?authorization"?[ \t]*:[ \t]*"?)(?:([A-Za-z][A-Za-z0-9!#%&*+.^_`|~-]*)[ \t]+)?([^\s,;"']+)"#,
    )
});

/// Headers whose value is a token: `X-Vault-Token: …`, `Private-Token: …`.
pub(super) static TOKEN_HEADER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(r#"(?i)\b(x-vault-token|private-token)("?[ \t]*:[ \t]*"?)([^\s,;"']+)"#)
});

/// Header lines in text. A bearer token, or a bare one in `Authorization` (Vault takes its own
/// token so), by fingerprint; other schemes' credentials and cookies gone.
fn headers(s: &str) -> Option<String> {
    let mut out = Cow::Borrowed(s);
    let cookies = replace(&SECRET_HEADER, &out, |c| {
        (!is_exempt(c[3].trim())).then(|| format!("{}{}{REDACTED}", &c[1], &c[2]))
    });
    if let Some(new) = cookies {
        out = Cow::Owned(new);
    }
    let authorization = replace(&AUTHORIZATION_HEADER, &out, |c| {
        let credentials = &c[3];
        if is_exempt(credentials) {
            return None;
        }
        let (scheme, new) = match c.get(2).map(|m| m.as_str()) {
            Some(scheme) if !scheme.eq_ignore_ascii_case("bearer") => {
                (format!("{scheme} "), REDACTED.to_string())
            }
            Some(scheme) => (format!("{scheme} "), token_value(credentials)),
            None => (String::new(), token_value(credentials)),
        };
        Some(format!("{}{scheme}{new}", &c[1]))
    });
    if let Some(new) = authorization {
        out = Cow::Owned(new);
    }
    let tokens = replace(&TOKEN_HEADER, &out, |c| {
        Some(format!("{}{}{}", &c[1], &c[2], token_value(&c[3])))
    });
    tokens.or_else(|| (out != s).then(|| out.into_owned()))
}

pub(super) static BEARER: LazyLock<Option<Regex>> =
    LazyLock::new(|| regex(r"(?i)\b(bearer[ \t]+)([A-Za-z0-9\-._~+/]{16,}=*)"));

/// `Bearer <token>` anywhere: a b64token (RFC 6750) of 16 characters or more, so prose such as
/// "bearer tokens" is left alone.
fn bearer(s: &str) -> Option<String> {
    replace(&BEARER, s, |c| {
        Some(format!("{}{}", &c[1], token_value(&c[2])))
    })
}

pub(super) static PREFIXED_TOKEN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(
        r"\b(?:(?:glpat|gldt|glrt|glptt|glsoat|glcbt|glimt|glagent|glffct|gloas|glft|glwt)-[A-Za-z0-9_\-.]{20,}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|hpk_[A-Za-z0-9_\-]{40,})",
    )
});

/// Tokens that say what they are by their prefix, wherever they stand, even alone: GitLab's
/// (`glpat-` personal, `gldt-` deploy, `glrt-` runner …) and GitHub's (`ghp_`, `gho_`, `ghu_`,
/// `ghs_`, `ghr_`, `github_pat_`), as their vendors document them for secret detection, and
/// hoop's API keys (`hpk_` and 43 base64url characters, `gateway/models/apikey.go`).
fn prefixed_tokens(s: &str) -> Option<String> {
    replace(&PREFIXED_TOKEN, s, |c| Some(token_value(&c[0])))
}

pub(super) static BASIC: LazyLock<Option<Regex>> =
    LazyLock::new(|| regex(r"(?i)\b(basic[ \t]+)([A-Za-z0-9+/]{4,}={0,2})"));

/// `Basic <base64>` anywhere, when it decodes to `user:password`.
fn basic(s: &str) -> Option<String> {
    use base64::Engine;
    replace(&BASIC, s, |c| {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&c[2])
            .ok()?;
        decoded
            .contains(&b':')
            .then(|| format!("{}{REDACTED}", &c[1]))
    })
}

pub(super) static PARAMETER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(
        r#"(?i)(^|[?&#;,\s"'(])(access_token|refresh_token|id_token|token|subject_token|actor_token|device_code|client_assertion|assertion|code|client_secret|password|passwd|pwd|secret|api_key|apikey|private_key)=('(?:[^'\\]|\\[\s\S]?)*'?|[^&\s#"']*)"#,
    )
});

/// Credential parameters of URLs, forms and libpq connection strings.
fn parameters(s: &str) -> Option<String> {
    replace(&PARAMETER, s, |c| {
        let (sep, name, value) = (&c[1], &c[2], &c[3]);
        let lower = name.to_ascii_lowercase();
        // `code` is an authorization code only in a URL or a form, not in prose ("exit code=1").
        if lower == "code" && !matches!(sep, "" | "?" | "&" | "#") {
            return None;
        }
        let quoted = value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'');
        let bare = if quoted {
            &value[1..value.len() - 1]
        } else {
            value
        };
        if is_exempt(bare) {
            return None;
        }
        let new = if is_token_parameter(&lower) {
            token_value(&percent_decoded(bare))
        } else {
            REDACTED.to_string()
        };
        let q = if quoted { "'" } else { "" };
        Some(format!("{sep}{name}={q}{new}{q}"))
    })
}

fn is_token_parameter(name: &str) -> bool {
    name.ends_with("token") || name.ends_with("assertion") || name.ends_with("code")
}

/// A URL parameter's value as the server saw it, so its fingerprint matches the token's.
fn percent_decoded(v: &str) -> String {
    if !v.contains(['%', '+']) {
        return v.to_string();
    }
    url::form_urlencoded::parse(format!("v={v}").as_bytes())
        .next()
        .map(|(_, decoded)| decoded.into_owned())
        .unwrap_or_else(|| v.to_string())
}

pub(super) static USERINFO: LazyLock<Option<Regex>> =
    LazyLock::new(|| regex(r#"(?i)\b([a-z][a-z0-9+.-]*://[^\s/?#@:'"]*:)([^\s/?#@'"]+)@"#));

/// The password of a URL's userinfo (`postgres://app:s3cret@db/acme`, `https://u:p@host`): the
/// user name stays, it names who connected.
fn userinfo(s: &str) -> Option<String> {
    replace(&USERINFO, s, |c| {
        (!is_exempt(&c[2])).then(|| format!("{}{REDACTED}@", &c[1]))
    })
}

/// `replace_all` that says whether anything changed; `f` returning `None` keeps the match.
fn replace(
    re: &LazyLock<Option<Regex>>,
    s: &str,
    f: impl Fn(&Captures<'_>) -> Option<String>,
) -> Option<String> {
    let Some(re) = Option::as_ref(re) else {
        return Some(REDACTED.to_string());
    };
    let mut changed = false;
    let out = re.replace_all(s, |c: &Captures<'_>| match f(c) {
        Some(new) => {
            changed = true;
            new
        }
        None => c[0].to_string(),
    });
    changed.then(|| out.into_owned())
}
