//! node-oidc-provider event log lines (`oauth2::events::parse_line`).
//! Each input is tried as the line itself and as a JSON object drawn from the data with the
//! format's vocabulary. Invariants: no panic; an event's text fields are bounded by the line.
//! The data's lines are also replayed into credentials (`credentials_from_events`), as a sync
//! replays the whole log.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_connectors::oauth2::events::credentials_from_events;
use portcullis_fuzz::{check_line, json_line, Vocab};

const VOCAB: Vocab = Vocab {
    keys: &[
        "event",
        "ts",
        "outcome",
        "account_id",
        "client_id",
        "fingerprint",
        "scope",
        "source_ip",
        "detail",
        "grant_id",
        "kind",
        "probe",
    ],
    strings: &[
        "access_token.saved",
        "access_token.destroyed",
        "refresh_token.saved",
        "client_credentials.saved",
        "grant.revoked",
        "grant.saved",
        "grant.success",
        "grant.error",
        "server_error",
        "client.configured",
        "token.used",
        "introspection.success",
        "revocation.success",
        "deny",
        "error",
        "allow",
        "exp=2026-12-01T00:00:00.000Z iat=2026-11-22T07:00:00.000Z",
        "exp=none",
        "secret_expires_at=none",
        "secret_expires_at=2027-01-01T00:00:00Z",
    ],
};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check_line(portcullis_connectors::oauth2::events::parse_line, text);
        let events: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        for c in credentials_from_events(&events) {
            assert!(!c.external_id.is_empty(), "a credential needs an id");
        }
    }
    let line = json_line(data, &VOCAB);
    check_line(portcullis_connectors::oauth2::events::parse_line, &line);
    if let Ok(v) = serde_json::from_str(&line) {
        let _ = credentials_from_events(&[v]);
    }
});
