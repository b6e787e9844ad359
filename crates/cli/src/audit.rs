//! `portcullis audit …`: search, show, timeline, highlights, export and import of audit events.

use portcullis_engine::{shell, EngineError, Workspace};
use portcullis_model::{AuditEventView, ImportReport, Progress};
use std::process::ExitCode;

use crate::args::{AuditCommand, AuditSearchArgs};
use crate::output::Output;
use crate::term;

pub async fn run(ws: &Workspace, cmd: AuditCommand, out: &Output) -> Result<ExitCode, EngineError> {
    match cmd {
        AuditCommand::Search(a) => search(ws, a, out).await,
        AuditCommand::Show { id } => show(ws, id, out).await,
        AuditCommand::Timeline {
            query,
            buckets,
            svg,
        } => timeline(ws, &query, buckets, svg.as_deref(), out).await,
        AuditCommand::Highlights => highlights(ws, out).await,
        AuditCommand::Export {
            query,
            format,
            output,
        } => {
            let cancel = crate::interrupt::ctrl_c_cancels();
            let n = match output {
                Some(path) => {
                    ws.audit_export_to_file(&query, format, &path, &cancel)
                        .await?
                }
                None => {
                    let mut w = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
                    ws.audit_export(&query, format, &mut w, &cancel).await?
                }
            };
            errln!("{n} events exported");
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Import {
            format,
            backend,
            file,
        } => {
            let cancel = crate::interrupt::ctrl_c_cancels();
            let quiet = out.json;
            let last = std::sync::Mutex::new((std::time::Instant::now(), 0u64));
            let progress = move |p: Progress| match p {
                Progress::Advanced { message, done, .. } if !quiet => {
                    // At most a few lines a second, however fast batches go; a line that reads
                    // no further into the file than the one before announces a step (indexing)
                    // and is always shown.
                    if let Ok(mut last) = last.lock() {
                        let step = done == last.1;
                        last.1 = done;
                        if step || last.0.elapsed().as_millis() >= 500 {
                            last.0 = std::time::Instant::now();
                            errln!("  {message}");
                        }
                    }
                }
                Progress::Started { task, .. } if !quiet => errln!("{task}…"),
                _ => {}
            };
            let report = ws
                .import_audit(&backend, format, &file, &progress, &cancel)
                .await?;
            if out.json {
                out.json(&report);
            } else {
                print_import(&report);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_import(report: &ImportReport) {
    outln!(
        "{}: {} lines — {} imported, {} already cached, {} skipped, {} rejected ({} ms)",
        report.file,
        report.lines,
        report.imported,
        report.duplicates,
        report.skipped,
        report.rejected_total,
        report.duration_ms
    );
    for c in &report.rejected_by_class {
        outln!("  {} {}", c.count, c.class.label());
    }
    for r in &report.rejected {
        outln!("  line {}: {}", r.line, term::escape_all(&r.reason));
    }
    let more = report.rejected_total - report.rejected.len() as u64;
    if more > 0 {
        outln!("  … and {more} more rejected lines (counted above, not listed)");
    }
}

/// `--since`/`--until` are the same as `since:`/`until:` terms added to the query.
fn full_query(a: &AuditSearchArgs) -> String {
    let mut q = a.query.clone();
    for (field, v) in [("since", &a.since), ("until", &a.until)] {
        if let Some(v) = v {
            q.push_str(&format!(" {field}:{}", portcullis_model::quote_value(v)));
        }
    }
    q
}

/// The command a pivot or highlight suggests; its query is audit data, so it is quoted (and
/// not suggested at all when it holds control characters, see `portcullis_engine::shell`).
fn search_command(query: &str) -> String {
    shell::command(&["portcullis", "audit", "search", query]).unwrap_or_else(|e| format!("({e})"))
}

fn row(e: &AuditEventView) -> Vec<String> {
    let cut = |s: &str, n: usize| {
        if s.chars().count() > n {
            format!("{}…", s.chars().take(n - 1).collect::<String>())
        } else {
            s.to_string()
        }
    };
    vec![
        e.id.to_string(),
        e.at.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
        e.backend.clone(),
        cut(e.actor.as_deref().unwrap_or("-"), 24),
        cut(e.credential.as_deref().unwrap_or("-"), 16),
        cut(&e.action, 20),
        cut(e.resource.as_deref().unwrap_or("-"), 40),
        e.outcome.as_str().to_uppercase(),
        e.source_ip.clone().unwrap_or_default(),
    ]
}

async fn search(ws: &Workspace, a: AuditSearchArgs, out: &Output) -> Result<ExitCode, EngineError> {
    let page = ws
        .audit_search(&full_query(&a), a.cursor.as_deref(), a.limit)
        .await?;
    if out.json {
        out.json(&page);
        return Ok(ExitCode::SUCCESS);
    }
    if page.events.is_empty() {
        outln!(
            "No audit events match `{}`. Run `portcullis sync` (or `portcullis audit import`), widen the time range, or drop a filter.",
            page.query
        );
        return Ok(ExitCode::SUCCESS);
    }
    out.table(
        &[
            "ID",
            "AT (UTC)",
            "BACKEND",
            "ACTOR",
            "CREDENTIAL",
            "ACTION",
            "RESOURCE",
            "OUTCOME",
            "SOURCE",
        ],
        page.events.iter().map(row).collect(),
    );
    let total = if page.total.exact {
        page.total.count.to_string()
    } else {
        format!("about {}", page.total.count)
    };
    errln!(
        "{} shown of {total} matching `{}`",
        page.events.len(),
        page.query
    );
    if let Some(c) = &page.next_cursor {
        errln!("next page: --cursor {c}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(ws: &Workspace, id: i64, out: &Output) -> Result<ExitCode, EngineError> {
    let d = ws.audit_event(id).await?;
    if out.json {
        out.json(&d);
        return Ok(ExitCode::SUCCESS);
    }
    out.table(
        &[
            "ID",
            "AT (UTC)",
            "BACKEND",
            "ACTOR",
            "CREDENTIAL",
            "ACTION",
            "RESOURCE",
            "OUTCOME",
            "SOURCE",
        ],
        vec![row(&d.event)],
    );
    outln!("\n{}", crate::term::json_line(&d.raw).unwrap_or_default());
    for p in &d.pivots {
        // The label holds audit data: on its one line, so it cannot forge the next pivot.
        outln!(
            "  {}: {}",
            term::escape_all(&p.label),
            search_command(&p.query)
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn timeline(
    ws: &Workspace,
    query: &str,
    buckets: u32,
    svg: Option<&std::path::Path>,
    out: &Output,
) -> Result<ExitCode, EngineError> {
    let t = ws.audit_timeline(query, buckets).await?;
    if let Some(path) = svg {
        std::fs::write(path, &t.svg).map_err(|source| EngineError::Io {
            what: format!("writing {}", path.display()),
            source,
        })?;
    }
    if out.json {
        out.json(&t);
        return Ok(ExitCode::SUCCESS);
    }
    if t.buckets.is_empty() {
        outln!("No audit events match. Sync or import first, or widen the search.");
        return Ok(ExitCode::SUCCESS);
    }
    let max = t
        .buckets
        .iter()
        .map(|b| b.total())
        .max()
        .unwrap_or(0)
        .max(1);
    for b in &t.buckets {
        let width = (b.total() * 50).div_ceil(max) as usize;
        let deny = if b.total() == 0 {
            0
        } else {
            ((b.deny + b.error) as usize * width).div_ceil(b.total() as usize)
        };
        outln!(
            "{}  {:>7}  {}{}",
            b.start.format("%Y-%m-%d %H:%M:%S"),
            b.total(),
            "#".repeat(width - deny.min(width)),
            "x".repeat(deny.min(width))
        );
    }
    outln!(
        "bucket {} s; # allowed, x denied or failed",
        t.bucket_seconds
    );
    Ok(ExitCode::SUCCESS)
}

async fn highlights(ws: &Workspace, out: &Output) -> Result<ExitCode, EngineError> {
    let views = ws.audit_highlights().await?;
    if out.json {
        out.json(&views);
        return Ok(ExitCode::SUCCESS);
    }
    for v in &views {
        outln!("{} — {} finding(s)", v.title, v.items.len());
        outln!("  {}", v.description);
        for i in &v.items {
            outln!(
                "  - [{}] {}: {} ({} events, {} → {})",
                i.backend,
                term::escape_all(&i.subject),
                term::escape_all(&i.summary),
                i.count,
                i.first_at.format("%Y-%m-%d %H:%M"),
                i.last_at.format("%Y-%m-%d %H:%M")
            );
            outln!("      {}", search_command(&i.query));
        }
        outln!();
    }
    Ok(ExitCode::SUCCESS)
}
