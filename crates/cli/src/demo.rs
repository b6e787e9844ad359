//! `portcullis demo`: a workspace of its own filled from a generated organisation, for a first
//! look without a backend (the engine's `demo.rs` builds it; this only picks the directory and
//! says where it went and what to run next).

use std::path::Path;
use std::process::ExitCode;

use portcullis_engine::{EngineError, Workspace};
use portcullis_model::DemoSize;

use crate::output::Output;

pub async fn create(
    dir: Option<&Path>,
    seed: u64,
    size: DemoSize,
    out: &Output,
) -> Result<ExitCode, EngineError> {
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => portcullis_engine::demo::default_demo_dir(seed, size)?,
    };
    let (_ws, report) = Workspace::create_demo(&dir, seed, size).await?;
    if out.json {
        outln!(
            "{}",
            crate::term::json_line(&report)
                .map_err(|e| EngineError::Internal(format!("printing JSON: {e}")))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{}.", report.info.label());
    outln!(
        "Workspace {}: backends {}; {} principals, {} credentials, {} audit events.",
        report.dir,
        report.info.backends.join(", "),
        report.principals,
        report.credentials,
        report.audit_events
    );
    // Quoted for a POSIX shell; not suggested at all if the path holds hidden characters.
    if let (Ok(overview), Ok(app)) = (
        portcullis_engine::shell::command(&["portcullis", "--workspace", &report.dir, "overview"]),
        portcullis_engine::shell::command(&["portcullis-app"]),
    ) {
        let dir = portcullis_engine::shell::command(&[&report.dir]).unwrap_or_default();
        outln!("Next: {overview}");
        outln!("      PORTCULLIS_WORKSPACE={dir} {app}");
    }
    Ok(ExitCode::SUCCESS)
}
