//! Shared pieces of the fuzz targets: a structured JSON generator that speaks each format's
//! vocabulary (so mutations reach the code behind field lookups and type checks, not only
//! serde_json's tokenizer), the invariants every parsed audit event must keep, and the one the
//! access model must keep on every inventory a connector maps.

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use portcullis_connectors::jsonl::LineOutcome;
use portcullis_connectors::redact;
use portcullis_engine::access::{AccessBackendRow, AccessIndex, AccessRows};
use portcullis_model::{AuditEvent, Inventory};
use serde_json::{Map, Number, Value};

/// The words a format uses: object keys and string values worth trying.
pub struct Vocab {
    pub keys: &'static [&'static str],
    pub strings: &'static [&'static str],
}

/// Times in the forms the parsers read (and some near misses).
pub const TIMES: &[&str] = &[
    "2026-11-22T07:03:22Z",
    "2026-11-22T07:03:22.123456789+02:00",
    "2026-11-22 07:03:22.587 UTC",
    "2026-11-22 07:03:22 UTC",
    "+262143-12-31T23:59:59Z",
    "9999-12-31T23:59:59.999Z",
    "0000-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "",
];

const MAX_DEPTH: u32 = 5;

/// A JSON value drawn from `u`, biased towards the vocabulary.
pub fn value(u: &mut Unstructured, vocab: &Vocab, depth: u32) -> Result<Value> {
    let pick = if depth >= MAX_DEPTH {
        u.int_in_range(0..=6)?
    } else {
        u.int_in_range(0..=9)?
    };
    Ok(match pick {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::Number(Number::from(u.arbitrary::<i64>()?)),
        3 => Value::Number(Number::from(u.arbitrary::<u64>()?)),
        4 => Number::from_f64(u.arbitrary::<f64>()?).map_or(Value::Null, Value::Number),
        5 => Value::String(text(u, vocab)?),
        6 => Value::String(u.choose(TIMES)?.to_string()),
        7 => {
            let n = u.int_in_range(0..=4)?;
            let mut a = Vec::with_capacity(n);
            for _ in 0..n {
                a.push(value(u, vocab, depth + 1)?);
            }
            Value::Array(a)
        }
        _ => object(u, vocab, depth + 1)?,
    })
}

/// A string: a vocabulary word, free text, or a word with free text appended.
pub fn text(u: &mut Unstructured, vocab: &Vocab) -> Result<String> {
    Ok(match u.int_in_range(0..=3)? {
        0 | 1 if !vocab.strings.is_empty() => u.choose(vocab.strings)?.to_string(),
        2 if !vocab.strings.is_empty() => {
            let mut s = u.choose(vocab.strings)?.to_string();
            s.push_str(u.arbitrary::<&str>()?);
            s
        }
        _ => u.arbitrary::<String>()?,
    })
}

/// An object whose keys are mostly the vocabulary's.
pub fn object(u: &mut Unstructured, vocab: &Vocab, depth: u32) -> Result<Value> {
    let n = u.int_in_range(0..=10)?;
    let mut m = Map::new();
    for _ in 0..n {
        let key = if !vocab.keys.is_empty() && u.ratio(7u8, 8u8)? {
            u.choose(vocab.keys)?.to_string()
        } else {
            u.arbitrary::<String>()?
        };
        m.insert(key, value(u, vocab, depth)?);
    }
    Ok(Value::Object(m))
}

/// One JSON line built from the data (the raw bytes are tried as a line by the caller too).
pub fn json_line(data: &[u8], vocab: &Vocab) -> String {
    let mut u = Unstructured::new(data);
    object(&mut u, vocab, 0).unwrap_or(Value::Null).to_string()
}

/// What every parsed event must hold, whatever the line: each text field is bounded by the line
/// (a parser copies from its input, plus a short prefix of its own), and the event serialises.
pub fn check_event(ev: &AuditEvent, line_len: usize) {
    let bound = line_len + 64;
    let fields = [
        ("dedup_key", Some(ev.dedup_key.as_str())),
        ("actor", ev.actor.as_deref()),
        ("credential", ev.credential.as_deref()),
        ("action", Some(ev.action.as_str())),
        ("resource", ev.resource.as_deref()),
        ("source_ip", ev.source_ip.as_deref()),
    ];
    for (name, v) in fields {
        if let Some(v) = v {
            // Each secret redacted in the field may have grown it by its marker (found by
            // fuzzing: a K8s action with many `authorization:` headers grew past the line).
            let marks = v.matches(redact::REDACTED).count();
            assert!(
                v.len() <= bound + marks * REDACTION_MARKER_BYTES,
                "{name} is {} bytes from a {line_len}-byte line",
                v.len()
            );
        }
    }
    assert!(!ev.dedup_key.is_empty(), "empty dedup key");
    let raw = serde_json::to_string(&ev.raw).expect("raw serialises");
    assert!(
        raw.len() <= 24 * line_len + RAW_MARK_ALLOWANCE,
        "raw is {} bytes from a {line_len}-byte line: {}",
        raw.len(),
        raw.chars().take(600).collect::<String>()
    );
}

/// The longest a redaction marker makes its value: `Bearer redacted:` and 64 hex digits.
const REDACTION_MARKER_BYTES: usize = 96;

/// `raw` grows at most linearly with the line: a one-byte value in an array under a token key
/// becomes a 73-byte `redacted:<sha256>` (about 19 times its 4 bytes `"a",`).
/// What the redaction list may add to `raw` whatever the line: its paths are bounded in number
/// and length, and JSON-escaping a path can multiply it by six.
const RAW_MARK_ALLOWANCE: usize = (redact::MAX_MARKS + 1) * (6 * redact::MAX_MARK_LEN + 8) + 1024;

/// Runs a `read_jsonl` line parser on one line and checks the event it returns.
pub fn check_line(parse: fn(&str, u64) -> std::result::Result<LineOutcome, String>, line: &str) {
    match parse(line, 1) {
        Ok(LineOutcome::Event(ev)) => check_event(&ev, line.len()),
        Ok(LineOutcome::Skip) => {}
        Err(reason) => assert!(!reason.is_empty(), "a rejection must say why"),
    }
}

/// The access model on an inventory a connector mapped, through the rows a sync would store
/// (backend `b` of `kind`): every path runs from the principal to the permission it explains.
/// `strict` also wants every principal in the graph and every effective right explained by a
/// path (off for AWS IAM, whose target has never asked either of its generated inventories).
/// Returns the index for the target's own questions.
pub fn check_access_paths(kind: &str, inv: &Inventory, strict: bool) -> AccessIndex {
    let backend = AccessBackendRow {
        id: 1,
        name: "b".into(),
        kind: kind.into(),
    };
    let index = AccessIndex::build(&AccessRows::of_inventory(backend, inv), 0);
    let g = &index.graph;
    for p in &inv.principals {
        let Some(n) = g.find_node_id(&format!("b/principal/{}", p.external_id)) else {
            assert!(!strict, "principal {:?} has no node", p.external_id);
            continue;
        };
        let subject = g.node_id_string(n);
        for e in index.effective(n, None, 4).0 {
            assert!(
                !strict || !e.paths.is_empty(),
                "{} held without a path",
                e.permission.id
            );
            for path in &e.paths {
                let first = path.hops.first().map(|h| h.id.as_str());
                let last = path.hops.last().map(|h| h.id.as_str());
                assert_eq!(first, Some(subject.as_str()), "{path:?}");
                assert_eq!(last, Some(e.permission.id.as_str()), "{path:?}");
            }
        }
    }
    index
}
