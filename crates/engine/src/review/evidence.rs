//! Evidence an auditor can check: a findings run or a campaign exported as self-contained HTML
//! (charts inline as SVG), CSV and JSON, plus `manifest.json` with the SHA-256 of every exported
//! file and the journal's head hash at export time. [`verify_evidence`] recomputes the digests and
//! names any file that was altered, removed or added.

use chrono::Utc;
use plotters::style::RGBColor;
use portcullis_model::{
    Campaign, DriftReport, EvidenceManifest, EvidenceVerification, FileCheck, Finding, FindingsRun,
    ManifestFile, ReviewPlan, Severity,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::chart::{stacked_bars, StackedBar};
use crate::{EngineError, Result, Workspace};

pub const MANIFEST: &str = "manifest.json";
const FORMAT: &str = "portcullis-evidence/1";

fn io(what: String) -> impl FnOnce(std::io::Error) -> EngineError {
    move |source| EngineError::Io { what, source }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| EngineError::Internal(format!("serialising evidence: {e}")))
}

/// HTML-escapes text (every value in a report comes from backends and reviewers).
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One CSV field: quoted when needed; a leading `=`, `+`, `-` or `@` is neutralised so a
/// spreadsheet never runs a backend-supplied value as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn csv_row(out: &mut String, fields: &[String]) {
    let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

const FINDING_COLUMNS: [&str; 14] = [
    "severity",
    "rule",
    "backend",
    "principal",
    "principal_id",
    "subject_kind",
    "subject",
    "subject_label",
    "title",
    "recommendation",
    "proposed",
    "confidence",
    "credential_id",
    "key",
];

fn finding_fields(f: &Finding) -> Vec<String> {
    vec![
        f.severity.as_str().to_string(),
        f.rule.clone(),
        f.backend.clone(),
        f.principal.name.clone(),
        f.principal.external_id.clone(),
        f.subject.kind.as_str().to_string(),
        f.subject.id.clone(),
        f.subject.label.clone(),
        f.title.clone(),
        f.recommendation.text.clone(),
        f.recommendation.proposed.join(" "),
        f.confidence.level.as_str().to_string(),
        f.credential_id.map(|i| i.to_string()).unwrap_or_default(),
        f.key.clone(),
    ]
}

/// A findings run as CSV (one finding per row).
pub fn findings_csv(run: &FindingsRun) -> String {
    let mut out = String::new();
    csv_row(&mut out, &FINDING_COLUMNS.map(str::to_string));
    for f in &run.findings {
        csv_row(&mut out, &finding_fields(f));
    }
    out
}

fn severity_color(s: Severity) -> RGBColor {
    match s {
        Severity::Critical => RGBColor(153, 27, 27),
        Severity::High => RGBColor(220, 38, 38),
        Severity::Medium => RGBColor(234, 150, 12),
        Severity::Low => RGBColor(59, 130, 246),
        Severity::Info => RGBColor(148, 163, 184),
    }
}

/// Findings by severity, and by backend stacked by severity.
fn charts(findings: &[&Finding]) -> Result<(String, String)> {
    let sev: Vec<StackedBar> = Severity::ALL
        .iter()
        .map(|s| StackedBar {
            label: s.as_str().to_string(),
            values: Severity::ALL
                .iter()
                .map(|x| {
                    if x == s {
                        findings.iter().filter(|f| f.severity == *s).count() as u64
                    } else {
                        0
                    }
                })
                .collect(),
        })
        .collect();
    let segments: Vec<(&str, RGBColor)> = Severity::ALL
        .iter()
        .map(|s| (s.as_str(), severity_color(*s)))
        .collect();
    let by_severity = stacked_bars("Findings by severity", &segments, &sev, (520, 280))?;
    let mut backends: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for f in findings {
        let v = backends
            .entry(f.backend.as_str())
            .or_insert_with(|| vec![0; Severity::ALL.len()]);
        if let Some(i) = Severity::ALL.iter().position(|s| *s == f.severity) {
            v[i] += 1;
        }
    }
    let bars: Vec<StackedBar> = backends
        .into_iter()
        .map(|(b, values)| StackedBar {
            label: b.to_string(),
            values,
        })
        .collect();
    let by_backend = stacked_bars("Findings by backend", &segments, &bars, (520, 280))?;
    Ok((by_severity, by_backend))
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#1f2937}\
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:collapse;width:100%;font-size:.85rem}\
th,td{border-bottom:1px solid #e5e7eb;padding:.35rem .5rem;text-align:left;vertical-align:top}\
th{background:#f3f4f6}.sev{font-weight:600;text-transform:uppercase;font-size:.75rem}\
.critical{color:#991b1b}.high{color:#dc2626}.medium{color:#b45309}.low{color:#2563eb}.info{color:#64748b}\
.charts{display:flex;gap:1rem;flex-wrap:wrap}.muted{color:#6b7280}details{margin:.2rem 0}code{font-size:.8rem}";

/// A demo workspace's HTML reports carry its label at the top of the page, so nobody reads a
/// generated organisation's evidence as a real one.
fn demo_banner(html: &[u8], label: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(html);
    let banner = format!(
        "<body>\n<p style=\"padding:8px;border:2px solid #b45309;background:#fef3c7;color:#78350f\"><strong>DEMO</strong> {}</p>",
        esc(label)
    );
    text.replacen("<body>", &banner, 1).into_bytes()
}

fn html_head(out: &mut String, title: &str) {
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"generator\" content=\"Portcullis {}\"><title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>",
        env!("CARGO_PKG_VERSION"),
        esc(title),
        esc(title)
    );
}

fn coverage_table(out: &mut String, coverage: &[portcullis_model::BackendCoverage]) {
    out.push_str("<h2>Data coverage</h2>\n<table><tr><th>backend</th><th>kind</th><th>usage data</th><th>events in window</th><th>principals</th><th>credentials</th><th>exempt</th><th>notes</th></tr>\n");
    for c in coverage {
        let _ = writeln!(
        out,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.backend),
            esc(c.kind.as_str()),
            esc(c.level.as_str()),
            c.events_in_window,
            c.principals,
            c.credentials,
            c.exempt_principals,
            c.notes.iter().map(|n| esc(n)).collect::<Vec<_>>().join("<br>")
        );
    }
    out.push_str("</table>\n");
}

fn finding_rows(out: &mut String, items: &[(&Finding, Option<&portcullis_model::Decision>)]) {
    let with_decisions = items.iter().any(|(_, d)| d.is_some());
    out.push_str("<table><tr><th>severity</th><th>rule</th><th>backend</th><th>principal</th><th>subject</th><th>finding and evidence</th><th>recommendation</th>");
    if with_decisions {
        out.push_str("<th>decision</th>");
    }
    out.push_str("</tr>\n");
    for (f, d) in items {
        let sev = f.severity.as_str();
        let _ = write!(
            out,
            "<tr><td class=\"sev {sev}\">{sev}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}<details><summary>evidence · confidence {}</summary>",
            esc(&f.rule),
            esc(&f.backend),
            esc(&f.principal.name),
            esc(&f.subject.label),
            esc(&f.title),
            esc(f.confidence.level.as_str()),
        );
        let _ = write!(
            out,
            "<div class=\"muted\">{}</div>",
            esc(&f.confidence.note)
        );
        for fact in &f.evidence.facts {
            let _ = write!(out, "<div>{}</div>", esc(fact));
        }
        for p in &f.evidence.paths {
            let _ = write!(out, "<div><code>{}</code></div>", esc(&p.hops.join(" → ")));
        }
        for e in &f.evidence.events {
            let _ = write!(
                out,
                "<div><code>#{} {} ×{} {} {} {}</code></div>",
                e.event_id,
                e.last_at.format("%Y-%m-%d %H:%M:%S"),
                e.count,
                esc(&e.action),
                esc(e.resource.as_deref().unwrap_or("")),
                esc(e.outcome.as_str())
            );
        }
        let _ = write!(
            out,
            "</details></td><td>{}{}</td>",
            esc(&f.recommendation.text),
            if f.recommendation.proposed.is_empty() {
                String::new()
            } else {
                format!(
                    "<div class=\"muted\">proposed: {}</div>",
                    esc(&f.recommendation.proposed.join(", "))
                )
            }
        );
        if with_decisions {
            match d {
                Some(d) => {
                    let _ = write!(
                        out,
                        "<td><b>{}</b> by {} {}<div class=\"muted\">{}</div></td>",
                        esc(d.verdict.as_str()),
                        esc(&d.reviewer),
                        d.at.format("%Y-%m-%d %H:%M"),
                        esc(d.note.as_deref().unwrap_or(""))
                    );
                }
                None => out.push_str("<td class=\"muted\">undecided</td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// A findings run as one self-contained HTML page.
pub fn findings_html(run: &FindingsRun) -> Result<String> {
    let mut out = String::new();
    html_head(&mut out, "Least-privilege review");
    let _ = writeln!(
        out,
        "<p class=\"muted\">as of {} · window {} days (from {}) · {} findings · generated {}</p>",
        run.as_of.format("%Y-%m-%d %H:%M UTC"),
        run.window_days,
        run.window_start.format("%Y-%m-%d"),
        run.findings.len(),
        run.generated_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let refs: Vec<&Finding> = run.findings.iter().collect();
    let (a, b) = charts(&refs)?;
    let _ = writeln!(out, "<div class=\"charts\">{a}{b}</div>");
    coverage_table(&mut out, &run.coverage);
    out.push_str("<h2>Findings</h2>\n");
    if run.findings.is_empty() {
        out.push_str("<p>No findings for the rules in force. Check the coverage above: rules that need audit data do not run without it.</p>\n");
    } else {
        let items: Vec<(&Finding, Option<&portcullis_model::Decision>)> =
            run.findings.iter().map(|f| (f, None)).collect();
        finding_rows(&mut out, &items);
    }
    rules_table(&mut out, &run.rules);
    out.push_str("</body></html>\n");
    Ok(out)
}

fn rules_table(out: &mut String, rules: &[portcullis_model::RuleInfo]) {
    out.push_str("<h2>Rules in force</h2>\n<table><tr><th>rule</th><th>severity</th><th>enabled</th><th>parameters</th><th>description</th></tr>\n");
    for r in rules {
        let params: Vec<String> = r
            .params
            .iter()
            .map(|p| format!("{}={}", p.name, p.value))
            .collect();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.id),
            esc(r.severity.as_str()),
            if r.enabled { "yes" } else { "no" },
            esc(&params.join(", ")),
            esc(&r.description)
        );
    }
    out.push_str("</table>\n");
}

fn campaign_html(c: &Campaign, plan: &ReviewPlan, drift: &DriftReport) -> Result<String> {
    let s = &c.summary;
    let mut out = String::new();
    html_head(&mut out, &format!("Access review campaign: {}", s.name));
    let _ = writeln!(
        out,
        "<p class=\"muted\">campaign {} · created {} · {} · {} of {} items decided (keep {}, revoke {}, reduce {}){}</p>",
        s.id,
        s.created_at.format("%Y-%m-%d %H:%M UTC"),
        esc(s.status.as_str()),
        s.decided,
        s.items,
        s.keep,
        s.revoke,
        s.reduce,
        match (&s.signed_off_by, s.signed_off_at) {
            (Some(by), Some(at)) => format!(" · signed off by {} at {}", esc(by), at.format("%Y-%m-%d %H:%M UTC")),
            _ => String::new(),
        }
    );
    let refs: Vec<&Finding> = c.items.iter().map(|i| &i.finding).collect();
    let (a, b) = charts(&refs)?;
    let _ = writeln!(out, "<div class=\"charts\">{a}{b}</div>");
    coverage_table(&mut out, &c.coverage);
    out.push_str("<h2>Items and decisions</h2>\n");
    let items: Vec<(&Finding, Option<&portcullis_model::Decision>)> = c
        .items
        .iter()
        .map(|i| (&i.finding, i.decision.as_ref()))
        .collect();
    finding_rows(&mut out, &items);
    out.push_str("<h2>Revocation plan</h2>\n");
    if plan.steps.is_empty() {
        out.push_str("<p>No revoke or reduce decisions.</p>\n");
    } else {
        out.push_str("<table><tr><th>operation</th><th>backend</th><th>principal</th><th>target</th><th>keep</th><th>executor targets</th><th>reviewer</th></tr>\n");
        for st in &plan.steps {
            let _ = writeln!(
        out,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                esc(&st.operation),
                esc(&st.backend),
                esc(&st.principal),
                esc(&st.target.label),
                esc(&st.keep.join(", ")),
                esc(&st.targets.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" ")),
                esc(&st.reviewer)
            );
        }
        out.push_str("</table>\n");
    }
    let _ = writeln!(
        out,
        "<h2>Drift since {}</h2>\n<p>{} new grants, {} removed grants, {} new credentials, {} removed credentials.</p>",
        drift
            .previous_campaign_id
            .map(|p| format!("campaign {p}"))
            .unwrap_or_else(|| "the beginning (first campaign)".into()),
        drift.new_grants.len(),
        drift.removed_grants.len(),
        drift.new_credentials.len(),
        drift.removed_credentials.len()
    );
    for (what, list) in [
        ("new grants", &drift.new_grants),
        ("removed grants", &drift.removed_grants),
        ("new credentials", &drift.new_credentials),
        ("removed credentials", &drift.removed_credentials),
    ] {
        if !list.is_empty() && drift.previous_campaign_id.is_some() {
            let _ = writeln!(
                out,
                "<details><summary>{what}</summary><code>{}</code></details>",
                list.iter().map(|l| esc(l)).collect::<Vec<_>>().join("<br>")
            );
        }
    }
    out.push_str("</body></html>\n");
    Ok(out)
}

fn campaign_csv(c: &Campaign) -> String {
    let mut out = String::new();
    let mut header: Vec<String> = FINDING_COLUMNS.map(str::to_string).to_vec();
    header.extend(["verdict", "reviewer", "decided_at", "note", "journal_seq"].map(str::to_string));
    csv_row(&mut out, &header);
    for i in &c.items {
        let mut fields = finding_fields(&i.finding);
        match &i.decision {
            Some(d) => fields.extend([
                d.verdict.as_str().to_string(),
                d.reviewer.clone(),
                d.at.to_rfc3339(),
                d.note.clone().unwrap_or_default(),
                d.journal_seq.map(|s| s.to_string()).unwrap_or_default(),
            ]),
            None => fields.extend(std::iter::repeat_n(String::new(), 5)),
        }
        csv_row(&mut out, &fields);
    }
    out
}

impl Workspace {
    /// Writes a findings run to `dir` (findings.json, .csv, .html) with its manifest.
    pub async fn export_findings(&self, run: &FindingsRun, dir: &Path) -> Result<EvidenceManifest> {
        let files = vec![
            ("findings.json".to_string(), to_json(run)?.into_bytes()),
            ("findings.csv".to_string(), findings_csv(run).into_bytes()),
            (
                "findings.html".to_string(),
                findings_html(run)?.into_bytes(),
            ),
        ];
        self.write_evidence(dir, "findings", None, files).await
    }

    /// Writes a campaign to `dir`: its items and decisions (JSON, CSV), the revocation plan, the
    /// drift report, an HTML report, and the manifest.
    pub async fn export_campaign(&self, id: i64, dir: &Path) -> Result<EvidenceManifest> {
        let c = self.campaign(id).await?;
        let plan = super::campaign::plan_of(&c);
        let drift = self.campaign_drift(id).await?;
        let files = vec![
            ("campaign.json".to_string(), to_json(&c)?.into_bytes()),
            ("decisions.csv".to_string(), campaign_csv(&c).into_bytes()),
            ("plan.json".to_string(), to_json(&plan)?.into_bytes()),
            ("drift.json".to_string(), to_json(&drift)?.into_bytes()),
            (
                "campaign.html".to_string(),
                campaign_html(&c, &plan, &drift)?.into_bytes(),
            ),
        ];
        self.write_evidence(dir, "campaign", Some(id), files).await
    }

    async fn write_evidence(
        &self,
        dir: &Path,
        subject: &str,
        campaign_id: Option<i64>,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<EvidenceManifest> {
        crate::private_fs::create_private_dir(dir)?;
        if dir.join(MANIFEST).exists() {
            return Err(EngineError::InvalidInput(format!(
                "{} already holds an evidence export: choose an empty directory",
                dir.display()
            )));
        }
        let journal = self.journal_verify().await?;
        let demo = self.demo_info().map(|d| d.label());
        let mut listed = Vec::new();
        for (name, bytes) in &files {
            let path = dir.join(name);
            let labelled;
            let bytes = match &demo {
                Some(label) if name.ends_with(".html") => {
                    labelled = demo_banner(bytes, label);
                    &labelled
                }
                _ => bytes,
            };
            crate::private_fs::write_private(&path, bytes)?;
            listed.push(ManifestFile {
                name: name.clone(),
                sha256: sha256_hex(bytes),
                bytes: bytes.len() as u64,
            });
        }
        let manifest = EvidenceManifest {
            format: FORMAT.into(),
            generator: format!("portcullis {}", env!("CARGO_PKG_VERSION")),
            generated_at: Utc::now(),
            subject: subject.into(),
            campaign_id,
            journal_entries: journal.entries,
            journal_head: journal.head,
            journal_ok: journal.ok,
            files: listed,
            demo,
        };
        let path = dir.join(MANIFEST);
        crate::private_fs::write_private(&path, to_json(&manifest)?.as_bytes())?;
        Ok(manifest)
    }

    /// Whether this workspace's journal holds the head an evidence manifest pinned.
    pub async fn journal_contains(&self, hash: &str) -> Result<bool> {
        Ok(self.store.journal_has_hash(hash).await?)
    }

    /// [`verify_evidence`], and the journal head the manifest pinned must be in this workspace's
    /// journal: an export records the head so that a journal shortened or rewritten after it is
    /// caught, so a head that is missing fails the check (it is never just reported).
    pub async fn verify_evidence_with_journal(&self, dir: &Path) -> Result<EvidenceVerification> {
        let mut v = verify_evidence(dir)?;
        let Some(head) = v.journal_head.clone() else {
            return Ok(v);
        };
        let found = self.journal_contains(&head).await?;
        v.journal_head_found = Some(found);
        if !found {
            v.ok = false;
            v.message = format!(
                "the journal head the export pinned ({head}) is not in this workspace's journal: \
                 the journal was shortened or rewritten since the export, or this is not the \
                 workspace that made it (check the files alone with --files-only). {}",
                v.message
            );
        }
        Ok(v)
    }
}

/// Checks an evidence directory against its manifest: every listed file present with the same
/// size and SHA-256, and no unlisted file beside them.
pub fn verify_evidence(dir: &Path) -> Result<EvidenceVerification> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read(&path).map_err(io(format!(
        "reading {} (is this an evidence directory?)",
        path.display()
    )))?;
    let manifest: EvidenceManifest = serde_json::from_slice(&text).map_err(|e| {
        EngineError::InvalidInput(format!(
            "{} is not a Portcullis manifest: {e}",
            path.display()
        ))
    })?;
    let mut checks = Vec::new();
    for f in &manifest.files {
        // A manifest names files, never paths: refuse anything that would leave the directory.
        if f.name.contains(['/', '\\']) || f.name == ".." || f.name == MANIFEST {
            checks.push(FileCheck {
                name: f.name.clone(),
                ok: false,
                problem: Some("not a plain file name".into()),
            });
            continue;
        }
        let problem = match std::fs::read(dir.join(&f.name)) {
            Err(e) => Some(format!("missing or unreadable: {e}")),
            Ok(bytes) => {
                let digest = sha256_hex(&bytes);
                if digest != f.sha256 {
                    Some(format!(
                        "altered: SHA-256 {digest} (manifest says {}), {} bytes (manifest says {})",
                        f.sha256,
                        bytes.len(),
                        f.bytes
                    ))
                } else {
                    None
                }
            }
        };
        checks.push(FileCheck {
            name: f.name.clone(),
            ok: problem.is_none(),
            problem,
        });
    }
    let entries = std::fs::read_dir(dir).map_err(io(format!("listing {}", dir.display())))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name != MANIFEST && !manifest.files.iter().any(|f| f.name == name) {
            checks.push(FileCheck {
                name,
                ok: false,
                problem: Some("not in the manifest (added after the export)".into()),
            });
        }
    }
    let bad: Vec<&FileCheck> = checks.iter().filter(|c| !c.ok).collect();
    let message = if bad.is_empty() {
        format!(
            "{} files match the manifest; journal head {}",
            checks.len(),
            manifest
                .journal_head
                .as_deref()
                .unwrap_or("(empty journal)")
        )
    } else {
        bad.iter()
            .map(|c| format!("{}: {}", c.name, c.problem.as_deref().unwrap_or("")))
            .collect::<Vec<_>>()
            .join("; ")
    };
    Ok(EvidenceVerification {
        ok: bad.is_empty(),
        files: checks,
        journal_head: manifest.journal_head,
        journal_head_found: None,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_neutralises_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(esc("<script>&'\""), "&lt;script&gt;&amp;&#39;&quot;");
    }
}
