//! Import tests of Kubernetes audit logs (audit.k8s.io Events, JSON lines) through the shared
//! JSON-lines reader.
//!
//! A Kubernetes API server cannot run on our machines: the lines are a real API-server audit log
//! (`audit2rbac-demo-audit.jsonl`, v1beta1-era field names) and hand-written v1 events (see
//! `PROVENANCE.md`), with garbage and truncated lines mixed in to pin exact counts and line numbers.

use portcullis_connectors::jsonl::{read_jsonl, FileCursor, ReadSummary};
use portcullis_connectors::kubernetes::audit::line_outcome;
use portcullis_connectors::kubernetes::parse_k8s_audit_line;
use portcullis_connectors::VecAuditSink;
use portcullis_model::Outcome;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/kubernetes")
            .join(name),
    )
    .unwrap()
}

async fn import(path: &Path, since: FileCursor) -> (ReadSummary, VecAuditSink) {
    let mut sink = VecAuditSink::default();
    let summary = read_jsonl(path, since, &mut sink, line_outcome)
        .await
        .unwrap();
    (summary, sink)
}

fn keys(s: &VecAuditSink) -> Vec<String> {
    s.events.iter().map(|e| e.dedup_key.clone()).collect()
}

#[tokio::test]
async fn real_log_with_garbage_in_the_middle_and_a_truncated_tail() {
    let log = fixture("audit2rbac-demo-audit.jsonl");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 37);
    let last = lines[36];
    let mut content = String::new();
    for (i, l) in lines[..36].iter().enumerate() {
        content.push_str(l);
        content.push('\n');
        if i == 17 {
            // Line 19 of the file.
            content.push_str("I0911 19:58:37.000000 kube-apiserver: not an audit line\n");
        }
    }
    // Line 38: the last event cut short and newline-terminated (a crash mid-write, then restart).
    content.push_str(&last[..last.len() - 40]);
    content.push('\n');
    // Line 39: the same event, whole. Line 40: a line still being written.
    content.push_str(last);
    content.push('\n');
    content.push_str(&last[..100]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    std::fs::write(&path, &content).unwrap();

    let (summary, sink) = import(&path, FileCursor::default()).await;
    assert_eq!(summary.events, 37);
    assert_eq!(summary.skipped, 0);
    let rejected: Vec<u64> = summary.rejected.iter().map(|r| r.line).collect();
    assert_eq!(rejected, vec![19, 38]);
    assert!(
        summary.rejected[1].reason.contains("EOF while parsing"),
        "{:?}",
        summary.rejected[1]
    );
    assert!(summary.incomplete_tail);
    assert_eq!(summary.cursor.line, 39);
    let denied = sink
        .events
        .iter()
        .filter(|e| e.outcome == Outcome::Deny)
        .count();
    assert_eq!(denied, 11);

    // Re-importing gives identical keys, and re-parsing each line does too.
    let (_, again) = import(&path, FileCursor::default()).await;
    assert_eq!(keys(&sink), keys(&again));
    let reparsed: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| parse_k8s_audit_line(l, i as u64 + 1).unwrap().dedup_key)
        .collect();
    assert_eq!(keys(&sink), reparsed);
}

#[tokio::test]
async fn v1_log_skips_opening_stages_and_dedups_on_audit_id_and_stage() {
    let v1 = fixture("k8s-audit-v1.handwritten.jsonl");
    let second = v1.lines().nth(1).unwrap().to_string();
    // The same event logged twice (an audit backend retry) keeps one key.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    std::fs::write(&path, format!("{v1}{second}\n")).unwrap();
    let (summary, sink) = import(&path, FileCursor::default()).await;
    assert_eq!(summary.lines, 10);
    assert_eq!(summary.skipped, 2, "RequestReceived and ResponseStarted");
    assert_eq!(summary.events, 8);
    assert!(summary.rejected.is_empty());
    let k = keys(&sink);
    assert_eq!(k[0], k[7]);
    let distinct: std::collections::HashSet<&String> = k.iter().collect();
    assert_eq!(distinct.len(), 7);
    let watch = sink.events.iter().find(|e| e.action == "watch").unwrap();
    assert_eq!(
        watch.dedup_key,
        "k8s:3f2b7a0e-aaaa-4bbb-8ccc-000000000006:ResponseComplete"
    );
}
