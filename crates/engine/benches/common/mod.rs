//! What more than one bench needs: a generated node-oidc-provider event log.

use chrono::{Duration, Utc};
use std::io::Write;
use std::path::Path;

/// xorshift: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

pub const SCOPES: [&str; 8] = [
    "invoices:read",
    "invoices:write",
    "payments:read",
    "payments:refund",
    "reports:read",
    "reports:export",
    "deploy:write",
    "tickets:read",
];
pub const EVENTS: [&str; 5] = [
    "token.used",
    "token.used",
    "token.used",
    "grant.success",
    "introspection.request",
];

/// A node-oidc-provider event log over the last 30 days: 2,000 accounts, 40 clients, 20,000
/// tokens, 5% denials, 0.5% errors, time-ordered.
pub fn generate(path: &Path, n: usize) {
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let start = Utc::now() - Duration::days(30);
    let step_ms = (30 * 86_400_000) / n.max(1) as i64;
    for i in 0..n {
        let r = rng.next();
        let at = start + Duration::milliseconds(i as i64 * step_ms + (r % 7) as i64);
        let account = (r >> 8) % 2_000;
        let client = (r >> 20) % 40;
        let token = (r >> 28) % 20_000;
        let outcome = match (r >> 40) % 200 {
            0 => "error",
            1..=10 => "deny",
            _ => "allow",
        };
        let detail = match outcome {
            "deny" => "insufficient_scope",
            "error" => "server_error upstream timeout",
            _ => "GET /v1/resource 200",
        };
        writeln!(
            w,
            r#"{{"ts":"{}","event":"{}","client_id":"client-{client:02}","account_id":"user-{account:04}","grant_id":"{:016x}{:016x}","scope":"{}","fingerprint":"{:064x}","source_ip":"10.{}.{}.{}","outcome":"{outcome}","detail":"{detail}"}}"#,
            at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            EVENTS[((r >> 44) % 5) as usize],
            r.rotate_left(17),
            token.wrapping_mul(0x2545_F491_4F6C_DD1D),
            SCOPES[((r >> 48) % 8) as usize],
            u128::from(token).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835),
            (account >> 8) % 250,
            account % 250,
            (r >> 52) % 4,
        )
        .unwrap();
    }
    w.flush().unwrap();
}
