//! `portcullis backend ...` and `portcullis overview`.

use portcullis_engine::{EngineError, Workspace};
use portcullis_model::{NewBackend, NewCredential};
use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use crate::args::AddArgs;
use crate::output::{ago, Output};

/// The secret for the keychain: a hidden prompt on a terminal, else all of stdin (one trailing
/// newline dropped). Never an argument, which would land in shell history and `ps`.
pub fn read_secret(name: &str) -> Result<String, EngineError> {
    let stdin = std::io::stdin();
    let secret = if stdin.is_terminal() {
        rpassword::prompt_password(format!("Credential for {name} (input hidden): ")).map_err(
            |source| EngineError::Io {
                what: "reading the credential from the terminal".into(),
                source,
            },
        )?
    } else {
        let mut s = String::new();
        stdin
            .lock()
            .read_to_string(&mut s)
            .map_err(|source| EngineError::Io {
                what: "reading the credential from stdin".into(),
                source,
            })?;
        s.strip_suffix('\n')
            .map(|t| t.strip_suffix('\r').unwrap_or(t))
            .unwrap_or(&s)
            .to_string()
    };
    Ok(secret)
}

pub async fn add(ws: &Workspace, args: AddArgs, out: &Output) -> Result<ExitCode, EngineError> {
    let credential = if let Some(var) = args.credential_env {
        NewCredential::Env { var }
    } else if args.no_credential {
        NewCredential::None
    } else {
        NewCredential::Keychain {
            secret: read_secret(&args.name)?,
        }
    };
    let info = ws
        .add_backend(NewBackend {
            name: args.name,
            kind: args.kind,
            url: args.url,
            credential,
            audit_log: args.audit_log,
        })
        .await?;
    if out.json {
        out.json(&info);
    } else {
        outln!(
            "added {} ({}) at {}; credential: {}. Next: {}",
            info.name,
            info.kind.label(),
            info.url,
            info.credential.describe(),
            portcullis_engine::shell::suggestion(&["portcullis", "backend", "check", &info.name])
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn list(ws: &Workspace, out: &Output) -> Result<ExitCode, EngineError> {
    let backends = ws.list_backends().await?;
    if out.json {
        out.json(&backends);
        return Ok(ExitCode::SUCCESS);
    }
    if backends.is_empty() {
        outln!("No backends yet. Add one: portcullis backend add NAME --kind KIND --url URL");
        return Ok(ExitCode::SUCCESS);
    }
    let rows = backends
        .into_iter()
        .map(|b| {
            vec![
                b.name,
                b.kind.to_string(),
                b.url,
                b.credential.describe(),
                match b.last_check {
                    None => "never checked".into(),
                    Some(c) => format!(
                        "{} {} — {}",
                        if c.ok { "ok" } else { "FAILED" },
                        ago(c.at),
                        c.message
                    ),
                },
                match b.last_sync {
                    None => "never synced".into(),
                    Some(s) => ago(s.started_at),
                },
            ]
        })
        .collect();
    out.table(
        &[
            "NAME",
            "KIND",
            "URL",
            "CREDENTIAL",
            "LAST CHECK",
            "LAST SYNC",
        ],
        rows,
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn check(ws: &Workspace, name: &str, out: &Output) -> Result<ExitCode, EngineError> {
    let report = ws.check_backend(name).await?;
    let code = if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    if out.json {
        out.json(&report);
        return Ok(code);
    }
    match &report.error {
        Some(e) => outln!("{name}: FAILED [{}] {}", e.code, e.message),
        None => {
            let verdict = if report.ok {
                "ok"
            } else {
                "reachable, but needed rights are missing"
            };
            outln!(
                "{name}: {verdict} in {} ms — {}{}",
                report.latency_ms,
                report.identity.as_deref().unwrap_or("reachable"),
                report
                    .server
                    .as_deref()
                    .map(|s| format!(" on {s}"))
                    .unwrap_or_default()
            );
            if let Some(exp) = report.credential_expires_at {
                outln!(
                    "  console credential expires {} ({})",
                    exp.to_rfc3339(),
                    ago(exp)
                );
            }
            for r in &report.rights {
                outln!(
                    "  [{}] {} — for {}",
                    match (r.granted, r.optional) {
                        (true, _) => "x",
                        (false, true) => "-",
                        (false, false) => " ",
                    },
                    r.right,
                    r.needed_for
                );
            }
        }
    }
    Ok(code)
}

pub async fn remove(ws: &Workspace, name: &str, out: &Output) -> Result<ExitCode, EngineError> {
    ws.remove_backend(name).await?;
    if out.json {
        out.json(&serde_json::json!({ "removed": name }));
    } else {
        outln!("removed {name} and everything cached from it");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn overview(ws: &Workspace, out: &Output) -> Result<ExitCode, EngineError> {
    let mut o = ws.overview().await?;
    if out.json {
        o.chart_svg.clear();
        out.json(&o);
        return Ok(ExitCode::SUCCESS);
    }
    let rows = o
        .backends
        .iter()
        .map(|b| {
            let c = &b.counts;
            vec![
                b.backend.clone(),
                b.kind.to_string(),
                c.principals.to_string(),
                c.roles.to_string(),
                c.permissions.to_string(),
                c.grants.to_string(),
                c.credentials.to_string(),
                c.audit_events.to_string(),
            ]
        })
        .collect();
    out.table(
        &[
            "BACKEND",
            "KIND",
            "PRINCIPALS",
            "ROLES",
            "PERMISSIONS",
            "GRANTS",
            "CREDENTIALS",
            "EVENTS",
        ],
        rows,
    );
    Ok(ExitCode::SUCCESS)
}
