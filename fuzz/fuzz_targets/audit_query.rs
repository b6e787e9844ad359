//! The audit search language (`portcullis_engine::audit::query::parse`).
//! Invariants: no panic; an error's column lies within the input; the normalised text
//! (`Display`) parses again to a query of the same meaning (times to the millisecond it prints),
//! and normalising is idempotent.
#![no_main]

use chrono::{TimeZone, Timelike, Utc};
use libfuzzer_sys::fuzz_target;
use portcullis_engine::audit::query::{parse, Query, Term, Value};

/// What a query means: times to the millisecond, and `quoted` only where it matters (an empty
/// value; otherwise quotes only keep a value's characters literal, and the text says so).
fn meaning(q: &Query) -> Query {
    let ms = |t: Option<chrono::DateTime<Utc>>| {
        t.map(|t| {
            t.with_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
                .unwrap_or(t)
        })
    };
    let unquote = |v: &Value| Value {
        quoted: v.quoted && v.text.is_empty(),
        ..v.clone()
    };
    Query {
        terms: q
            .terms
            .iter()
            .map(|t| match t {
                Term::Text { value, negated } => Term::Text {
                    value: unquote(value),
                    negated: *negated,
                },
                Term::Field {
                    field,
                    value,
                    negated,
                } => Term::Field {
                    field: *field,
                    value: unquote(value),
                    negated: *negated,
                },
            })
            .collect(),
        since: ms(q.since),
        until: ms(q.until),
        console: q.console,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let now = Utc
        .with_ymd_and_hms(2026, 11, 22, 7, 0, 0)
        .single()
        .expect("a valid time");
    match parse(input, now) {
        Err(e) => assert!(
            e.position <= input.chars().count(),
            "error at {} past the end of {input:?}",
            e.position
        ),
        Ok(q) => {
            let text = q.to_string();
            let again = parse(&text, now)
                .unwrap_or_else(|e| panic!("{input:?} normalised to {text:?}, which fails: {e}"));
            assert_eq!(
                meaning(&q),
                meaning(&again),
                "{input:?} normalised to {text:?}"
            );
            assert_eq!(again.to_string(), text, "normalising is not idempotent");
        }
    }
});
