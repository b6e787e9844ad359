//! The `portcullis` CLI and `curl`, as sandbox tests call them: a workspace of the test's own,
//! backend secrets passed by environment variable (never as arguments), JSON answers parsed.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::{repo_root, HarnessError, Result};

/// A `portcullis --workspace DIR` command with `env` set and nothing inherited that could point
/// it elsewhere. Needs `target/debug/portcullis` (`cargo build -p portcullis-cli`).
pub fn portcullis(workspace: &Path, env: &[(&str, &str)], args: &[&str]) -> Result<Command> {
    let bin = repo_root().join("target/debug/portcullis");
    if !bin.is_file() {
        return Err(HarnessError::Missing {
            what: "the CLI",
            path: bin,
            hint: "build it first: cargo build -p portcullis-cli",
        });
    }
    let mut cmd = Command::new(bin);
    cmd.arg("--workspace")
        .arg(workspace)
        .args(args)
        .env_remove("PORTCULLIS_WORKSPACE")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Ok(cmd)
}

/// Runs `portcullis ARGS…` and requires success: its output, or an error carrying what it
/// printed.
pub fn portcullis_ok(workspace: &Path, env: &[(&str, &str)], args: &[&str]) -> Result<Output> {
    let out = portcullis(workspace, env, args)?
        .output()
        .map_err(|source| HarnessError::Io {
            what: format!("running portcullis {args:?}"),
            source,
        })?;
    if !out.status.success() {
        return Err(HarnessError::Failed(format!(
            "portcullis {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(out)
}

/// Runs `portcullis --json ARGS…`, requires success, and parses its answer.
pub fn portcullis_json(workspace: &Path, env: &[(&str, &str)], args: &[&str]) -> Result<Value> {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = portcullis_ok(workspace, env, &all)?;
    serde_json::from_slice(&out.stdout).map_err(|e| {
        HarnessError::Failed(format!(
            "portcullis {args:?} answered no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        ))
    })
}

/// `curl -s` with a 10 s limit; the body as JSON, or `Null` when it is not JSON (an empty 204).
pub fn curl_json(args: &[&str]) -> Result<Value> {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10"])
        .args(args)
        .output()
        .map_err(|source| HarnessError::Io {
            what: "running curl".into(),
            source,
        })?;
    Ok(serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
}
