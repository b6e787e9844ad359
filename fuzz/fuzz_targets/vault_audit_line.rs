//! Vault/OpenBao file audit device lines (`vault::parse_audit_line`).
//! Each input is tried as the line itself and as a JSON object drawn from the data with the
//! format's vocabulary. Invariants: no panic; an event's text fields are bounded by the line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::{check_line, json_line, Vocab};

const VOCAB: Vocab = Vocab {
    keys: &[
        "type",
        "time",
        "auth",
        "request",
        "response",
        "error",
        "id",
        "metadata",
        "username",
        "entity_id",
        "display_name",
        "accessor",
        "client_token_accessor",
        "operation",
        "path",
        "remote_address",
        "policies",
        "token_type",
        "data",
        "mount_type",
    ],
    strings: &[
        "response",
        "request",
        "permission denied",
        "1 error occurred:\n\t* permission denied\n\n",
        "read",
        "update",
        "list",
        "sys/audit-hash/file",
        "secret/data/billing",
        "127.0.0.1",
        "hmac-sha256:0123456789abcdef",
    ],
};

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data) {
        check_line(portcullis_connectors::vault::parse_audit_line, line);
    }
    check_line(
        portcullis_connectors::vault::parse_audit_line,
        &json_line(data, &VOCAB),
    );
});
