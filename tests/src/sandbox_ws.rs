//! A workspace of the test's own that holds the three sandbox backends (OAuth 2.0 with its event
//! log, OpenBao with its audit log, PostgreSQL), registered and synced through the CLI the way a
//! reviewer would. The console's secrets reach the CLI and the app only as environment variables
//! named here, never as arguments.

use std::ffi::OsStr;
use std::path::Path;

use serde_json::Value;

use crate::cli::portcullis_ok;
use crate::{App, HarnessError, Result, Sandbox};

/// The environment variables the sandbox backends' credentials are registered under.
pub const OIDC_VAR: &str = "PORTCULLIS_E2E_OIDC_SECRET";
pub const BAO_VAR: &str = "PORTCULLIS_E2E_BAO_TOKEN";
pub const PG_VAR: &str = "PORTCULLIS_E2E_PG_PASSWORD";

/// The console's sandbox credentials, by the variable each backend is registered with.
pub fn secrets(sb: &Sandbox) -> [(&'static str, &str); 3] {
    [
        (OIDC_VAR, sb.oidc.client_secret.as_str()),
        (BAO_VAR, sb.openbao.token.as_str()),
        (PG_VAR, sb.postgres.password.as_str()),
    ]
}

/// Runs `portcullis ARGS…` on `workspace` with the sandbox secrets set; its stdout on success.
pub fn cli(workspace: &Path, sb: &Sandbox, args: &[&str]) -> Result<String> {
    let out = portcullis_ok(workspace, &secrets(sb), args)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Registers the three sandbox backends (named `oidc`, `openbao`, `postgres`) and syncs them;
/// fails unless every backend syncs.
pub fn add_and_sync(workspace: &Path, sb: &Sandbox) -> Result<()> {
    add_backends(workspace, sb)?;
    let reports: Value = serde_json::from_str(&cli(workspace, sb, &["--json", "sync"])?)
        .map_err(|e| HarnessError::Failed(format!("sync output: {e}")))?;
    for r in reports.as_array().into_iter().flatten() {
        if r["ok"] != true {
            return Err(HarnessError::Failed(format!("sync failed: {r}")));
        }
    }
    Ok(())
}

/// Registers the three sandbox backends (named `oidc`, `openbao`, `postgres`) with their audit
/// logs, credentials by the variables above; nothing is synced.
pub fn add_backends(workspace: &Path, sb: &Sandbox) -> Result<()> {
    add_backends_with(workspace, sb, true)
}

/// [`add_backends`], with OpenBao's audit log registered only if `bao_audit_log`: tests that
/// grow that log by thousands of entries and never read it leave it out, or every sync would
/// ingest it.
pub fn add_backends_with(workspace: &Path, sb: &Sandbox, bao_audit_log: bool) -> Result<()> {
    let oidc_url = sb
        .oidc
        .issuer
        .replacen("://", &format!("://{}@", sb.oidc.client_id), 1);
    let (oidc_log, bao_log) = (
        sb.oidc.event_log.display().to_string(),
        sb.openbao.audit_log.display().to_string(),
    );
    let mut openbao = vec![
        "openbao",
        "--kind",
        "vault",
        "--url",
        &sb.openbao.url,
        "--credential-env",
        BAO_VAR,
    ];
    if bao_audit_log {
        openbao.extend(["--audit-log", bao_log.as_str()]);
    }
    let backends: [Vec<&str>; 3] = [
        vec![
            "oidc",
            "--kind",
            "oauth2",
            "--url",
            &oidc_url,
            "--credential-env",
            OIDC_VAR,
            "--audit-log",
            &oidc_log,
        ],
        openbao,
        vec![
            "postgres",
            "--kind",
            "postgres",
            "--url",
            &sb.postgres.url,
            "--credential-env",
            PG_VAR,
        ],
    ];
    for rest in backends {
        let mut args = vec!["backend", "add"];
        args.extend(rest);
        cli(workspace, sb, &args)?;
    }
    Ok(())
}

/// Runs `f` on the app opened on a fresh workspace holding the synced sandbox backends, acting
/// as `actor`; saves `shot_on_failure` when `f` fails, and always quits the app.
pub async fn with_synced_app<F, Fut>(actor: &str, shot_on_failure: &str, f: F) -> Result<()>
where
    F: FnOnce(App, Sandbox) -> Fut,
    Fut: std::future::Future<Output = (App, Result<()>)>,
{
    crate::require_display()?;
    let sandbox = Sandbox::load()?;
    let workspace = tempfile::tempdir().map_err(|source| HarnessError::Io {
        what: "creating a workspace dir".into(),
        source,
    })?;
    add_and_sync(workspace.path(), &sandbox)?;
    let mut env: Vec<(&str, &OsStr)> = secrets(&sandbox)
        .into_iter()
        .map(|(k, v)| (k, OsStr::new(v)))
        .collect();
    env.push(("PORTCULLIS_WORKSPACE", workspace.path().as_os_str()));
    env.push(("PORTCULLIS_ACTOR", OsStr::new(actor)));
    let app = App::launch(&env).await?;
    let (app, outcome) = f(app, sandbox).await;
    if outcome.is_err() {
        let _ = app.screenshot(shot_on_failure).await;
    }
    app.quit().await.and(outcome)
}
