//! `portcullis token inspect|revoke`: token triage, the token read from stdin (never an argument).
//! Bulk and incident revocation and the journal live in `revoke.rs`.

use portcullis_engine::{EngineError, Workspace};
use portcullis_model::RevocationOutcome;
use secrecy::SecretString;
use std::process::ExitCode;

use crate::backend::read_secret;
use crate::output::Output;

fn read_token() -> Result<SecretString, EngineError> {
    let t = read_secret("the token")?;
    let t = t.trim().to_string();
    if t.is_empty() {
        return Err(EngineError::InvalidInput(
            "no token on stdin: pipe it in, e.g. `pbpaste | portcullis token inspect`".into(),
        ));
    }
    Ok(SecretString::from(t))
}

pub async fn inspect(
    ws: &Workspace,
    backend: Option<&str>,
    out: &Output,
) -> Result<ExitCode, EngineError> {
    let token = read_token()?;
    let results = ws.triage_token(&token, backend).await?;
    let recognised = results.iter().any(|r| r.token.is_some());
    if out.json {
        out.json(&results);
    } else {
        for r in &results {
            match (&r.token, &r.error) {
                (Some(t), _) => {
                    outln!(
                        "{}: RECOGNISED — {} {}",
                        r.backend,
                        if t.active { "active" } else { "inactive" },
                        t.kind.as_str()
                    );
                    outln!("  fingerprint {}", &t.fingerprint[..16]);
                    if let Some(id) = &t.external_id {
                        outln!("  id          {id}");
                    }
                    if let Some(c) = &t.client {
                        outln!("  client      {c}");
                    }
                    if let Some(s) = &t.subject {
                        outln!("  subject     {s}");
                    }
                    outln!("  scopes      {}", t.scopes.join(" "));
                    if !t.audience.is_empty() {
                        outln!("  audience    {}", t.audience.join(" "));
                    }
                    outln!(
                        "  issued      {}",
                        t.issued_at
                            .map(|d| d.to_rfc3339())
                            .unwrap_or_else(|| "unknown".into())
                    );
                    outln!(
                        "  expires     {}",
                        t.expires_at
                            .map(|d| d.to_rfc3339())
                            .unwrap_or_else(|| "never".into())
                    );
                }
                (None, Some(e)) => {
                    outln!("{}: could not ask [{}] {}", r.backend, e.code, e.message)
                }
                (None, None) => outln!("{}: not recognised", r.backend),
            }
            if let (None, Some(seen)) = (&r.token, &r.seen) {
                outln!(
                    "  seen before as credential {} ({})",
                    seen.external_id,
                    seen.status.as_str()
                );
                if let Some(rev) = &seen.revocation {
                    outln!(
                        "  revoked by {} at {}, journal #{} ({})",
                        rev.actor,
                        rev.at.to_rfc3339(),
                        rev.journal_seq,
                        rev.state.as_str()
                    );
                }
            }
        }
        if recognised {
            outln!("Revoke it: <same token> | portcullis token revoke --backend NAME");
        }
    }
    Ok(if recognised {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_outcome(o: &RevocationOutcome) {
    match (&o.verification, &o.error) {
        (Some(v), None) => outln!(
            "{} {}: revoked and VERIFIED dead — {}",
            o.backend,
            o.target,
            v.evidence
        ),
        (_, Some(e)) => outln!(
            "{} {}: FAILED [{}] {}",
            o.backend,
            o.target,
            e.code,
            e.message
        ),
        (None, None) => outln!("{} {}: sent, not verified", o.backend, o.target),
    }
    if let Some(r) = &o.receipt {
        for c in &r.caveats {
            outln!("  note: {c}");
        }
    }
    outln!("  journal entry #{}", o.journal_seq);
}

fn exit_for(outcomes: &[RevocationOutcome]) -> ExitCode {
    if outcomes
        .iter()
        .all(|o| o.error.is_none() && o.verification.as_ref().is_some_and(|v| v.dead))
    {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

pub async fn revoke(ws: &Workspace, backend: &str, out: &Output) -> Result<ExitCode, EngineError> {
    let token = read_token()?;
    let o = ws.revoke_token(backend, &token).await?;
    if out.json {
        out.json(&[&o]);
    } else {
        print_outcome(&o);
    }
    Ok(exit_for(std::slice::from_ref(&o)))
}
