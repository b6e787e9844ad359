//! `portcullis`: the headless face of the engine, for terminals, scripts and schedulers.
//!
//! Exit codes: 0 success; 1 the command ran but its verdict is negative (a failed check);
//! 2 usage error; 3 the command could not run (unreachable cache, missing backend, ...).
//! With `--json`, results go to stdout as JSON and failures as `{"code","message"}`.

mod args;
mod backend;
mod cache;
mod output;
mod token;

use clap::Parser;
use portcullis_engine::{EngineError, Workspace};
use std::process::ExitCode;

use args::{BackendCommand, Cli, Command, TokenCommand};
use output::Output;

fn main() -> ExitCode {
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
    match runtime.block_on(run(cli, &out)) {
        Ok(code) => code,
        Err(e) => {
            out.error(&e.into());
            ExitCode::from(3)
        }
    }
}

async fn run(cli: Cli, out: &Output) -> Result<ExitCode, EngineError> {
    let dir = match cli.workspace {
        Some(dir) => dir,
        None => Workspace::default_dir()?,
    };
    let ws = Workspace::open(&dir).await?;
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
        Command::Revoke { ids, yes } => token::revoke_ids(&ws, &ids, yes, out).await,
        Command::Journal { verify } => token::journal(&ws, verify, out).await,
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
