//! Files and directories that hold who-did-what: the workspace, evidence, incident reports and
//! audit exports. Everything here is owner-only (directories 0700, files 0600), and a file is never
//! written through a symbolic link, because an export path is often typed by a person into a
//! shared directory where someone else may have planted a link to a file they want overwritten.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::{EngineError, Result};

/// Creates `dir` (and its parents) owner-only. An existing directory that holds a Portcullis
/// cache, or nothing at all, is tightened to 0700 too: a workspace made by an older version was
/// 0755. Any other existing directory (one a person pointed `--workspace` at) is left as it is.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let existed = dir.is_dir();
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| EngineError::Io {
        what: format!("creating the directory {}", dir.display()),
        source,
    })?;
    if existed && is_ours(dir) {
        tighten(dir, 0o700);
    }
    Ok(())
}

/// Opens `path` for writing, owner-only, truncating an existing regular file (whose mode is reset
/// to 0600). A symbolic link at `path` is refused with an error that says so.
pub fn create_private_file(path: &Path) -> Result<File> {
    let what = || format!("creating {}", path.display());
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(EngineError::InvalidInput(format!(
            "{} is a symbolic link; Portcullis does not write through links. Choose another path",
            path.display()
        )));
    }
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NOFOLLOW closes the race between the check above and the open.
        opts.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    let file = opts.open(path).map_err(|source| EngineError::Io {
        what: what(),
        source,
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // `mode` applies only when the file is created; an existing file keeps its bits otherwise.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|source| EngineError::Io {
                what: what(),
                source,
            })?;
    }
    Ok(file)
}

/// Writes `bytes` to `path` through [`create_private_file`].
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = create_private_file(path)?;
    file.write_all(bytes).map_err(|source| EngineError::Io {
        what: format!("writing {}", path.display()),
        source,
    })
}

fn is_ours(dir: &Path) -> bool {
    dir.join(crate::CACHE_FILE).exists()
        || std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none())
}

fn tighten(dir: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)) {
            tracing::warn!(dir = %dir.display(), error = %e, "could not make the directory owner-only");
        }
    }
    #[cfg(not(unix))]
    let _ = (dir, mode);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_directories_and_files_are_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ws/evidence");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("report.html");
        write_private(&file, b"x").unwrap();
        assert_eq!(mode(&file), 0o600);
    }

    #[test]
    fn an_old_workspace_is_tightened_but_a_foreign_directory_is_not() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = tmp.path().join("ws");
        let other = tmp.path().join("projects");
        for d in [&ws, &other] {
            std::fs::create_dir(d).unwrap();
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::write(ws.join(crate::CACHE_FILE), b"").unwrap();
        std::fs::write(other.join("notes.txt"), b"").unwrap();
        create_private_dir(&ws).unwrap();
        create_private_dir(&other).unwrap();
        assert_eq!(mode(&ws), 0o700);
        assert_eq!(mode(&other), 0o755);
    }

    #[test]
    fn an_existing_file_loses_its_wide_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("out.jsonl");
        std::fs::write(&file, b"old content that is longer").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&file, b"new").unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read(&file).unwrap(), b"new");
    }

    #[test]
    fn a_symlink_is_refused_and_its_target_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let link = tmp.path().join("export.csv");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let err = write_private(&link, b"overwritten").unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    }
}
