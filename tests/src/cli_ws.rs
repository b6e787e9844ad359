//! A workspace of a sandbox test's own, driven through the `portcullis` CLI the way a reviewer
//! drives it: a temporary directory, the console's sandbox secrets in the environment under
//! [`sandbox_ws`]'s variable names (never as arguments), JSON answers parsed.
//!
//! Its methods panic with the command's output when something fails: they serve `#[test]`s,
//! where the panic is the report. The UI tests use the `Result`-returning helpers of
//! [`sandbox_ws`] and [`cli`] instead.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{cli, sandbox_ws, Sandbox};

pub struct CliWs {
    pub dir: tempfile::TempDir,
    pub sb: Sandbox,
    actor: Option<String>,
}

fn output_of(out: &Output) -> String {
    format!(
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl CliWs {
    /// An empty workspace against `sb`.
    pub fn new(sb: Sandbox) -> CliWs {
        CliWs {
            dir: tempfile::tempdir().expect("a temporary workspace directory"),
            sb,
            actor: None,
        }
    }

    /// An empty workspace against the running sandbox.
    pub fn load() -> CliWs {
        CliWs::new(Sandbox::load().expect("the sandbox is up (scripts/sandbox up)"))
    }

    /// Who the journal records as acting (`PORTCULLIS_ACTOR`).
    pub fn acting_as(mut self, actor: &str) -> CliWs {
        self.actor = Some(actor.to_string());
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `portcullis --workspace DIR ARGS…` with the secrets (and the actor) set, stdin empty.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut env: Vec<(&str, &str)> = sandbox_ws::secrets(&self.sb).to_vec();
        if let Some(actor) = &self.actor {
            env.push(("PORTCULLIS_ACTOR", actor));
        }
        cli::portcullis(self.path(), &env, args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs a command whatever its exit status.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args)
            .output()
            .unwrap_or_else(|e| panic!("running portcullis {args:?}: {e}"))
    }

    /// Runs a command with `stdin` as its input, whatever its exit status.
    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("running portcullis {args:?}: {e}"));
        if let Some(mut input) = child.stdin.take() {
            input
                .write_all(stdin.as_bytes())
                .unwrap_or_else(|e| panic!("writing to portcullis {args:?}: {e}"));
        }
        child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("waiting for portcullis {args:?}: {e}"))
    }

    /// Runs a command (with `stdin` as its input, if any) and waits for it at most `limit`: a
    /// command that has not returned by then is killed and the test fails, so a hang is a
    /// finding rather than a stuck CI job. Returns the output and how long the command took.
    pub fn run_within(
        &self,
        args: &[&str],
        stdin: Option<&str>,
        limit: Duration,
    ) -> (Output, Duration) {
        let started = Instant::now();
        let input = if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        let mut child = self
            .cmd(args)
            .stdin(input)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("running portcullis {args:?}: {e}"));
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())
                .unwrap_or_else(|e| panic!("writing to portcullis {args:?}: {e}"));
        }
        let pid = child.id();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        match rx.recv_timeout(limit) {
            Ok(out) => {
                let out = out.unwrap_or_else(|e| panic!("waiting for portcullis {args:?}: {e}"));
                (out, started.elapsed())
            }
            Err(_) => {
                if let Ok(pid) = libc::pid_t::try_from(pid) {
                    // SAFETY: a plain syscall on the pid of our own child, not reaped yet (its
                    // waiting thread is still blocked on it).
                    unsafe {
                        libc::kill(pid, libc::SIGKILL);
                    }
                }
                panic!("portcullis {args:?} did not return within {limit:?}");
            }
        }
    }

    /// [`CliWs::run_within`] with `--json`: the answer, the output and the time taken.
    pub fn json_within(
        &self,
        args: &[&str],
        stdin: Option<&str>,
        limit: Duration,
    ) -> (Value, Output, Duration) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let (out, took) = self.run_within(&all, stdin, limit);
        let v = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?} answered no JSON ({e}): {}", output_of(&out)));
        (v, out, took)
    }

    /// Runs a command that must succeed.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?} failed: {}", output_of(&out));
        out
    }

    /// `--json ARGS…`'s answer and output, whatever the exit status (a failed item is a
    /// negative verdict with a report).
    pub fn json_of(&self, args: &[&str]) -> (Value, Output) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        let v = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?} answered no JSON ({e}): {}", output_of(&out)));
        (v, out)
    }

    /// `--json ARGS…`'s answer; the command must succeed.
    pub fn json(&self, args: &[&str]) -> Value {
        let (v, out) = self.json_of(args);
        assert!(out.status.success(), "{args:?} failed: {}", output_of(&out));
        v
    }

    /// Registers a backend whose credential is in the environment variable `env`.
    pub fn add_backend(&self, name: &str, kind: &str, url: &str, env: &str) {
        self.add_backend_with(name, kind, url, env, &[]);
    }

    /// [`CliWs::add_backend`] with more `backend add` arguments (`--audit-log PATH`...).
    pub fn add_backend_with(&self, name: &str, kind: &str, url: &str, env: &str, more: &[&str]) {
        let mut args = vec![
            "backend",
            "add",
            name,
            "--kind",
            kind,
            "--url",
            url,
            "--credential-env",
            env,
        ];
        args.extend_from_slice(more);
        self.ok(&args);
    }

    /// Registers the three sandbox backends with their audit logs (see
    /// [`sandbox_ws::add_backends`]); nothing is synced.
    pub fn add_sandbox_backends(&self) {
        sandbox_ws::add_backends(self.path(), &self.sb).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Syncs every registered backend; each must succeed.
    pub fn sync_all(&self) {
        for r in self.json(&["sync"]).as_array().into_iter().flatten() {
            assert_eq!(r["ok"], true, "sync failed: {r}");
        }
    }

    /// The cached credentials of one backend.
    pub fn credentials(&self, backend: &str) -> Vec<Value> {
        match self.json(&["credentials", "--backend", backend]) {
            Value::Array(items) => items,
            other => panic!("credentials --backend {backend} answered no list: {other}"),
        }
    }
}
