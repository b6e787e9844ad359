//! PostgreSQL jsonlog / pgaudit lines (`postgres::parse_jsonlog_line`).
//! Each input is tried as the line itself and as a JSON object drawn from the data with the
//! format's vocabulary. Invariants: no panic; an event's text fields are bounded by the line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::{check_line, json_line, Vocab};

const VOCAB: Vocab = Vocab {
    keys: &["timestamp", "user", "dbname", "pid", "remote_host", "session_id", "line_num", "ps", "error_severity", "state_code", "message", "statement", "detail", "backend_type"],
    strings: &["2026-11-22 07:03:22.971 UTC", "AUDIT: SESSION,14,2,READ,SELECT,TABLE,billing.customers,\"SELECT 1 FROM \"\"billing\"\".\"\"customers\"\" x\",<not logged>", "AUDIT: OBJECT,1,1,WRITE,INSERT,TABLE,a.b,,", "AUDIT: ", "connection authorized: user=a database=b", "permission denied for table cards", "permission denied for ", "42501", "28P01", "28000", "SELECT pan FROM payments.cards", "\"payments\".\"cards\"", "LOG", "ERROR", "FATAL"],
};

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data) {
        check_line(portcullis_connectors::postgres::parse_jsonlog_line, line);
    }
    check_line(
        portcullis_connectors::postgres::parse_jsonlog_line,
        &json_line(data, &VOCAB),
    );
});
