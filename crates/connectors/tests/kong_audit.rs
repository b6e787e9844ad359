//! Import tests of Kong file-log / http-log JSON lines through the shared JSON-lines reader.
//!
//! Kong Gateway cannot run on our machines: the lines are the authentic log-serializer entry from
//! Kong's documentation (`tests/fixtures/kong/kong-file-log-line.3.4.jsonl`), repeated with
//! changed statuses, with garbage and truncated lines mixed in to pin exact counts and line numbers.

use portcullis_connectors::jsonl::{read_jsonl, FileCursor, ReadSummary};
use portcullis_connectors::kong::log::line_outcome;
use portcullis_connectors::kong::parse_kong_log_line;
use portcullis_connectors::VecAuditSink;
use portcullis_model::Outcome;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn authentic_line() -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kong/kong-file-log-line.3.4.jsonl");
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string()
}

/// The authentic line with another status and start time (so each line is a distinct request).
fn variant(status: u64, started_at: u64) -> String {
    let mut v: Value = serde_json::from_str(&authentic_line()).unwrap();
    v["response"]["status"] = status.into();
    v["started_at"] = started_at.into();
    serde_json::to_string(&v).unwrap()
}

async fn import(path: &Path, since: FileCursor) -> (ReadSummary, VecAuditSink) {
    let mut sink = VecAuditSink::default();
    let summary = read_jsonl(path, since, &mut sink, line_outcome)
        .await
        .unwrap();
    (summary, sink)
}

#[tokio::test]
async fn garbage_and_truncated_lines_are_rejected_with_their_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kong.log");
    let line = authentic_line();
    let truncated = &line[..line.len() / 2];
    let content = [
        line.clone(),                                                               // 1 allow
        variant(403, 1614232668400),                                                // 2 deny
        "2021/02/25 05:57:48 [error] 1#0: *1 lua entry thread aborted".to_string(), // 3 garbage
        String::new(),               // 4 blank: ignored
        variant(500, 1614232668500), // 5 error
        truncated.to_string(),       // 6 cut mid-object, then a newline
        variant(401, 1614232668600), // 7 deny
    ]
    .join("\n")
        + "\n"
        + truncated; // 8: still being written, no newline
    std::fs::write(&path, content).unwrap();

    let (summary, sink) = import(&path, FileCursor::default()).await;
    assert_eq!(summary.events, 4);
    let rejected: Vec<u64> = summary.rejected.iter().map(|r| r.line).collect();
    assert_eq!(rejected, vec![3, 6]);
    assert!(
        summary.rejected[0].reason.contains("at line 1 column 5"),
        "{:?}",
        summary.rejected[0]
    );
    assert!(
        summary.rejected[1].reason.contains("EOF"),
        "{:?}",
        summary.rejected[1]
    );
    assert!(
        summary.incomplete_tail,
        "the unfinished last line waits for the writer"
    );
    let outcomes: Vec<Outcome> = sink.events.iter().map(|e| e.outcome).collect();
    assert_eq!(
        outcomes,
        vec![Outcome::Allow, Outcome::Deny, Outcome::Error, Outcome::Deny]
    );

    // Re-importing the same file from the start yields the same keys (idempotent import).
    let (_, again) = import(&path, FileCursor::default()).await;
    let keys = |s: &VecAuditSink| {
        s.events
            .iter()
            .map(|e| e.dedup_key.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&sink), keys(&again));
    let distinct: std::collections::HashSet<_> = keys(&sink).into_iter().collect();
    assert_eq!(distinct.len(), 4);

    // The writer finishes the last line: only it is read next time.
    let rest = &line[line.len() / 2..];
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut f, format!("{rest}\n").as_bytes()).unwrap();
    let (next, sink) = import(&path, summary.cursor.clone()).await;
    assert_eq!(next.events, 1);
    assert!(next.rejected.is_empty());
    assert_eq!(next.cursor.line, 8);
    // It is the authentic entry again: same content, same key as line 1.
    assert_eq!(
        sink.events[0].dedup_key,
        parse_kong_log_line(&line, 1).unwrap().dedup_key
    );
}

#[test]
fn redaction_keeps_no_credential_from_headers_or_query() {
    let mut v: Value = serde_json::from_str(&authentic_line()).unwrap();
    v["request"]["headers"]["apikey"] = "key-in-header-0001".into();
    v["request"]["headers"]["authorization"] = "Basic Zm9vOmJhcg==".into();
    v["request"]["querystring"]["apikey"] = "key-in-query-0001".into();
    v["request"]["uri"] = "/log?apikey=key-in-query-0001".into();
    v["request"]["url"] = "http://localhost:8000/log?apikey=key-in-query-0001".into();
    v["upstream_uri"] = "/anything?apikey=key-in-query-0001".into();
    v["response"]["headers"]["set-cookie"] = "session=cookie-0001".into();
    let ev = parse_kong_log_line(&serde_json::to_string(&v).unwrap(), 1).unwrap();
    let raw = ev.raw.to_string();
    for secret in [
        "key-in-header-0001",
        "Zm9vOmJhcg==",
        "key-in-query-0001",
        "cookie-0001",
    ] {
        assert!(!raw.contains(secret), "{secret} in {raw}");
    }
    assert_eq!(ev.raw["request"]["uri"], "/log");
    assert!(ev.raw["request"]["headers"]["redacted"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h == "authorization"));
    assert_eq!(
        ev.raw["request"]["querystring_keys"],
        serde_json::json!(["apikey"])
    );
}
