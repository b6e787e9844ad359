//! Incremental reading of JSON-lines audit files (Vault's file audit device, node-oidc-provider's
//! event log, Kong's file-log, Kubernetes audit logs, imported files).
//!
//! The cursor is the byte offset after the last complete line, so a partly written last line is
//! left for the next read instead of being rejected, and a file that got shorter than the cursor
//! (rotated or truncated) is read again from the start. Each batch goes to the sink with the
//! cursor that follows it, so a crash between batches loses nothing and duplicates nothing.

use portcullis_model::{AuditEvent, RejectionClass, REJECTION_SAMPLE};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

use crate::{AuditSink, ConnectorError, Cursor};

/// Events per sink batch.
pub const BATCH: usize = 2_000;
/// Lines longer than this are rejected, not buffered without end.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;
/// A line still without its newline after this many bytes ends the read with an error: no
/// JSON-lines log has such a line, and skipping it would never end on an endless source
/// (`/dev/zero`, a stuck pipe writer).
pub const MAX_SKIP_BYTES: u64 = 8 * MAX_LINE_BYTES as u64;

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
    /// The first rejected lines (at most [`REJECTION_SAMPLE`]); the rest are only counted, so a
    /// file of garbage costs a bounded summary.
    pub rejected: Vec<Rejection>,
    pub rejected_total: u64,
    pub rejected_by_class: BTreeMap<RejectionClass, u64>,
    /// A last line without its newline, left for next time.
    pub incomplete_tail: bool,
    /// That last line's bytes (at most `MAX_LINE_BYTES + 1`), for a reader that wants it now
    /// (an import): reading the file again is not possible for a pipe.
    #[serde(skip)]
    pub tail: Vec<u8>,
    pub cursor: FileCursor,
}

impl ReadSummary {
    /// Counts a rejected line, keeping it with its reason while the sample has room.
    pub fn reject(&mut self, line: u64, class: RejectionClass, reason: impl FnOnce() -> String) {
        self.rejected_total += 1;
        *self.rejected_by_class.entry(class).or_default() += 1;
        if self.rejected.len() < REJECTION_SAMPLE {
            self.rejected.push(Rejection {
                line,
                reason: reason(),
            });
        }
    }
}

/// The class of a line parser's reason: [`parse_json_line`]'s reasons are JSON errors, any
/// other is the format's own verdict on valid JSON.
pub fn classify(reason: &str) -> RejectionClass {
    if reason.starts_with(INVALID_JSON) {
        RejectionClass::InvalidJson
    } else {
        RejectionClass::NotAnEvent
    }
}

const INVALID_JSON: &str = "invalid JSON";

/// What one line parser says about one line.
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
    let target = format!("audit file {}", path.display());
    let io_err = |source: std::io::Error| ConnectorError::LocalFile {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    let cursor = if since.offset > len {
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
    read_lines(&mut reader, &target, cursor, sink, parse).await
}

/// Reads lines from `reader`, which stands at `cursor`; `target` names it in errors.
pub async fn read_lines<R, F>(
    reader: &mut R,
    target: &str,
    mut cursor: FileCursor,
    sink: &mut dyn AuditSink,
    parse: F,
) -> Result<ReadSummary, ConnectorError>
where
    R: BufRead,
    F: Fn(&str, u64) -> Result<LineOutcome, String>,
{
    let mut summary = ReadSummary::default();
    let mut batch = Vec::with_capacity(BATCH);
    let mut buf = Vec::new();
    loop {
        if sink.is_cancelled() {
            return Err(ConnectorError::Cancelled);
        }
        buf.clear();
        let n = read_line_capped(reader, &mut buf, &*sink)
            .map_err(|e| line_error(target, &cursor, e))?;
        if n == 0 {
            break;
        }
        if buf.last() != Some(&b'\n') {
            summary.incomplete_tail = true;
            summary.tail = std::mem::take(&mut buf);
            break;
        }
        cursor.offset += n as u64;
        cursor.line += 1;
        summary.lines += 1;
        if let Some(event) = parse_line(&buf, n, cursor.line, &parse, &mut summary) {
            batch.push(event);
        }
        if batch.len() >= BATCH {
            flush(sink, &mut batch, &cursor).await?;
        }
    }
    flush(sink, &mut batch, &cursor).await?;
    summary.cursor = cursor;
    Ok(summary)
}

/// One complete line of `n` bytes (`buf` holds at most the cap of it): an event, or counted as
/// skipped or rejected.
fn parse_line<F>(
    buf: &[u8],
    n: usize,
    line_no: u64,
    parse: &F,
    summary: &mut ReadSummary,
) -> Option<AuditEvent>
where
    F: Fn(&str, u64) -> Result<LineOutcome, String>,
{
    if n > MAX_LINE_BYTES {
        summary.reject(line_no, RejectionClass::TooLong, || {
            format!("line longer than {} MiB", MAX_LINE_BYTES >> 20)
        });
        return None;
    }
    let text = match std::str::from_utf8(buf) {
        Ok(t) => t.trim_end_matches(['\n', '\r']),
        Err(e) => {
            summary.reject(line_no, RejectionClass::NotUtf8, || {
                format!("not UTF-8: {e}")
            });
            return None;
        }
    };
    if text.trim().is_empty() {
        return None;
    }
    match parse(text, line_no) {
        Ok(LineOutcome::Event(ev)) => {
            summary.events += 1;
            Some(*ev)
        }
        Ok(LineOutcome::Skip) => {
            summary.skipped += 1;
            None
        }
        Err(reason) => {
            summary.reject(line_no, classify(&reason), || reason);
            None
        }
    }
}

/// Why reading stopped inside a line.
enum LineStop {
    Io(std::io::Error),
    Endless,
    Cancelled,
}

fn line_error(target: &str, cursor: &FileCursor, e: LineStop) -> ConnectorError {
    match e {
        LineStop::Io(source) => ConnectorError::LocalFile {
            path: target.to_string(),
            source,
        },
        LineStop::Endless => ConnectorError::Malformed {
            target: target.to_string(),
            what: format!("line {}", cursor.line + 1),
            detail: format!(
                "no newline within {} MiB: this is not a JSON-lines log",
                MAX_SKIP_BYTES >> 20
            ),
        },
        LineStop::Cancelled => ConnectorError::Cancelled,
    }
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
/// enormous line cannot exhaust memory; a line running past [`MAX_SKIP_BYTES`] ends the read,
/// and so does the sink's cancellation. Returns bytes consumed.
fn read_line_capped<R: BufRead>(
    r: &mut R,
    out: &mut Vec<u8>,
    sink: &dyn AuditSink,
) -> Result<usize, LineStop> {
    let mut consumed = 0;
    loop {
        let available = r.fill_buf().map_err(LineStop::Io)?;
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
        if consumed as u64 > MAX_SKIP_BYTES {
            return Err(LineStop::Endless);
        }
        if sink.is_cancelled() {
            return Err(LineStop::Cancelled);
        }
    }
}

/// Parses a line as JSON, turning serde's error into a reason with the column.
pub fn parse_json_line(line: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(line).map_err(|e| format!("{INVALID_JSON} at column {}: {e}", e.column()))
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

    /// A file that is not there is about its path: not "unreachable", no URL or port advice.
    #[tokio::test]
    async fn a_missing_file_is_a_local_file_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.log");
        let mut sink = VecAuditSink::default();
        let err = read_jsonl(&path, FileCursor::default(), &mut sink, parse)
            .await
            .unwrap_err();
        assert_eq!(err.code(), portcullis_model::ErrorCode::NotFound, "{err}");
        let text = err.to_string();
        assert!(
            text.contains("nope.log") && text.contains("check the path"),
            "{text}"
        );
        assert!(!text.contains("URL") && !text.contains(" port"), "{text}");
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
        assert_eq!(s.rejected_by_class[&RejectionClass::TooLong], 1);
        assert_eq!(s.events, 1);
        assert_eq!(sink.events[0].actor.as_deref(), Some("after"));
    }

    /// An endless source without a newline, like `/dev/zero`; counts what was read from it.
    struct Endless {
        byte: u8,
        served: u64,
    }

    impl std::io::Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            buf.fill(self.byte);
            self.served += buf.len() as u64;
            Ok(buf.len())
        }
    }

    #[tokio::test]
    async fn an_endless_line_ends_the_read_after_the_skip_cap_with_bounded_memory() {
        for byte in [0u8, b'x'] {
            let mut src = Endless { byte, served: 0 };
            let mut reader = std::io::BufReader::with_capacity(1 << 16, &mut src);
            let mut sink = VecAuditSink::default();
            let err = read_lines(
                &mut reader,
                "zeros",
                FileCursor::default(),
                &mut sink,
                parse,
            )
            .await
            .unwrap_err();
            assert!(
                matches!(&err, ConnectorError::Malformed { what, .. } if what == "line 1"),
                "{err}"
            );
            assert!(err.to_string().contains("not a JSON-lines log"), "{err}");
            let served = src.served;
            assert!(
                served > MAX_SKIP_BYTES && served < MAX_SKIP_BYTES + (1 << 17),
                "{served}"
            );
        }
    }

    #[tokio::test]
    async fn garbage_lines_give_a_bounded_sample_and_exact_counts_by_class() {
        let mut text = String::new();
        for i in 0..5_000 {
            match i % 3 {
                0 => text.push_str("garbage\n"),
                1 => text.push_str("{\"skip\":1}\n"),
                _ => text.push_str("[1, 2\n"),
            }
        }
        text.push_str("\u{ff}\n");
        let mut bytes = text.into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = 0xff; // invalid UTF-8
        let mut reader = std::io::Cursor::new(bytes);
        let mut sink = VecAuditSink::default();
        let s = read_lines(&mut reader, "t", FileCursor::default(), &mut sink, parse)
            .await
            .unwrap();
        assert_eq!(s.lines, 5_001);
        assert_eq!(s.skipped, 1_667);
        assert_eq!(s.rejected_total, 3_334);
        assert_eq!(s.rejected.len(), REJECTION_SAMPLE);
        assert_eq!((s.rejected[0].line, s.rejected[1].line), (1, 3));
        assert_eq!(s.rejected_by_class[&RejectionClass::InvalidJson], 3_333);
        assert_eq!(s.rejected_by_class[&RejectionClass::NotUtf8], 1);
    }

    /// A sink that is cancelled from the start.
    struct Cancelled;

    #[async_trait::async_trait]
    impl AuditSink for Cancelled {
        async fn batch(&mut self, _: Vec<AuditEvent>, _: Cursor) -> Result<(), crate::SinkError> {
            Ok(())
        }
        fn is_cancelled(&self) -> bool {
            true
        }
    }

    #[tokio::test]
    async fn a_cancelled_sink_stops_a_read_of_garbage_and_an_endless_line() {
        let mut garbage = std::io::Cursor::new("garbage\n".repeat(10_000).into_bytes());
        let err = read_lines(
            &mut garbage,
            "t",
            FileCursor::default(),
            &mut Cancelled,
            parse,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ConnectorError::Cancelled), "{err}");
        assert_eq!(garbage.position(), 0);
        let mut src = Endless {
            byte: b'x',
            served: 0,
        };
        let mut reader = std::io::BufReader::with_capacity(1 << 16, &mut src);
        // Past the first check between lines: cancellation is seen inside the line too.
        let mut buf = Vec::new();
        let stop = read_line_capped(&mut reader, &mut buf, &Cancelled);
        assert!(matches!(stop, Err(LineStop::Cancelled)));
        assert!(src.served <= 1 << 16);
    }

    #[tokio::test]
    async fn the_incomplete_last_line_is_handed_back() {
        let mut reader = std::io::Cursor::new(b"{\"who\":\"a\"}\n{\"who\":\"b\"}".to_vec());
        let mut sink = VecAuditSink::default();
        let s = read_lines(&mut reader, "t", FileCursor::default(), &mut sink, parse)
            .await
            .unwrap();
        assert!(s.incomplete_tail);
        assert_eq!(s.tail, b"{\"who\":\"b\"}");
        assert_eq!(
            s.cursor,
            FileCursor {
                offset: 12,
                line: 1
            }
        );
    }

    #[test]
    fn cursor_round_trips_and_garbage_cursor_starts_over() {
        let c = FileCursor { offset: 5, line: 2 };
        assert_eq!(FileCursor::parse(Some(&c.encode())), c);
        assert_eq!(FileCursor::parse(Some("garbage")), FileCursor::default());
    }
}
