//! The incident selection language (`RevocationSelector::parse`, model/src/revocation.rs), the
//! revocation target syntax (`RevocationTarget::parse`) and the address blocks a `source=` names
//! (`parse_cidr`, `ip_in_cidr`).
//! Invariants: no panic; a parsed selection is never empty; its text form (`Display`, shown in the
//! dry run and the journal) parses again to the same selection (times to the second it prints);
//! an address is in the block it was parsed from.
#![no_main]

use chrono::{FixedOffset, TimeZone, Timelike, Utc};
use libfuzzer_sys::fuzz_target;
use portcullis_model::{ip_in_cidr, parse_cidr, RevocationSelector, RevocationTarget};

fn seconds(s: &RevocationSelector) -> RevocationSelector {
    let secs = |t: Option<chrono::DateTime<Utc>>| t.map(|t| t.with_nanosecond(0).unwrap_or(t));
    RevocationSelector {
        since: secs(s.since),
        until: secs(s.until),
        ..s.clone()
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
    for local in [
        FixedOffset::east_opt(0),
        FixedOffset::east_opt(5 * 3600 + 1800),
    ] {
        let local = local.expect("a valid offset");
        if let Ok(sel) = RevocationSelector::parse(input, now, local) {
            assert!(!sel.is_empty());
            let text = sel.to_string();
            let again = RevocationSelector::parse(&text, now, local)
                .unwrap_or_else(|e| panic!("{input:?} shown as {text:?}, which fails: {e:?}"));
            assert_eq!(seconds(&sel), again, "{input:?} shown as {text:?}");
        }
    }
    let _ = RevocationTarget::parse(input);
    for word in input.split_whitespace() {
        if let Some(block) = parse_cidr(word) {
            let addr = word.split('/').next().unwrap_or(word);
            assert!(ip_in_cidr(addr, block), "{addr} not in {word}");
        }
    }
});
