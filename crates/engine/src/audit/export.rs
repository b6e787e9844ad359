//! Export of a search result as CSV or JSON lines, streamed: pages of events are read by keyset
//! and written one after the other, so memory stays flat however many events match.

use portcullis_model::{AuditEventView, ExportFormat};
use std::io::Write;
use std::path::Path;
use tokio_util::sync::CancellationToken;

use crate::{EngineError, Result, Workspace};

/// Events per page read while exporting.
const EXPORT_PAGE: u32 = 2_000;

const CSV_HEADER: &str = "id,at,backend,actor,credential,action,resource,outcome,source_ip\n";

/// One CSV field (RFC 4180 quoting). A value a spreadsheet would run as a formula (`=`, `+`,
/// `-`, `@`, tab, CR first) gets a leading `'`: audit data is written by whoever sent the
/// request, and the reviewer opens the export in a spreadsheet.
fn csv_field(out: &mut String, value: &str) {
    let formula = value
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'));
    let needs_quotes = formula || value.chars().any(|c| matches!(c, ',' | '"' | '\n' | '\r'));
    if !needs_quotes {
        out.push_str(value);
        return;
    }
    out.push('"');
    if formula {
        out.push('\'');
    }
    for c in value.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

fn csv_row(e: &AuditEventView) -> String {
    let mut line = String::with_capacity(160);
    let at = e.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let fields: [&str; 9] = [
        &e.id.to_string(),
        &at,
        &e.backend,
        e.actor.as_deref().unwrap_or(""),
        e.credential.as_deref().unwrap_or(""),
        &e.action,
        e.resource.as_deref().unwrap_or(""),
        e.outcome.as_str(),
        e.source_ip.as_deref().unwrap_or(""),
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        csv_field(&mut line, f);
    }
    line.push('\n');
    line
}

fn io_err(what: &str) -> impl Fn(std::io::Error) -> EngineError + '_ {
    move |source| EngineError::Io {
        what: what.to_string(),
        source,
    }
}

impl Workspace {
    /// Writes every event matching `query`, newest first, to `out`. Returns how many.
    pub async fn audit_export(
        &self,
        query: &str,
        format: ExportFormat,
        out: &mut (dyn Write + Send),
        cancel: &CancellationToken,
    ) -> Result<u64> {
        let r = self.resolve_audit_query(query).await?;
        let what = "writing the export";
        if format == ExportFormat::Csv {
            out.write_all(CSV_HEADER.as_bytes()).map_err(io_err(what))?;
        }
        let mut before = None;
        let mut written = 0u64;
        loop {
            if cancel.is_cancelled() {
                return Err(EngineError::Cancelled(format!(
                    "export stopped after {written} events; the file is incomplete"
                )));
            }
            let page = self
                .store
                .audit_page_raw(&r.filter, before, EXPORT_PAGE)
                .await?;
            let Some((last, _)) = page.last() else {
                break;
            };
            before = Some(last.id);
            let full = page.len() == EXPORT_PAGE as usize;
            for (row, raw) in page {
                let view = r.view(row);
                match format {
                    ExportFormat::Csv => out.write_all(csv_row(&view).as_bytes()),
                    ExportFormat::JsonLines => {
                        let raw: serde_json::Value =
                            serde_json::from_str(&raw).unwrap_or(serde_json::Value::String(raw));
                        let mut v = serde_json::to_value(&view).unwrap_or_default();
                        if let Some(o) = v.as_object_mut() {
                            o.insert("raw".into(), raw);
                        }
                        let mut line = v.to_string();
                        line.push('\n');
                        out.write_all(line.as_bytes())
                    }
                }
                .map_err(io_err(what))?;
                written += 1;
            }
            if !full {
                break;
            }
        }
        out.flush().map_err(io_err(what))?;
        Ok(written)
    }

    /// [`Workspace::audit_export`] into a file of its own (0600, never through a link: it holds who
    /// did what).
    pub async fn audit_export_to_file(
        &self,
        query: &str,
        format: ExportFormat,
        path: &Path,
        cancel: &CancellationToken,
    ) -> Result<u64> {
        let file = crate::private_fs::create_private_file(path)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 16, file);
        self.audit_export(query, format, &mut w, cancel).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_separators_and_defuses_formulas() {
        let mut s = String::new();
        csv_field(&mut s, "plain");
        s.push('|');
        csv_field(&mut s, "a,b \"c\"");
        s.push('|');
        csv_field(&mut s, "=HYPERLINK(\"x\")");
        s.push('|');
        csv_field(&mut s, "line\nbreak");
        assert_eq!(
            s,
            "plain|\"a,b \"\"c\"\"\"|\"'=HYPERLINK(\"\"x\"\")\"|\"line\nbreak\""
        );
    }
}
