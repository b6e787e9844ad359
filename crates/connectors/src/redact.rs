//! The one rule set that keeps secrets out of audit events. It exists so that no line parser
//! decides on its own what a secret is: every parser hands its event to [`event`] before
//! returning it, so sync, `audit import`, `audit show` and the exports only ever see the
//! redacted form.
//!
//! # What is replaced, and by what
//!
//! A *token* (a high-entropy bearer value) becomes `redacted:` + [`crate::fingerprint`] of the
//! value, so an event still names a credential the cache knows by its fingerprint. Anything a
//! person may have chosen (passwords, client secrets, API keys, cookies, private keys) becomes
//! plain `redacted`: a SHA-256 of a weak password can be brute-forced.
//!
//! | where | rule | becomes |
//! |---|---|---|
//! | **JSON keys**, any format (compared in lower case without `-`, `_`, `.`, spaces) | | |
//! | containing `token` or `assertion` | token | `redacted:<sha256>` (`Bearer ` kept) |
//! | ending in `authorization` | header | `Bearer redacted:<sha256>`; other schemes `<Scheme> redacted` |
//! | containing `password`, `passwd`, `passphrase`, `secret`, `apikey`, `privatekey`, `private`, `credentialdata`; `secret_id`; `credentials`; ending in `cookie(s)` | secret | `redacted` |
//! | ending in `accessor`, `ttl`, `type`, `hint`, `method`, `policy`, `policies`, `period`, `cidrs`, `expiresin`, `expiresat`, `expiry`, `expiration`, `numuses`, `time`, `date`, `issuedat`, `createdat`, `endpoint`, `name`, `user`, `path`, `role(s)`, `decision`, `reason`, `count`, or in `id` (`token_id` is a JWT id; not `id` alone, not `secret_id`) | describes, kept | strings still scanned as text |
//! | other keys | the parent's | objects and arrays under a secret key are secret throughout |
//! | **Vault/OpenBao**: `request.data`, `response.data` (secret engines' payloads when the device logs raw) | secret | every value but those under describing keys |
//! | **any string**, any format | | |
//! | SQL `PASSWORD '…'` (`''` escapes), `E'…'`, `$tag$…$tag$`; FDW `password '…'` | secret | `PASSWORD 'redacted'` |
//! | `Authorization:` / `Proxy-Authorization:` header text | header | as above |
//! | `Cookie:`, `Set-Cookie:`, `X-Api-Key:`, `Api-Key:`, `apikey:` header text | secret | rest of the line `redacted` |
//! | `X-Vault-Token:`, `Private-Token:` header text | token | |
//! | `Bearer <b64token of 16+ chars>` | token | |
//! | `Basic <base64 of user:password>` | secret | `Basic redacted` |
//! | after start, `?&#;,(`, quotes or whitespace: `access_token=`, `refresh_token=`, `id_token=`, `token=`, `subject_token=`, `actor_token=`, `device_code=`, `assertion=`, `client_assertion=`, `code=` (this one not after whitespace) | token, percent-decoded | `name=redacted:<sha256>` |
//! | same places: `client_secret=`, `password=`, `passwd=`, `pwd=`, `secret=`, `api_key=`, `apikey=`, `private_key=`, libpq `'quoted values'` too | secret | `name=redacted` |
//! | URL userinfo: `scheme://user:password@` | secret | `scheme://user:redacted@` |
//! | vendor-prefixed tokens anywhere, even alone: GitLab `glpat-`, `gldt-`, `glrt-`, `glptt-` … (20+ characters after), GitHub `ghp_` `gho_` `ghu_` `ghs_` `ghr_` (36+), `github_pat_` (22+), hoop `hpk_` (40+) | token | `redacted:<sha256>` |
//! | pgaudit `AUDIT:` line whose statement sets `PASSWORD $n` | secret | its PARAMETER field `redacted` |
//!
//! Per format: pgaudit's statement lives in `message` (`AUDIT: …` CSV), `statement` and
//! `query`, and the string rules reach all three; oidc-provider URLs and `detail` strings, Kong's
//! already sanitised entry, Kubernetes' kept fields and Keycloak events (an admin event's
//! `representation` parsed first) get the key and string rules; only Vault adds the `data`
//! subtrees. Keys themselves are never examined as secrets.
//!
//! Never replaced: `null`, booleans, empty strings, Vault's HMAC'd values (`hmac-sha256:…`,
//! correlation relies on them) and values already redacted, so the rules are idempotent.
//! Numbers under a secret key become `redacted`.
//!
//! The rules apply to the whole `raw` object and to the event's `actor`, `credential`,
//! `action`, `resource` and `source_ip` (not the dedup key, see [`content_key`]). What was
//! replaced is listed under [`MARK_KEY`] in `raw`: JSON paths (`auth.client_token`,
//! `request.headers.authorization[0]`, `["authorization.k8s.io/x"]`), and `@resource` etc. for
//! the event's own fields.
//!
//! Bounded work: objects nested deeper than [`MAX_DEPTH`] are replaced whole, at most
//! [`MAX_MARKS`] paths are listed, every string is scanned by a fixed number of linear passes
//! (the `regex` crate does not backtrack; rules run again until a pass changes nothing, at most
//! four times, and a text that would not settle is replaced whole).

use portcullis_model::AuditEvent;
use serde_json::Value;

mod text;

pub use text::text;

/// The key of `raw` listing what was redacted.
pub const MARK_KEY: &str = portcullis_model::REDACTION_MARK_KEY;
/// What a secret that is not a token becomes.
pub const REDACTED: &str = "redacted";
/// Containers deeper than this are replaced whole.
pub const MAX_DEPTH: usize = 48;
/// Paths listed at most; one more entry says how many were left out.
pub const MAX_MARKS: usize = 100;
/// A listed path is cut to this many bytes (and each key in it to [`MAX_MARK_KEY_CHARS`]), so
/// the list cannot repeat a hostile long key a hundred times.
pub const MAX_MARK_LEN: usize = 256;
/// Characters of one key kept in a listed path.
pub const MAX_MARK_KEY_CHARS: usize = 64;

/// The format a line came in: it decides which subtrees are secret as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Vault,
    Pgaudit,
    OidcProvider,
    Kong,
    Kubernetes,
    Keycloak,
    GitLab,
    Hoop,
    GitHub,
}

impl Format {
    /// Subtrees whose values are all secret unless their key describes rather than holds.
    fn secret_subtrees(self) -> &'static [&'static [&'static str]] {
        match self {
            Format::Vault => &[&["request", "data"], &["response", "data"]],
            _ => &[],
        }
    }
}

/// How a value is treated, from its key (or its parent's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Kept, but its strings are scanned for secrets in text.
    Plain,
    Token,
    Authorization,
    Secret,
}

/// Redacts an event in place: `raw` and the event's own text fields.
pub fn event(ev: &mut AuditEvent, format: Format) {
    let mut walk = Walk::new(format);
    walk.root(&mut ev.raw);
    let fields = [
        ("@actor", &mut ev.actor),
        ("@credential", &mut ev.credential),
        ("@resource", &mut ev.resource),
        ("@source_ip", &mut ev.source_ip),
    ];
    for (name, field) in fields {
        if let Some(new) = field.as_deref().and_then(text) {
            *field = Some(new);
            walk.marks.push(name.into());
        }
    }
    if let Some(new) = text(&ev.action) {
        ev.action = new;
        walk.marks.push("@action".into());
    }
    // Dedup keys embed a backend's own event id; a hostile backend can make that id a token.
    // The redacted form is deterministic, so the same event still meets its key again.
    if let Some(new) = text(&ev.dedup_key) {
        ev.dedup_key = new;
        walk.marks.push("@dedup_key".into());
    }
    walk.finish(&mut ev.raw);
}

/// Redacts a JSON value in place (with its [`MARK_KEY`] list when it is an object); returns the
/// paths redacted.
pub fn value(v: &mut Value, format: Format) -> Vec<String> {
    let mut walk = Walk::new(format);
    walk.root(v);
    let marks = walk.marks.clone();
    walk.finish(v);
    marks
}

/// The dedup key of a format without ids: the line's [`crate::jsonl::content_key`], unless
/// something was redacted from it — then the key of the redacted event, so the key cannot be
/// used to test guesses of the secret.
pub fn content_key(line: &str, redacted_raw: &Value) -> String {
    match redacted_raw.get(MARK_KEY) {
        Some(_) => crate::jsonl::content_key(&redacted_raw.to_string()),
        None => crate::jsonl::content_key(line),
    }
}

/// Where a value is, as a linked list on the stack (no allocation unless it is marked).
struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    seg: Seg<'a>,
    depth: usize,
}

enum Seg<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

impl<'a> Path<'a> {
    fn child(&'a self, seg: Seg<'a>) -> Path<'a> {
        Path {
            parent: Some(self),
            seg,
            depth: self.depth + 1,
        }
    }

    /// Whether this path is exactly `keys` from the root.
    fn is(&self, keys: &[&str]) -> bool {
        if self.depth != keys.len() {
            return false;
        }
        let mut at = Some(self);
        for want in keys.iter().rev() {
            match at {
                Some(Path {
                    seg: Seg::Key(k),
                    parent,
                    ..
                }) if k == want => at = *parent,
                _ => return false,
            }
        }
        true
    }

    fn render(&self) -> String {
        let mut segs = Vec::with_capacity(self.depth);
        let mut at = Some(self);
        while let Some(p) = at {
            segs.push(&p.seg);
            at = p.parent;
        }
        let mut out = String::new();
        for seg in segs.into_iter().rev() {
            match seg {
                Seg::Root => {}
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
                Seg::Key(k) => {
                    let k = cut(k, MAX_MARK_KEY_CHARS);
                    if is_plain_key(&k) {
                        if !out.is_empty() {
                            out.push('.');
                        }
                        out.push_str(&k);
                    } else {
                        out.push_str(&format!("[{}]", Value::String(k)));
                    }
                }
            }
            if out.len() > MAX_MARK_LEN {
                break;
            }
        }
        if out.len() > MAX_MARK_LEN {
            let mut end = MAX_MARK_LEN;
            while !out.is_char_boundary(end) {
                end -= 1;
            }
            out.truncate(end);
            out.push('…');
        }
        out
    }
}

/// `s` cut to `max` characters, with `…` when something was cut.
fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

fn is_plain_key(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

struct Walk {
    format: Format,
    marks: Vec<String>,
}

impl Walk {
    fn new(format: Format) -> Walk {
        Walk {
            format,
            marks: Vec::new(),
        }
    }

    fn root(&mut self, v: &mut Value) {
        let root = Path {
            parent: None,
            seg: Seg::Root,
            depth: 0,
        };
        self.walk(v, Class::Plain, &root);
    }

    fn walk(&mut self, v: &mut Value, class: Class, path: &Path<'_>) {
        if path.depth >= MAX_DEPTH && (v.is_object() || v.is_array()) {
            *v = Value::String(REDACTED.into());
            self.mark(path);
            return;
        }
        match v {
            Value::Object(map) => {
                for (k, child) in map.iter_mut() {
                    if path.depth == 0 && k == MARK_KEY {
                        continue;
                    }
                    let p = path.child(Seg::Key(k));
                    let c = self.child_class(k, class, &p);
                    self.walk(child, c, &p);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    self.walk(item, class, &path.child(Seg::Index(i)));
                }
            }
            Value::String(s) => {
                if let Some(new) = redact_string(s, class) {
                    *s = new;
                    self.mark(path);
                }
            }
            Value::Number(_) if class != Class::Plain => {
                *v = Value::String(REDACTED.into());
                self.mark(path);
            }
            _ => {}
        }
    }

    fn child_class(&self, key: &str, inherited: Class, path: &Path<'_>) -> Class {
        if let Some(c) = key_class(key) {
            return c;
        }
        if self.format.secret_subtrees().iter().any(|t| path.is(t)) {
            return Class::Secret;
        }
        inherited
    }

    fn mark(&mut self, path: &Path<'_>) {
        if self.marks.len() < MAX_MARKS {
            self.marks.push(path.render());
        } else if self.marks.len() == MAX_MARKS {
            self.marks.push("…more not listed".into());
        }
    }

    /// Adds the marks to an object `raw` (after any listed by an earlier pass).
    fn finish(self, raw: &mut Value) {
        if self.marks.is_empty() {
            return;
        }
        let Value::Object(map) = raw else { return };
        let list = map
            .entry(MARK_KEY)
            .or_insert_with(|| Value::Array(Vec::new()));
        if !list.is_array() {
            *list = Value::Array(Vec::new());
        }
        if let Value::Array(items) = list {
            for m in self.marks {
                let m = Value::String(m);
                if !items.contains(&m) {
                    items.push(m);
                }
            }
        }
    }
}

/// The new text of a string of this class, `None` when it stays as it is.
fn redact_string(s: &str, class: Class) -> Option<String> {
    let new = match class {
        Class::Plain => return text(s),
        Class::Token => token_value(s),
        Class::Authorization => authorization_value(s),
        Class::Secret if is_exempt(s) => return None,
        Class::Secret => REDACTED.to_string(),
    };
    (new != s).then_some(new)
}

/// Values that are not secrets whatever their key: nothing, Vault's HMACs, earlier redactions.
fn is_exempt(s: &str) -> bool {
    s.is_empty() || s.starts_with("hmac-sha256:") || s == REDACTED || is_fingerprint_mark(s)
}

fn is_fingerprint_mark(s: &str) -> bool {
    s.strip_prefix("redacted:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// `redacted:<fingerprint>` of a token (a `Bearer ` prefix kept).
fn token_value(s: &str) -> String {
    if let Some(rest) = strip_scheme(s, "bearer") {
        return format!("Bearer {}", token_value(rest));
    }
    if is_exempt(s) {
        return s.to_string();
    }
    format!("redacted:{}", crate::fingerprint(s))
}

/// An `Authorization` value: a bearer token by fingerprint, any other scheme's credentials gone.
fn authorization_value(s: &str) -> String {
    if is_exempt(s) {
        return s.to_string();
    }
    let trimmed = s.trim();
    match trimmed.split_once(char::is_whitespace) {
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("bearer") => token_value(trimmed),
        Some((scheme, rest)) if is_exempt(rest.trim()) => format!("{scheme} {}", rest.trim()),
        Some((scheme, _)) => format!("{scheme} {REDACTED}"),
        // A bare value in an Authorization header is a token (Vault accepts its own so).
        None => token_value(trimmed),
    }
}

fn strip_scheme<'a>(s: &'a str, scheme: &str) -> Option<&'a str> {
    let (head, rest) = s.trim().split_once(char::is_whitespace)?;
    head.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// Key endings that describe a secret without holding it (lifetimes, kinds, ids, names).
const DESCRIPTIVE_SUFFIXES: &[&str] = &[
    "accessor",
    "ttl",
    "type",
    "hint",
    "method",
    "policy",
    "policies",
    "period",
    "cidrs",
    "expiresin",
    "expiresat",
    "expiry",
    "expiration",
    "numuses",
    "time",
    "date",
    "issuedat",
    "createdat",
    "endpoint",
    "name",
    "user",
    "path",
    "role",
    "roles",
    "decision",
    "reason",
    "count",
];

/// Words that make a key hold a secret of that class (normalised: lower case, no separators).
const SECRET_WORDS: &[(&str, Class)] = &[
    ("token", Class::Token),
    ("assertion", Class::Token),
    ("password", Class::Secret),
    ("passwd", Class::Secret),
    ("passphrase", Class::Secret),
    ("secret", Class::Secret),
    ("apikey", Class::Secret),
    ("privatekey", Class::Secret),
    ("private", Class::Secret),
    ("credentialdata", Class::Secret),
];

/// What a key says about its value: `Some(Plain)` when it names or describes something (an
/// accessor, a lifetime, an id: `token_id` is a JWT id), the secret's class when it holds one,
/// `None` when it does not say (the parent's class applies: a bare `id` under Vault's `data` is
/// the token itself).
fn key_class(key: &str) -> Option<Class> {
    let k: String = key
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if k == "secretid" {
        return Some(Class::Secret);
    }
    if k.ends_with("authorization") {
        return Some(Class::Authorization);
    }
    if k.ends_with("cookie") || k.ends_with("cookies") || k == "credentials" {
        return Some(Class::Secret);
    }
    if DESCRIPTIVE_SUFFIXES.iter().any(|s| k.ends_with(s)) || (k.ends_with("id") && k != "id") {
        return Some(Class::Plain);
    }
    SECRET_WORDS
        .iter()
        .find(|(w, _)| k.contains(w))
        .map(|(_, c)| *c)
}

#[cfg(test)]
mod tests;
