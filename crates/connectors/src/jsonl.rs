//! Incremental reading of JSON-lines audit files (Vault's file audit device, node-oidc-provider's
//! event log, Kong's file-log, Kubernetes audit logs, imported files).
//!
//! The cursor is the byte offset after the last complete line, so a partly written last line is
//! left for the next read instead of being rejected, and a file that got shorter than the cursor
//! (rotated or truncated) is read again from the start. Each batch goes to the sink with the
//! cursor that follows it, so a crash between batches loses nothing and duplicates nothing.

use portcullis_model::AuditEvent;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

use crate::{AuditSink, ConnectorError, Cursor};

/// Events per sink batch.
pub const BATCH: usize = 2_000;
/// Lines longer than this are rejected, not buffered without end.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileCursor {
    pub offset: u64,
    /// Number of lines consumed so far, so rejections can name the line.
    pub line: u64,
}

impl FileCursor {
    pub fn parse(cursor: Option<&str>) -> FileCursor {
        cursor
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default()
    }

    pub fn encode(&self) -> Cursor {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// A line that could not be turned into an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub line: u64,
    pub reason: String,
}

/// What one read did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReadSummary {
    pub lines: u64,
    pub events: u64,
    /// Lines that are valid but not events of interest (e.g. Vault request halves).
    pub skipped: u64,
    pub rejected: Vec<Rejection>,
    /// A last line without its newline, left for next time.
    pub incomplete_tail: bool,
    pub cursor: FileCursor,
}

/// What a line parser says about one line.
pub enum LineOutcome {
    Event(Box<AuditEvent>),
    Skip,
}

/// Reads `path` from `since`, parsing each complete line with `parse(line, line_no)`.
pub async fn read_jsonl<F>(
    path: &Path,
    since: FileCursor,
    sink: &mut dyn AuditSink,
    parse: F,
) -> Result<ReadSummary, ConnectorError>
where
    F: Fn(&str, u64) -> Result<LineOutcome, String>,
{
    let io_err = |e: std::io::Error| ConnectorError::Unreachable {
        target: format!("audit file {}", path.display()),
        detail: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    let mut cursor = if since.offset > len {
        tracing::info!(path = %path.display(), "audit file is shorter than the cursor: rotated, reading from the start");
        FileCursor::default()
    } else {
        since
    };
    let mut reader = BufReader::with_capacity(1 << 20, file);
    // A pipe cannot seek (and needs not: it is read from its start).
    if cursor.offset > 0 {
        reader
            .seek(SeekFrom::Start(cursor.offset))
            .map_err(io_err)?;
    }
    let mut summary = ReadSummary::default();
    let mut batch = Vec::with_capacity(BATCH);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = read_line_capped(&mut reader, &mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        if buf.last() != Some(&b'\n') {
            summary.incomplete_tail = true;
            break;
        }
        cursor.offset += n as u64;
        cursor.line += 1;
        summary.lines += 1;
        let line_no = cursor.line;
        if n > MAX_LINE_BYTES {
            summary.rejected.push(Rejection {
                line: line_no,
                reason: format!("line longer than {} MiB", MAX_LINE_BYTES >> 20),
            });
            continue;
        }
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.trim_end_matches(['\n', '\r']),
            Err(e) => {
                summary.rejected.push(Rejection {
                    line: line_no,
                    reason: format!("not UTF-8: {e}"),
                });
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        match parse(text, line_no) {
            Ok(LineOutcome::Event(ev)) => {
                batch.push(*ev);
                summary.events += 1;
            }
            Ok(LineOutcome::Skip) => summary.skipped += 1,
            Err(reason) => summary.rejected.push(Rejection {
                line: line_no,
                reason,
            }),
        }
        if batch.len() >= BATCH {
            flush(sink, &mut batch, &cursor).await?;
        }
    }
    flush(sink, &mut batch, &cursor).await?;
    summary.cursor = cursor;
    Ok(summary)
}

async fn flush(
    sink: &mut dyn AuditSink,
    batch: &mut Vec<AuditEvent>,
    cursor: &FileCursor,
) -> Result<(), ConnectorError> {
    let events = std::mem::take(batch);
    Ok(sink.batch(events, cursor.encode()).await?)
}

/// Reads one line but stops storing after the cap (still consuming to the newline), so one
/// enormous line cannot exhaust memory. Returns bytes consumed.
fn read_line_capped<R: BufRead>(r: &mut R, out: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut consumed = 0;
    loop {
        let available = r.fill_buf()?;
        if available.is_empty() {
            return Ok(consumed);
        }
        let (take, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if out.len() < MAX_LINE_BYTES + 1 {
            let room = (MAX_LINE_BYTES + 1 - out.len()).min(take);
            out.extend_from_slice(&available[..room]);
            if room < take && done {
                out.push(b'\n');
            }
        } else if done {
            out.push(b'\n');
        }
        r.consume(take);
        consumed += take;
        if done {
            return Ok(consumed);
        }
    }
}

/// Parses a line as JSON, turning serde's error into a reason with the column.
pub fn parse_json_line(line: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(line).map_err(|e| format!("invalid JSON at column {}: {e}", e.column()))
}

/// A stable key for a line whose format has no id of its own.
pub fn content_key(line: &str) -> String {
    crate::fingerprint(line.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VecAuditSink;
    use chrono::Utc;
    use portcullis_model::Outcome;
    use std::io::Write;

    fn parse(line: &str, _n: u64) -> Result<LineOutcome, String> {
        let v = parse_json_line(line)?;
        if v.get("skip").is_some() {
            return Ok(LineOutcome::Skip);
        }
        Ok(LineOutcome::Event(Box::new(AuditEvent {
            dedup_key: content_key(line),
            at: Utc::now(),
            actor: v.get("who").and_then(|w| w.as_str()).map(str::to_string),
            credential: None,
            action: "x".into(),
            resource: None,
            outcome: Outcome::Allow,
            source_ip: None,
            raw: v,
        })))
    }

    #[tokio::test]
    async fn reads_incrementally_rejects_garbage_and_waits_for_a_partial_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let mut f = std::fs::File::create(&path).unwrap();
        write!(
            f,
            "{{\"who\":\"a\"}}\nnot json\n{{\"skip\":1}}\n\n{{\"who\":\"b\"}}\n{{\"who\":"
        )
        .unwrap();
        f.flush().unwrap();

        let mut sink = VecAuditSink::default();
        let s = read_jsonl(&path, FileCursor::default(), &mut sink, parse)
            .await
            .unwrap();
        assert_eq!(s.events, 2);
        assert_eq!(s.skipped, 1);
        assert_eq!(s.rejected.len(), 1);
        assert_eq!(s.rejected[0].line, 2);
        assert!(s.rejected[0].reason.contains("column"));
        assert!(s.incomplete_tail);
        assert_eq!(s.cursor.line, 5);

        // The writer finishes the line; the next read picks up exactly that event.
        writeln!(f, "\"c\"}}").unwrap();
        f.flush().unwrap();
        let mut sink2 = VecAuditSink::default();
        let s2 = read_jsonl(&path, s.cursor.clone(), &mut sink2, parse)
            .await
            .unwrap();
        assert_eq!(s2.events, 1);
        assert_eq!(sink2.events[0].actor.as_deref(), Some("c"));
        assert_eq!(s2.cursor.line, 6);
        assert!(!s2.incomplete_tail);

        // Nothing new: nothing read.
        let mut sink3 = VecAuditSink::default();
        let s3 = read_jsonl(&path, s2.cursor.clone(), &mut sink3, parse)
            .await
            .unwrap();
        assert_eq!(s3.events, 0);
    }

    #[tokio::test]
    async fn truncated_file_restarts_from_the_beginning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, "{\"who\":\"a\"}\n").unwrap();
        let mut sink = VecAuditSink::default();
        let far = FileCursor {
            offset: 10_000,
            line: 99,
        };
        let s = read_jsonl(&path, far, &mut sink, parse).await.unwrap();
        assert_eq!(s.events, 1);
        assert_eq!(s.cursor.line, 1);
    }

    #[tokio::test]
    async fn huge_line_is_rejected_not_buffered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let mut big = String::from("{\"who\":\"");
        big.push_str(&"x".repeat(MAX_LINE_BYTES + 10));
        big.push_str("\"}\n{\"who\":\"after\"}\n");
        std::fs::write(&path, big).unwrap();
        let mut sink = VecAuditSink::default();
        let s = read_jsonl(&path, FileCursor::default(), &mut sink, parse)
            .await
            .unwrap();
        assert_eq!(s.rejected.len(), 1);
        assert_eq!(s.events, 1);
        assert_eq!(sink.events[0].actor.as_deref(), Some("after"));
    }

    #[test]
    fn cursor_round_trips_and_garbage_cursor_starts_over() {
        let c = FileCursor { offset: 5, line: 2 };
        assert_eq!(FileCursor::parse(Some(&c.encode())), c);
        assert_eq!(FileCursor::parse(Some("garbage")), FileCursor::default());
    }
}
