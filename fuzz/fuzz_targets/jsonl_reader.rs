//! The JSON-lines reader (`jsonl::read_jsonl`) driven from bytes: the data is written to a file
//! and read with one of the five line parsers (chosen by the first byte), then read again from the
//! cursor it returned and from a line boundary in the middle.
//! Invariants: no panic; every complete line is counted once (events + skipped + rejected ≤
//! lines); the cursor stops after the last newline and a partial last line is reported; rejected
//! line numbers are increasing and in range; a read from the returned cursor finds nothing new; a
//! read from a line boundary finds exactly the lines after it.
#![no_main]

use futures::executor::block_on;
use libfuzzer_sys::fuzz_target;
use portcullis_connectors::jsonl::{read_jsonl, FileCursor, LineOutcome, ReadSummary};
use portcullis_connectors::{kong, kubernetes, oauth2, postgres, vault, VecAuditSink};
use std::path::{Path, PathBuf};

type Parse = fn(&str, u64) -> Result<LineOutcome, String>;

const PARSERS: [Parse; 5] = [
    vault::parse_audit_line,
    postgres::parse_jsonlog_line,
    oauth2::events::parse_line,
    kong::log::line_outcome,
    kubernetes::audit::line_outcome,
];

fn scratch() -> PathBuf {
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    dir.join(format!("portcullis-fuzz-jsonl-{}", std::process::id()))
}

fn read(path: &Path, since: FileCursor, parse: Parse) -> (ReadSummary, VecAuditSink) {
    let mut sink = VecAuditSink::default();
    let summary = block_on(read_jsonl(path, since, &mut sink, parse)).expect("a readable file");
    (summary, sink)
}

fuzz_target!(|data: &[u8]| {
    let Some(first) = data.first() else { return };
    let parse = PARSERS[usize::from(*first) % PARSERS.len()];
    let path = scratch();
    std::fs::write(&path, data).expect("scratch file");

    let (s, sink) = read(&path, FileCursor::default(), parse);
    let newlines = data.iter().filter(|b| **b == b'\n').count() as u64;
    let complete = data.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    assert_eq!(s.lines, newlines, "every complete line is counted");
    assert_eq!(s.cursor.line, newlines);
    assert_eq!(
        s.cursor.offset, complete as u64,
        "the cursor stops after the last newline"
    );
    assert_eq!(s.incomplete_tail, complete < data.len());
    assert_eq!(s.events, sink.events.len() as u64);
    assert!(s.events + s.skipped + s.rejected.len() as u64 <= s.lines);
    let mut last = 0;
    for r in &s.rejected {
        assert!(
            r.line > last && r.line <= s.lines,
            "rejection line {} out of order",
            r.line
        );
        assert!(!r.reason.is_empty());
        last = r.line;
    }
    for ev in &sink.events {
        assert!(!ev.dedup_key.is_empty());
    }
    // The last batch carries the cursor the read returns.
    let last_cursor = FileCursor::parse(sink.cursor.as_deref());
    assert_eq!(last_cursor, s.cursor);

    // Nothing new after the returned cursor.
    let (again, sink2) = read(&path, s.cursor.clone(), parse);
    assert_eq!(again.lines, 0);
    assert!(sink2.events.is_empty());
    assert_eq!(again.cursor, s.cursor);

    // From the boundary after the first line: exactly the remaining lines.
    if let Some(i) = data.iter().position(|b| *b == b'\n') {
        let mid = FileCursor {
            offset: i as u64 + 1,
            line: 1,
        };
        let (rest, _) = read(&path, mid, parse);
        assert_eq!(rest.lines, newlines - 1);
        assert_eq!(rest.cursor, s.cursor);
    }

    // A cursor is our own text, but one read back from a damaged cache must not panic either.
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = FileCursor::parse(Some(text));
    }
    let _ = std::fs::remove_file(&path);
});
