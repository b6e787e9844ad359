//! `portcullis`: the headless face of the engine, for terminals, scripts and schedulers.
//!
//! Exit codes: 0 success; 1 the command ran but its verdict is negative (a failed check);
//! 2 usage error; 3 the command could not run (unreachable cache, missing backend, ...).
//! With `--json`, results go to stdout as JSON and failures as `{"code","message"}`.

// First, so that `outln!` / `errln!` are in scope in every module after it.
#[macro_use]
mod term;

mod access;
mod args;
mod audit;
mod backend;
mod cache;
mod demo;
mod docs;
mod interrupt;
mod output;
mod review;
mod revoke;
mod token;

use clap::Parser;
use portcullis_engine::{EngineError, Workspace};
use std::process::ExitCode;

use args::{BackendCommand, Cli, Command, TokenCommand};
use output::Output;

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let out = Output { json: cli.json };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            out.error(
                &EngineError::Internal(format!("cannot start the async runtime: {e}")).into(),
            );
            return ExitCode::from(3);
        }
    };
    // The command runs as a task on the runtime's workers, as the app's commands do, rather than
    // on this thread: driven from `block_on`, every request and reply of a bulk revocation crossed
    // between this thread and a worker (bench `bulk_revoke`: ~8% of its own CPU per token).
    let task = runtime.spawn(async move { run(cli, &out).await });
    match runtime.block_on(task) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            out.error(&e.into());
            ExitCode::from(3)
        }
        Err(e) => {
            out.error(&EngineError::Internal(format!("the command's task failed: {e}")).into());
            ExitCode::from(3)
        }
    }
}

async fn run(cli: Cli, out: &Output) -> Result<ExitCode, EngineError> {
    // The manual and completions describe the command line, not a workspace: none is opened.
    match &cli.command {
        Command::Completions { shell } => return docs::completions(*shell),
        Command::ManPages { dir } => return docs::man_pages(dir, out),
        // Before any workspace is opened: opening one would create it, and a demo needs an
        // empty directory of its own.
        Command::Demo { seed, size } => {
            return demo::create(cli.workspace.as_deref(), *seed, *size, out).await
        }
        _ => {}
    }
    let dir = match cli.workspace {
        Some(dir) => dir,
        None => Workspace::default_dir()?,
    };
    let ws = Workspace::open(&dir).await?;
    if let Some(info) = ws.demo_info() {
        errln!("note: {}", info.label());
    }
    match cli.command {
        Command::Backend { command } => match command {
            BackendCommand::Add(args) => backend::add(&ws, args, out).await,
            BackendCommand::List => backend::list(&ws, out).await,
            BackendCommand::Check { name } => backend::check(&ws, &name, out).await,
            BackendCommand::Remove { name } => backend::remove(&ws, &name, out).await,
        },
        Command::Overview => backend::overview(&ws, out).await,
        Command::Sync { backends } => cache::sync(&ws, &backends, out).await,
        Command::Principals { backend, search } => {
            cache::principals(&ws, backend.as_deref(), search.as_deref(), out).await
        }
        Command::Credentials(args) => cache::credentials(&ws, args, out).await,
        Command::Token { command } => match command {
            TokenCommand::Inspect { backend } => token::inspect(&ws, backend.as_deref(), out).await,
            TokenCommand::Revoke { backend } => token::revoke(&ws, &backend, out).await,
        },
        Command::Revoke(args) => revoke::revoke(&ws, args, out).await,
        Command::Journal { verify, unfinished } => {
            revoke::journal(&ws, verify, unfinished, out).await
        }
        Command::Resume(args) => revoke::resume(&ws, args, out).await,
        Command::Explain(args) => access::explain(&ws, args, out).await,
        Command::WhoCan(args) => access::who_can(&ws, args, out).await,
        Command::Review { command } => match command {
            args::ReviewCommand::Run(a) => review::run(&ws, a, out).await,
            args::ReviewCommand::Rules => review::rules(&ws, out).await,
            args::ReviewCommand::Settings { set_file } => {
                review::settings(&ws, set_file.as_deref(), out).await
            }
            args::ReviewCommand::Campaign { command } => review::campaign(&ws, command, out).await,
        },
        Command::Evidence {
            command: args::EvidenceCommand::Verify { dir, files_only },
        } => review::verify(&ws, &dir, files_only, out).await,
        Command::Audit { command } => audit::run(&ws, command, out).await,
        Command::Completions { .. } | Command::ManPages { .. } | Command::Demo { .. } => {
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PORTCULLIS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Rust ignores SIGPIPE, so `portcullis credentials | head` would panic in `outln!` when the
/// reader leaves; a command-line tool should end quietly instead, as other Unix tools do.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is always valid.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
