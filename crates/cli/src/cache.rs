//! `portcullis sync`, `principals`, `credentials`: filling the cache and reading it back.

use portcullis_engine::{EngineError, Workspace};
use portcullis_model::{CredentialFilter, Progress};
use std::process::ExitCode;

use crate::args::CredentialArgs;
use crate::output::{ago, Output};

pub async fn sync(ws: &Workspace, names: &[String], out: &Output) -> Result<ExitCode, EngineError> {
    let cancel = crate::interrupt::ctrl_c_cancels();
    let quiet = out.json;
    let progress = move |p: Progress| {
        if quiet {
            return;
        }
        match p {
            Progress::Started { task, .. } => errln!("{task}…"),
            Progress::Finished { message, ok, .. } => {
                errln!("  {} {message}", if ok { "ok" } else { "FAILED" })
            }
            Progress::Advanced { .. } => {}
        }
    };
    let reports = ws.sync(names, &progress, &cancel).await?;
    let failed = reports.iter().filter(|r| !r.ok).count();
    if out.json {
        out.json(&reports);
    } else {
        let rows = reports
            .iter()
            .map(|r| {
                vec![
                    r.backend.clone(),
                    if let (true, Some(gap)) = (r.ok, &r.audit_gap) {
                        format!("ok, no audit [{}]", gap.code.as_str())
                    } else if r.ok {
                        "ok".into()
                    } else {
                        format!(
                            "FAILED [{}]",
                            r.error.as_ref().map(|e| e.code.as_str()).unwrap_or("?")
                        )
                    },
                    r.counts.principals.to_string(),
                    r.counts.credentials.to_string(),
                    r.counts.grants.to_string(),
                    r.counts.audit_events.to_string(),
                    r.counts.rows_written.to_string(),
                    format!("{} ms", r.duration_ms),
                ]
            })
            .collect();
        out.table(
            &[
                "BACKEND",
                "RESULT",
                "PRINCIPALS",
                "CREDENTIALS",
                "GRANTS",
                "NEW EVENTS",
                "ROWS WRITTEN",
                "TIME",
            ],
            rows,
        );
        for r in &reports {
            if let Some(e) = &r.error {
                errln!("{}: [{}] {}", r.backend, e.code, e.message);
            } else if let Some(gap) = &r.audit_gap {
                errln!("{}: warning: [{}] {}", r.backend, gap.code, gap.message);
            }
        }
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn principals(
    ws: &Workspace,
    backend: Option<&str>,
    search: Option<&str>,
    out: &Output,
) -> Result<ExitCode, EngineError> {
    let list = ws.principals(backend, search).await?;
    if out.json {
        out.json(&list);
        return Ok(ExitCode::SUCCESS);
    }
    if list.is_empty() {
        outln!("No principals cached. Run `portcullis sync` first.");
        return Ok(ExitCode::SUCCESS);
    }
    let rows = list
        .into_iter()
        .map(|p| {
            vec![
                p.backend,
                p.kind.as_str().into(),
                p.name,
                if p.enabled {
                    "yes".into()
                } else {
                    "DISABLED".into()
                },
                p.credentials.to_string(),
                p.grants.join(", "),
            ]
        })
        .collect();
    out.table(
        &[
            "BACKEND",
            "KIND",
            "NAME",
            "ENABLED",
            "CREDENTIALS",
            "GRANTS",
        ],
        rows,
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn credentials(
    ws: &Workspace,
    a: CredentialArgs,
    out: &Output,
) -> Result<ExitCode, EngineError> {
    let list = ws
        .credentials(&CredentialFilter {
            backend: a.backend,
            principal: a.principal,
            kind: None,
            status: a.status,
            never_expires: a.never_expires,
            search: a.search,
            sort: a.sort,
            descending: a.desc,
            limit: a.limit,
        })
        .await?;
    if out.json {
        out.json(&list);
        return Ok(ExitCode::SUCCESS);
    }
    if list.is_empty() {
        outln!("No credentials match. Run `portcullis sync`, or relax the filters.");
        return Ok(ExitCode::SUCCESS);
    }
    let rows = list
        .into_iter()
        .map(|c| {
            let id = if c.external_id.len() > 20 {
                format!("{}…", &c.external_id[..16])
            } else {
                c.external_id.clone()
            };
            vec![
                c.id.to_string(),
                c.backend,
                c.kind.as_str().into(),
                id,
                c.principal_name.or(c.principal).unwrap_or_default(),
                c.scopes.join(" "),
                c.expires_at
                    .map(|t| t.format("%Y-%m-%d").to_string())
                    .unwrap_or_else(|| "never".into()),
                c.last_used_at
                    .map(ago)
                    .unwrap_or_else(|| "never seen".into()),
                c.status.as_str().into(),
            ]
        })
        .collect();
    out.table(
        &[
            "ID",
            "BACKEND",
            "KIND",
            "CREDENTIAL",
            "PRINCIPAL",
            "SCOPES",
            "EXPIRES",
            "LAST USED",
            "STATUS",
        ],
        rows,
    );
    Ok(ExitCode::SUCCESS)
}
