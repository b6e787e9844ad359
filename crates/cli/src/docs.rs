//! The manual and the shell completions, generated from the clap declaration in `args.rs`.
//!
//! They exist so that `man portcullis` and Tab work on an installed system, and they are generated
//! rather than written so that they cannot drift from the parser: a flag added to `args.rs` is in
//! the next package's man page and completions. Only this crate knows clap (invariant 1), so the
//! packaging step asks the binary itself (`portcullis man-pages DIR`, hidden, and
//! `portcullis completions SHELL`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use portcullis_engine::EngineError;

use crate::args::Cli;
use crate::output::Output;

/// The manual every page belongs to (the centre of a man page's header line).
const MANUAL: &str = "Portcullis Manual";

fn io_err(what: String) -> impl FnOnce(std::io::Error) -> EngineError {
    move |source| EngineError::Io { what, source }
}

/// Writes `portcullis.1` and `portcullis-<sub>[-<sub>…].1` for every visible subcommand into
/// `dir` (created if missing); returns the files written, the main page first.
pub fn write_man_pages(dir: &Path) -> Result<Vec<PathBuf>, EngineError> {
    std::fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
    // `help` is clap's own subcommand, not ours: it gets no page and is not listed.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Building fills in each subcommand's display name (`portcullis-backend-add`), which is
    // both the page's title and its file name.
    cmd.build();
    let mut written = Vec::new();
    write_pages(&cmd, dir, &mut written)?;
    Ok(written)
}

fn write_pages(
    cmd: &clap::Command,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<(), EngineError> {
    let man = clap_mangen::Man::new(cmd.clone())
        .manual(MANUAL)
        .source(format!("portcullis {}", env!("CARGO_PKG_VERSION")));
    let path = dir.join(man.get_filename());
    let mut roff = Vec::new();
    man.render(&mut roff)
        .map_err(io_err(format!("rendering {}", man.get_filename())))?;
    std::fs::write(&path, roff).map_err(io_err(format!("writing {}", path.display())))?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    Ok(())
}

/// `portcullis man-pages DIR`.
pub fn man_pages(dir: &Path, out: &Output) -> Result<ExitCode, EngineError> {
    let written = write_man_pages(dir)?;
    if out.json {
        let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        outln!(
            "{}",
            crate::term::json_line(&names)
                .map_err(|e| EngineError::Internal(format!("printing JSON: {e}")))?
        );
    } else {
        outln!("{} man pages in {}", written.len(), dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The command line without its hidden subcommands (clap_complete would offer them).
fn visible_command() -> clap::Command {
    let full = Cli::command();
    let mut cmd = clap::Command::new("portcullis").version(env!("CARGO_PKG_VERSION"));
    if let Some(about) = full.get_about() {
        cmd = cmd.about(about.clone());
    }
    for arg in full.get_arguments() {
        cmd = cmd.arg(arg.clone());
    }
    for sub in full.get_subcommands().filter(|s| !s.is_hide_set()) {
        cmd = cmd.subcommand(sub.clone());
    }
    cmd.subcommand_required(true)
}

/// The completion script for `shell`, as the shell sources it.
pub fn completion_script(shell: clap_complete::Shell) -> Result<String, EngineError> {
    let mut cmd = visible_command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "portcullis", &mut script);
    String::from_utf8(script).map_err(|e| {
        EngineError::Internal(format!("the {shell} completion script is not UTF-8: {e}"))
    })
}

/// `portcullis completions SHELL`: the script on stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<ExitCode, EngineError> {
    crate::term::write_data(&completion_script(shell)?);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_visible_subcommand_gets_a_page_and_hidden_ones_none() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_man_pages(dir.path()).unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names[0], "portcullis.1");
        for page in [
            "portcullis-backend.1",
            "portcullis-backend-add.1",
            "portcullis-review-campaign-decide.1",
            "portcullis-audit-search.1",
            "portcullis-completions.1",
        ] {
            assert!(names.iter().any(|n| n == page), "{page} missing: {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("man-pages")), "{names:?}");
        assert!(!names.iter().any(|n| n.contains("-help")), "{names:?}");
        let main = std::fs::read_to_string(dir.path().join("portcullis.1")).unwrap();
        assert!(main.contains(env!("CARGO_PKG_VERSION")), "{main}");
        assert!(main.contains(MANUAL));
    }

    #[test]
    fn completion_scripts_name_the_subcommands() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let script = completion_script(shell).unwrap();
            assert!(script.contains("who-can"), "{shell}: {script}");
            assert!(
                !script.contains("man-pages"),
                "{shell} offers a hidden command"
            );
        }
    }
}
