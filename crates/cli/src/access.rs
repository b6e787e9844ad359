//! `portcullis explain` and `portcullis who-can`: the access map from a terminal.

use portcullis_engine::{EngineError, Workspace};
use portcullis_model::{
    AccessNode, AccessNodeKind, AccessPath, Coverage, ExplainQuery, PrincipalKind, WhoCanEntry,
    WhoCanQuery,
};
use std::process::ExitCode;

use crate::args::{ExplainArgs, WhoCanArgs};
use crate::output::{ago, Output};

fn hop(n: &AccessNode) -> String {
    match n.kind {
        AccessNodeKind::Principal => match n.principal_kind {
            Some(PrincipalKind::Group) => format!("group {}", n.label),
            _ => n.label.clone(),
        },
        AccessNodeKind::Role => format!("role {}", n.label),
        AccessNodeKind::Permission => n.label.clone(),
        AccessNodeKind::Credential => format!("credential {}", n.label),
    }
}

fn path_text(p: &AccessPath) -> String {
    p.hops.iter().map(hop).collect::<Vec<_>>().join(" → ")
}

fn paths_text(paths: &[AccessPath]) -> String {
    paths.iter().map(path_text).collect::<Vec<_>>().join("\n")
}

fn subject_title(n: &AccessNode) -> String {
    let kind = match (n.kind, n.principal_kind) {
        (AccessNodeKind::Principal, Some(k)) => k.as_str().to_string(),
        (k, _) => k.as_str().to_string(),
    };
    let disabled = if n.enabled == Some(false) {
        ", DISABLED"
    } else {
        ""
    };
    format!(
        "{} — {} {} on {}{} [{}]",
        n.label, kind, n.external_id, n.backend, disabled, n.id
    )
}

pub async fn explain(
    ws: &Workspace,
    a: ExplainArgs,
    out: &Output,
) -> Result<ExitCode, EngineError> {
    let answer = ws
        .access_explain(&ExplainQuery {
            subject: a.principal,
            permission: a.permission,
            credential: a.credential,
            backend: a.backend,
            max_paths: a.max_paths,
            reach_limit: None,
        })
        .await?;
    if out.json {
        out.json(&answer);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(h) = &answer.hint {
        outln!("{h}");
    }
    for s in &answer.subjects {
        outln!("\n{}", subject_title(&s.subject));
        if let Some(mode) = &s.credential_mode {
            outln!("  credential rights: {mode}");
        }
        if s.permissions.is_empty() {
            outln!("  holds no permission in the cache");
            continue;
        }
        let rows = s
            .permissions
            .iter()
            .map(|e| {
                vec![
                    e.permission.label.clone(),
                    e.permission
                        .risk
                        .map(|r| r.as_str().to_string())
                        .unwrap_or_default(),
                    e.last_used_at
                        .map(|t| format!("{} ({}×)", ago(t), e.uses))
                        .unwrap_or_else(|| "never".into()),
                    paths_text(&e.paths),
                ]
            })
            .collect();
        out.table(&["PERMISSION", "RISK", "LAST USE", "GRANT PATHS"], rows);
        let t = &s.blast_radius.total;
        let per: Vec<String> = s
            .blast_radius
            .per_backend
            .iter()
            .map(|b| {
                format!(
                    "{}: {} resources, {} resource×action pairs (read {}, write {}, admin {}, execute {}, other {}; {} wildcard{})",
                    b.backend,
                    b.resources,
                    b.pairs,
                    b.read,
                    b.write,
                    b.admin,
                    b.execute,
                    b.other,
                    b.wildcard_pairs,
                    if b.denied > 0 { format!("; {} deny rules", b.denied) } else { String::new() }
                )
            })
            .collect();
        outln!(
            "  blast radius: {} resources, {} resource×action pairs in total\n    {}",
            t.resources,
            t.pairs,
            per.join("\n    ")
        );
        if s.paths_truncated {
            outln!("  (some permissions have more grant paths than shown: --max-paths N)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// "by its credentials …": which of the principal's live credentials can, each on its own rights.
fn credentials_line(e: &WhoCanEntry) -> Option<String> {
    (!e.credentials.is_empty()).then(|| {
        let labels: Vec<&str> = e.credentials.iter().map(|c| c.label.as_str()).collect();
        format!("(by its credentials: {})", labels.join(", "))
    })
}

fn entry_rows(list: &[WhoCanEntry]) -> Vec<Vec<String>> {
    list.iter()
        .map(|e| {
            let p = &e.principal;
            let name = if p.external_id == p.label {
                p.label.clone()
            } else {
                let id: String = p.external_id.chars().take(28).collect();
                format!("{} ({id})", p.label)
            };
            vec![
                p.backend.clone(),
                name,
                p.principal_kind
                    .map(|k| k.as_str().to_string())
                    .unwrap_or_default(),
                if p.enabled == Some(false) {
                    "DISABLED".into()
                } else {
                    "yes".into()
                },
                e.matches
                    .iter()
                    .map(|m| {
                        let partial = if m.coverage == Coverage::Partial {
                            " (partly)"
                        } else {
                            ""
                        };
                        format!("{}{partial}", m.permission.label)
                    })
                    .chain(credentials_line(e))
                    .collect::<Vec<_>>()
                    .join("\n"),
                e.matches
                    .iter()
                    .flat_map(|m| m.paths.iter().map(path_text))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ]
        })
        .collect()
}

pub async fn who_can(ws: &Workspace, a: WhoCanArgs, out: &Output) -> Result<ExitCode, EngineError> {
    let answer = ws
        .access_who_can(&WhoCanQuery {
            action: a.action,
            resource: a.resource,
            backend: a.backend,
            max_paths: a.max_paths,
        })
        .await?;
    if out.json {
        out.json(&answer);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(h) = &answer.hint {
        outln!("{h}");
    }
    let header = [
        "BACKEND",
        "PRINCIPAL",
        "KIND",
        "ENABLED",
        "VIA",
        "GRANT PATHS",
    ];
    if !answer.allowed.is_empty() {
        outln!(
            "{} principals can {} {}:",
            answer.allowed.len(),
            answer.action,
            answer.resource
        );
        out.table(&header, entry_rows(&answer.allowed));
    }
    if !answer.denied.is_empty() {
        outln!(
            "\n{} principals are denied by an explicit deny rule:",
            answer.denied.len()
        );
        out.table(&header, entry_rows(&answer.denied));
    }
    Ok(ExitCode::SUCCESS)
}
