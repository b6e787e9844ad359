//! `portcullis audit import`: one audit file of a known format into a registered backend.
//!
//! Parsing (JSON, normalisation, raw serialisation, the index summary) runs on its own thread
//! while the calling thread writes, so the two overlap; batches travel through a bounded channel
//! (back-pressure, bounded memory). Re-importing a file adds nothing: every event's dedup key is
//! unique per backend. An import killed half-way keeps what it committed, and running it again
//! skips those events and adds the rest. The backend's own sync cursor is left alone: an import
//! is not the backend's live log.

use futures::executor::block_on;
use portcullis_connectors::jsonl::{
    read_jsonl, FileCursor, LineOutcome, ReadSummary, MAX_LINE_BYTES,
};
use portcullis_connectors::{AuditSink, ConnectorError, SinkError};
use portcullis_model::{
    AuditEvent, AuditFormat, ErrorCode, ImportReport, LineRejection, Progress, RejectionClass,
    RejectionCount, REJECTION_SAMPLE,
};
use portcullis_store::PreparedAuditEvent;
use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{EngineError, Result, Workspace};

type LineParser = fn(&str, u64) -> std::result::Result<LineOutcome, String>;

/// The line parser of each format (all from `portcullis-connectors`).
pub fn line_parser(format: AuditFormat) -> LineParser {
    match format {
        AuditFormat::Vault => portcullis_connectors::vault::parse_audit_line,
        AuditFormat::K8s => portcullis_connectors::kubernetes::audit::line_outcome,
        AuditFormat::Pgaudit => portcullis_connectors::postgres::parse_jsonlog_line,
        AuditFormat::Kong => portcullis_connectors::kong::log::line_outcome,
        AuditFormat::OidcProvider => portcullis_connectors::oauth2::events::parse_line,
    }
}

/// Events handed to the writer at once (what is already waiting in the channel, up to this).
const EVENTS_PER_GROUP: usize = 16_000;
/// Events per write transaction (at least; a bulk transaction holds as many as the table did
/// before it, see `AuditWriter::transaction_full`). A commit writes every index page the
/// transaction touched, and random keys (dedup keys, fingerprints) touch most pages of their
/// index, so a big import wants few commits; a crash loses only the open transaction's events,
/// which the next run re-imports (nothing committed is lost, nothing is imported twice).
const EVENTS_PER_TRANSACTION: u64 = 250_000;

struct Batch {
    events: Vec<PreparedAuditEvent>,
    /// Bytes of the file consumed after this batch.
    offset: u64,
}

/// Prepares events on the parsing thread and hands them to the writer.
struct ChannelSink<'a> {
    tx: SyncSender<Batch>,
    /// Audit-log HMAC → credential id (Vault), applied as events arrive, as sync does.
    hashes: &'a HashMap<String, String>,
    cancel: &'a CancellationToken,
}

#[async_trait::async_trait]
impl AuditSink for ChannelSink<'_> {
    async fn batch(&mut self, events: Vec<AuditEvent>, cursor: String) -> Result<(), SinkError> {
        if self.cancel.is_cancelled() {
            return Err(SinkError::cancelled());
        }
        let offset = FileCursor::parse(Some(&cursor)).offset;
        let events = events
            .into_iter()
            .map(|mut e| {
                if let Some(id) = e.credential.as_ref().and_then(|c| self.hashes.get(c)) {
                    e.credential = Some(id.clone());
                }
                PreparedAuditEvent::new(e)
            })
            .collect();
        self.tx
            .send(Batch { events, offset })
            .map_err(|_| SinkError::new(ErrorCode::Storage, "the cache writer stopped"))
    }

    fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

/// What the parsing thread found.
struct Parsed {
    summary: std::result::Result<ReadSummary, ConnectorError>,
    /// The last line had no newline: what became of it.
    tail: Option<TailOutcome>,
    /// The first few rejected lines (cut short), to tell which format the file is in.
    samples: Vec<String>,
}

enum TailOutcome {
    Event,
    Skipped,
    Rejected(RejectionClass, LineRejection),
}

/// Rejected lines kept to guess the file's format from, and how much of each.
const FORMAT_SAMPLES: usize = 3;
const FORMAT_SAMPLE_BYTES: usize = 64 * 1024;

/// Reads the file on this (dedicated) thread, sending batches; a last line without its newline
/// is parsed too (a finished file's last line, or a truncated one, which is then rejected). The
/// file is read once from its start, never sought or reopened, so a FIFO works.
fn parse_file(path: &Path, parser: LineParser, mut sink: ChannelSink<'_>) -> Parsed {
    let samples = std::cell::RefCell::new(Vec::new());
    let keeping = |line: &str, n: u64| {
        let outcome = parser(line, n);
        if outcome.is_err() {
            let mut kept = samples.borrow_mut();
            if kept.len() < FORMAT_SAMPLES && line.len() <= FORMAT_SAMPLE_BYTES {
                kept.push(line.to_string());
            }
        }
        outcome
    };
    let summary = block_on(read_jsonl(path, FileCursor::default(), &mut sink, keeping));
    let tail = match &summary {
        Ok(s) if s.incomplete_tail => Some(parse_tail(s, parser, &sink)),
        _ => None,
    };
    Parsed {
        summary,
        tail,
        samples: samples.into_inner(),
    }
}

fn parse_tail(s: &ReadSummary, parser: LineParser, sink: &ChannelSink<'_>) -> TailOutcome {
    let line = s.cursor.line + 1;
    let rejected =
        |class, reason: String| TailOutcome::Rejected(class, LineRejection { line, reason });
    if s.tail.len() > MAX_LINE_BYTES {
        return rejected(
            RejectionClass::TooLong,
            format!("line longer than {} MiB", MAX_LINE_BYTES >> 20),
        );
    }
    let text = String::from_utf8_lossy(&s.tail);
    match parser(text.trim_end_matches('\r'), line) {
        Ok(LineOutcome::Event(ev)) => {
            let batch = Batch {
                events: vec![PreparedAuditEvent::new(*ev)],
                offset: s.cursor.offset + s.tail.len() as u64,
            };
            match sink.tx.send(batch) {
                Ok(()) => TailOutcome::Event,
                Err(_) => rejected(
                    RejectionClass::Incomplete,
                    "the cache writer stopped".into(),
                ),
            }
        }
        Ok(LineOutcome::Skip) => TailOutcome::Skipped,
        Err(reason) => rejected(
            RejectionClass::Incomplete,
            format!("last line is incomplete (no newline at the end of the file): {reason}"),
        ),
    }
}

/// The formats other than `format` that read one of `samples` (lines `format` rejected).
fn other_formats(format: AuditFormat, samples: &[String]) -> Vec<AuditFormat> {
    AuditFormat::ALL
        .into_iter()
        .filter(|f| *f != format)
        .filter(|f| {
            let parse = line_parser(*f);
            samples.iter().any(|l| parse(l, 1).is_ok())
        })
        .collect()
}

/// The error of an import in which no line was understood: which format was asked for, what
/// the lines were, and the `--format` they look like, if any.
fn nothing_understood(report: &ImportReport, guesses: &[AuditFormat]) -> EngineError {
    let classes: Vec<String> = report
        .rejected_by_class
        .iter()
        .map(|c| format!("{} {}", c.count, c.class.label()))
        .collect();
    let first = report
        .rejected
        .first()
        .map(|r| format!("; first: line {}: {}", r.line, r.reason))
        .unwrap_or_default();
    let hint = match guesses.first() {
        Some(g) => format!(
            "it reads as --format {g} (the log of a {} backend): {}",
            g.backend_kind().label(),
            crate::shell::suggestion(&[
                "portcullis",
                "audit",
                "import",
                "--format",
                g.as_str(),
                "--backend",
                "NAME",
                &report.file
            ]),
            g = g.as_str()
        ),
        None => {
            let names: Vec<&str> = AuditFormat::ALL.iter().map(|f| f.as_str()).collect();
            format!(
                "check the file, or give the --format of the program that wrote it (one of: {})",
                names.join(", ")
            )
        }
    };
    EngineError::InvalidInput(format!(
        "nothing imported: no line of {} is a --format {} record ({} rejected: {}{first}); {hint}",
        report.file,
        report.format.as_str(),
        report.rejected_total,
        classes.join(", ")
    ))
}

/// Takes the next batch and whatever else is already waiting, up to a transaction's worth.
fn next_group(rx: &Receiver<Batch>) -> Option<(Vec<PreparedAuditEvent>, u64)> {
    let first = rx.recv().ok()?;
    let mut events = first.events;
    let mut offset = first.offset;
    while events.len() < EVENTS_PER_GROUP {
        match rx.try_recv() {
            Ok(b) => {
                events.extend(b.events);
                offset = b.offset;
            }
            Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => break,
        }
    }
    Some((events, offset))
}

/// Events still to come in a file of `size` bytes, `done` of them read into `events` events: by
/// the average line so far (at the start, a guess of 200 bytes a line, on the high side of
/// counting so that a big file opens in bulk mode, see `AuditWriter::expect`).
fn events_left(size: u64, done: u64, events: u64) -> u64 {
    let per_event = done.checked_div(events).map_or(200, |b| b.max(1));
    size.saturating_sub(done) / per_event
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A progress line of a running import: events so far, bytes of the file, the rate since the
/// import started and, for a file, the time left at that rate. The rate is measured over
/// everything done so far, index builds of committed transactions included, so the estimate
/// does not promise the speed of the cheap part of a transaction.
fn advance_message(events: u64, imported: u64, done: u64, size: Option<u64>, secs: f64) -> String {
    let mut m = format!(
        "{events} events ({imported} new), {} of {}",
        mib(done),
        size.map_or_else(|| "a stream".into(), mib)
    );
    if secs > 0.0 && events > 0 {
        m.push_str(&format!(", {:.0} events/s", events as f64 / secs));
        if let Some(size) = size.filter(|_| done > 0) {
            let left = size.saturating_sub(done) as f64 * secs / done as f64;
            m.push_str(&format!(", about {} left", duration_words(left)));
        }
    }
    m
}

/// A commit of at least this many events gets a progress line of its own: it indexes them all
/// at once, which takes seconds with no bytes read meanwhile.
const INDEXING_NOTE_EVENTS: u64 = 50_000;

fn advanced(task: &str, done: u64, total: Option<u64>, message: String) -> Progress {
    Progress::Advanced {
        task: task.to_string(),
        done,
        total,
        message,
    }
}

/// Says that a big commit is under way (same `done` as the line before it: no bytes are read
/// while it runs, which is how the CLI tells it is a step, not a batch).
fn note_indexing(
    progress: &(dyn Fn(Progress) + Send + Sync),
    task: &str,
    (done, size): (u64, Option<u64>),
    events: u64,
    pending: u64,
) {
    if pending >= INDEXING_NOTE_EVENTS {
        let message = format!(
            "{events} events read; indexing {pending} of them (indexes and full-text index in one pass, then commit)…"
        );
        progress(advanced(task, done, size, message));
    }
}

/// `42 s`, `3 min 05 s`, `1 h 02 min`.
fn duration_words(secs: f64) -> String {
    let s = secs.round().max(0.0) as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

/// The line counts of a report: the reader's, with the last line's fate added. The other fields
/// are the caller's to fill.
fn with_tail(summary: ReadSummary, tail: Option<TailOutcome>) -> ImportReport {
    let mut r = ImportReport {
        backend: String::new(),
        format: AuditFormat::Vault,
        file: String::new(),
        lines: summary.lines,
        imported: 0,
        duplicates: 0,
        skipped: summary.skipped,
        rejected: summary
            .rejected
            .into_iter()
            .map(|r| LineRejection {
                line: r.line,
                reason: r.reason,
            })
            .collect(),
        rejected_total: summary.rejected_total,
        rejected_by_class: Vec::new(),
        duration_ms: 0,
    };
    let mut by_class = summary.rejected_by_class;
    let tail_seen = tail.is_some();
    match tail {
        Some(TailOutcome::Rejected(class, rejection)) => {
            r.rejected_total += 1;
            *by_class.entry(class).or_default() += 1;
            if r.rejected.len() < REJECTION_SAMPLE {
                r.rejected.push(rejection);
            }
        }
        Some(TailOutcome::Skipped) => r.skipped += 1,
        Some(TailOutcome::Event) | None => {}
    }
    r.lines += u64::from(tail_seen);
    r.rejected_by_class = by_class
        .into_iter()
        .map(|(class, count)| RejectionCount { class, count })
        .collect();
    r
}

impl Workspace {
    /// Imports an audit file of `format` into the registered backend `backend`. Progress goes to
    /// `progress` (bytes read of the file's size); `cancel` stops after the current batch, keeping
    /// what was committed.
    pub async fn import_audit(
        &self,
        backend: &str,
        format: AuditFormat,
        path: &Path,
        progress: &(dyn Fn(Progress) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<ImportReport> {
        let started = Instant::now();
        let row = self.store.backend_by_name(backend).await?;
        if row.kind != format.backend_kind() {
            return Err(EngineError::InvalidInput(format!(
                "`{}` is a {} backend, but --format {} is the log of a {} backend; register a backend of that kind ({}) and import into it",
                row.name,
                row.kind.label(),
                format.as_str(),
                format.backend_kind().label(),
                crate::shell::suggestion(&[
                    "portcullis",
                    "backend",
                    "add",
                    "NAME",
                    "--kind",
                    format.backend_kind().as_str()
                ]),
            )));
        }
        let meta = std::fs::metadata(path).map_err(|e| {
            EngineError::InvalidInput(format!(
                "cannot read the audit file {}: {e}",
                path.display()
            ))
        })?;
        // A pipe or a device has no size to measure progress against.
        let size = meta.is_file().then_some(meta.len());
        let hashes = self.store.audit_hashes(row.id).await?;
        let task = format!("import {} into {}", path.display(), row.name);
        progress(Progress::Started {
            task: task.clone(),
            total: size,
        });
        let parser = line_parser(format);
        let backend_id = row.id;
        let (imported, events, parsed) = self
            .store
            .with_audit_writer(|writer| {
                std::thread::scope(|scope| {
                    let (tx, rx) = sync_channel::<Batch>(4);
                    let sink = ChannelSink {
                        tx,
                        hashes: &hashes,
                        cancel,
                    };
                    let parsing = scope.spawn(move || parse_file(path, parser, sink));
                    let mut imported = 0u64;
                    let mut events = 0u64;
                    let mut failure = None;
                    let mut done = 0u64;
                    while let Some((group, offset)) = next_group(&rx) {
                        writer.expect(events_left(size.unwrap_or(0), done, events));
                        events += group.len() as u64;
                        done = offset;
                        match writer.add(backend_id, &group) {
                            Ok(n) => imported += n,
                            Err(e) => {
                                failure = Some(e);
                                break;
                            }
                        }
                        let secs = started.elapsed().as_secs_f64();
                        let message = advance_message(events, imported, done, size, secs);
                        progress(advanced(&task, done, size, message));
                        if writer.transaction_full(EVENTS_PER_TRANSACTION) {
                            note_indexing(progress, &task, (done, size), events, writer.pending());
                            if let Err(e) = writer.commit(None) {
                                failure = Some(e);
                                break;
                            }
                        }
                    }
                    if failure.is_none() {
                        note_indexing(progress, &task, (done, size), events, writer.pending());
                        if let Err(e) = writer.commit(None) {
                            failure = Some(e);
                        }
                    }
                    // Unblocks the parser if the writer stopped early.
                    drop(rx);
                    let parsed = parsing.join();
                    match (failure, parsed) {
                        (Some(e), _) => Err(e),
                        (None, Ok(p)) => Ok((imported, events, p)),
                        (None, Err(_)) => Err(portcullis_store::StoreError::Corrupt {
                            what: "audit import",
                            detail: "the parsing thread panicked".into(),
                        }),
                    }
                })
            })
            .await?;
        let summary = match parsed.summary {
            Ok(s) => s,
            Err(e) => {
                progress(Progress::Finished {
                    task: task.clone(),
                    ok: false,
                    message: e.to_string(),
                });
                if cancel.is_cancelled() {
                    return Err(EngineError::Cancelled(format!(
                        "import of {} stopped after {events} events ({imported} new); run it again to finish — events already imported are skipped",
                        path.display()
                    )));
                }
                return Err(e.into());
            }
        };
        self.store.correlate_audit(backend_id).await?;
        let report = ImportReport {
            backend: row.name.clone(),
            format,
            file: path.display().to_string(),
            imported,
            duplicates: events - imported,
            duration_ms: started.elapsed().as_millis() as u64,
            ..with_tail(summary, parsed.tail)
        };
        if report.imported + report.duplicates + report.skipped == 0 && report.rejected_total > 0 {
            let e = nothing_understood(&report, &other_formats(format, &parsed.samples));
            progress(Progress::Finished {
                task,
                ok: false,
                message: e.to_string(),
            });
            return Err(e);
        }
        progress(Progress::Finished {
            task,
            ok: true,
            message: format!(
                "{} lines: {} imported, {} already cached, {} skipped, {} rejected",
                report.lines,
                report.imported,
                report.duplicates,
                report.skipped,
                report.rejected_total
            ),
        });
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::{advance_message, events_left};

    #[test]
    fn progress_says_the_rate_and_the_time_left() {
        // 100,000 events in 2 s, a quarter of the file: 6 s left at that pace.
        let m = advance_message(100_000, 90_000, 1 << 20, Some(4 << 20), 2.0);
        assert_eq!(
            m,
            "100000 events (90000 new), 1.0 MiB of 4.0 MiB, 50000 events/s, about 6 s left"
        );
        let m = advance_message(10, 10, 1, Some(1000), 1.0);
        assert!(m.ends_with("about 16 min 39 s left"), "{m}");
        // A stream has no size, so no time left; nothing done yet, no rate.
        let m = advance_message(10, 10, 1000, None, 1.0);
        assert!(m.ends_with("of a stream, 10 events/s"), "{m}");
        assert!(!advance_message(0, 0, 0, Some(10), 0.0).contains("/s"));
    }

    #[test]
    fn events_left_follow_the_average_line_and_never_divide_by_zero() {
        // Nothing read yet: 200 bytes a line is assumed.
        assert_eq!(events_left(2_000_000, 0, 0), 10_000);
        // 1,000 events in the first 400,000 bytes: 400 a line for the remaining 1.6 MB.
        assert_eq!(events_left(2_000_000, 400_000, 1_000), 4_000);
        // Lines shorter than a byte on average (cannot happen, but must not divide by zero).
        assert_eq!(events_left(10, 5, 100), 5);
        assert_eq!(events_left(10, 20, 1), 0);
    }
}
