//! The installed face of the CLI: `--version` is the workspace's version, the manual names every
//! subcommand `--help` lists and has a page for each, the bash completion script loads in a real
//! bash, and a review report says which version wrote it. Offline, no backend.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

fn run(args: &[&str], ws: Option<&Path>) -> Output {
    let mut cmd = Command::new(BIN);
    if let Some(ws) = ws {
        cmd.arg("--workspace").arg(ws);
    }
    let out = cmd
        .args(args)
        .env_remove("PORTCULLIS_WORKSPACE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The subcommands of `portcullis [SUB…] --help`, read from its "Commands:" section.
fn subcommands_in_help(path: &[&str]) -> Vec<String> {
    let mut args = path.to_vec();
    args.push("--help");
    let help = String::from_utf8(run(&args, None).stdout).unwrap();
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn version_is_the_workspace_version() {
    let out = run(&["--version"], None);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("portcullis {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn the_manual_names_every_subcommand_and_has_a_page_for_each() {
    let dir = tempfile::tempdir().unwrap();
    run(&["man-pages", dir.path().to_str().unwrap()], None);
    let main = std::fs::read_to_string(dir.path().join("portcullis.1")).unwrap();
    let top = subcommands_in_help(&[]);
    assert!(top.len() >= 15, "too few subcommands in --help: {top:?}");
    for sub in [
        "backend",
        "sync",
        "review",
        "revoke",
        "audit",
        "completions",
    ] {
        assert!(top.iter().any(|s| s == sub), "{sub} not in --help: {top:?}");
    }
    for sub in &top {
        // roff spells the hyphen `\-`.
        let listed = format!("portcullis-{sub}(1)").replace('-', "\\-");
        assert!(main.contains(&listed), "portcullis(1) does not name {sub}");
        let page = dir.path().join(format!("portcullis-{sub}.1"));
        assert!(page.is_file(), "no page {}", page.display());
        for nested in subcommands_in_help(&[sub]) {
            let page = dir.path().join(format!("portcullis-{sub}-{nested}.1"));
            assert!(page.is_file(), "no page {}", page.display());
        }
    }
    assert!(
        !main.contains("man\\-pages"),
        "the hidden generator is not part of the manual"
    );
}

#[test]
fn the_bash_completion_script_loads_in_bash() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("portcullis.bash");
    std::fs::write(&script, run(&["completions", "bash"], None).stdout).unwrap();
    let out = Command::new("bash")
        .arg("--norc")
        .arg("-c")
        .arg("source \"$1\" && complete -p portcullis")
        .arg("bash")
        .arg(&script)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("portcullis"), "{said}");
}

#[test]
fn a_review_report_names_the_version_that_wrote_it() {
    let ws = tempfile::tempdir().unwrap();
    let out = run(&["--json", "review", "run"], Some(ws.path()));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["portcullis_version"], env!("CARGO_PKG_VERSION"));
}
