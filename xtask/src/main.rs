//! Project tasks that need more than a shell line, written in Rust so they run wherever cargo does.
//!
//! `build-ui [--release]` builds the Yew UI for `wasm32-unknown-unknown` and runs wasm-bindgen as a
//! library (no Trunk, no wasm-bindgen binary to install) into `ui/dist`, which the Tauri shell
//! embeds. It is incremental twice over: when no input changed since the last run it does nothing,
//! and it only rewrites files of `ui/dist` whose bytes changed, so cargo does not rebuild the app.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Instant, UNIX_EPOCH};

const UI_CRATE: &str = "portcullis-ui";
const WASM_NAME: &str = "portcullis_ui";
const TARGET: &str = "wasm32-unknown-unknown";
/// What the UI build reads, relative to the repository root (directories are walked).
const INPUTS: &[&str] = &[
    "ui/Cargo.toml",
    "ui/src",
    "ui/static",
    "crates/model",
    "Cargo.toml",
    "Cargo.lock",
    "icons/128x128.png",
];
/// Files copied verbatim from `ui/static` to `ui/dist`, plus the logo.
const STATIC: &[&str] = &["index.html", "style.css", "boot.js", "theme.js"];

#[derive(Debug, thiserror::Error)]
enum XtaskError {
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{0}` failed; see its output above")]
    Command(String),
    #[error("wasm-bindgen: {0}")]
    Bindgen(String),
}

type Result<T, E = XtaskError> = std::result::Result<T, E>;

fn io<T>(path: &Path, r: std::io::Result<T>) -> Result<T> {
    r.map_err(|source| XtaskError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build-ui") => match &args[1..] {
            [] => build_ui(false),
            [flag] if flag == "--release" => build_ui(true),
            other => Err(XtaskError::Usage(format!(
                "build-ui takes only --release, not {other:?}"
            ))),
        },
        _ => Err(XtaskError::Usage(
            "usage: cargo run -p xtask -- build-ui [--release]".into(),
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"))
}

/// A listing of every input file with its size and modification time: equal listings mean
/// nothing changed. Cheap (a directory walk), so the no-change case takes milliseconds.
fn fingerprint(root: &Path, release: bool) -> Result<String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) -> Result<()> {
        let meta = io(dir, std::fs::metadata(dir))?;
        if meta.is_file() {
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let rel = dir.strip_prefix(root).unwrap_or(dir).display().to_string();
            out.insert(rel, format!("{} {}", meta.len(), mtime));
            return Ok(());
        }
        for entry in io(dir, std::fs::read_dir(dir))? {
            let path = io(dir, entry)?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name == "target" || name == "dist" || name.starts_with('.') {
                continue;
            }
            walk(&path, root, out)?;
        }
        Ok(())
    }
    let mut files = BTreeMap::new();
    for input in INPUTS {
        let path = root.join(input);
        if path.exists() {
            walk(&path, root, &mut files)?;
        }
    }
    let mut s = format!("profile {}\n", if release { "release" } else { "debug" });
    for (k, v) in files {
        s.push_str(&format!("{k} {v}\n"));
    }
    Ok(s)
}

fn build_ui(release: bool) -> Result<()> {
    let started = Instant::now();
    let root = repo_root();
    let target = target_dir(&root);
    let dist = root.join("ui/dist");
    let stamp = target.join("xtask").join(format!(
        "build-ui-{}.stamp",
        if release { "release" } else { "debug" }
    ));

    let before = fingerprint(&root, release)?;
    let complete = ["index.html", "portcullis_ui.js", "portcullis_ui_bg.wasm"]
        .iter()
        .all(|f| dist.join(f).is_file());
    if complete && std::fs::read_to_string(&stamp).ok().as_deref() == Some(before.as_str()) {
        println!(
            "ui/dist is up to date ({} ms)",
            started.elapsed().as_millis()
        );
        return Ok(());
    }

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(&root)
        .args(["build", "-p", UI_CRATE, "--target", TARGET]);
    if release {
        cmd.arg("--release");
    }
    let status = io(Path::new(&cargo), cmd.status())?;
    if !status.success() {
        return Err(XtaskError::Command(format!(
            "cargo build -p {UI_CRATE} --target {TARGET}"
        )));
    }

    let wasm = target
        .join(TARGET)
        .join(if release { "release" } else { "debug" })
        .join(format!("{UI_CRATE}.wasm"));
    let staging = target.join("xtask").join("ui-staging");
    if staging.exists() {
        io(&staging, std::fs::remove_dir_all(&staging))?;
    }
    io(&staging, std::fs::create_dir_all(&staging))?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .out_name(WASM_NAME)
        .web(true)
        .map_err(|e| XtaskError::Bindgen(format!("{e:#}")))?
        // Keep `new URL('…_bg.wasm', import.meta.url)` as init()'s default, or the page stays blank.
        .omit_default_module_path(false)
        .typescript(false)
        .debug(!release)
        .generate(&staging)
        .map_err(|e| XtaskError::Bindgen(format!("{e:#}")))?;

    for name in STATIC {
        let from = root.join("ui/static").join(name);
        io(&from, std::fs::copy(&from, staging.join(name)))?;
    }
    let logo = root.join("icons/128x128.png");
    io(&logo, std::fs::copy(&logo, staging.join("logo.png")))?;

    let changed = sync_dir(&staging, &dist)?;
    if let Some(parent) = stamp.parent() {
        io(parent, std::fs::create_dir_all(parent))?;
    }
    io(&stamp, std::fs::write(&stamp, before))?;
    println!(
        "ui/dist built in {:.1} s ({} file(s) changed)",
        started.elapsed().as_secs_f64(),
        changed
    );
    Ok(())
}

/// Makes `to` hold exactly the files of `from`, writing only those whose bytes differ, so that
/// unchanged files keep their modification time. Returns how many files were written or removed.
fn sync_dir(from: &Path, to: &Path) -> Result<usize> {
    io(to, std::fs::create_dir_all(to))?;
    let mut changed = 0;
    let mut wanted = std::collections::BTreeSet::new();
    for entry in io(from, std::fs::read_dir(from))? {
        let src = io(from, entry)?.path();
        let Some(name) = src.file_name().map(|n| n.to_os_string()) else {
            continue;
        };
        let dst = to.join(&name);
        wanted.insert(name);
        if src.is_dir() {
            changed += sync_dir(&src, &dst)?;
            continue;
        }
        let new = io(&src, std::fs::read(&src))?;
        if std::fs::read(&dst).ok().as_deref() != Some(new.as_slice()) {
            io(&dst, std::fs::write(&dst, &new))?;
            changed += 1;
        }
    }
    for entry in io(to, std::fs::read_dir(to))? {
        let path = io(to, entry)?.path();
        let stale = path.file_name().is_some_and(|n| !wanted.contains(n));
        if stale {
            let r = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            io(&path, r)?;
            changed += 1;
        }
    }
    Ok(changed)
}
