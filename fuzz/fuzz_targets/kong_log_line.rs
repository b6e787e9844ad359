//! Kong file-log lines (`kong::log::line_outcome`).
//! Each input is tried as the line itself and as a JSON object drawn from the data with the
//! format's vocabulary. Invariants: no panic; an event's text fields are bounded by the line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::{check_line, json_line, Vocab};

const VOCAB: Vocab = Vocab {
    keys: &[
        "request",
        "response",
        "started_at",
        "status",
        "route",
        "service",
        "consumer",
        "authenticated_entity",
        "client_ip",
        "method",
        "uri",
        "url",
        "headers",
        "querystring",
        "size",
        "name",
        "id",
        "upstream_uri",
        "latencies",
        "tries",
        "workspace",
        "authorization",
        "apikey",
    ],
    strings: &[
        "GET",
        "POST",
        "/orders?apikey=secret",
        "http://kong:8000/orders?x=1#f",
        "Bearer abc",
        "127.0.0.1",
        "host",
        "user-agent",
    ],
};

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data) {
        check_line(portcullis_connectors::kong::log::line_outcome, line);
    }
    check_line(
        portcullis_connectors::kong::log::line_outcome,
        &json_line(data, &VOCAB),
    );
});
