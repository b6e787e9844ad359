//! Errors of the shell itself (before any command runs): the workspace could not be located or
//! opened. Command errors do not pass through here: they are `IpcError`s converted by the engine.

use std::path::PathBuf;

use portcullis_engine::EngineError;
use portcullis_model::IpcError;

#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    #[error("cannot locate the workspace directory (set PORTCULLIS_WORKSPACE): {0}")]
    Locate(#[from] EngineError),
    #[error("cannot open the workspace at {dir}: {source}")]
    Open {
        dir: PathBuf,
        #[source]
        source: EngineError,
    },
}

/// The window still opens when the workspace cannot; commands answer with this, keeping the
/// engine's code (e.g. `schema_too_new`) so the UI can say what to do.
impl From<ShellError> for IpcError {
    fn from(e: ShellError) -> Self {
        let code = match &e {
            ShellError::Locate(source) | ShellError::Open { source, .. } => source.code(),
        };
        IpcError::new(code, e.to_string())
    }
}
