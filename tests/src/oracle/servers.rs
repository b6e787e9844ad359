//! Throwaway servers for the oracle tests: an OpenBao dev server and a PostgreSQL 15 cluster with
//! pgaudit, each on a free loopback port with its data in a temporary directory, stopped and
//! deleted when dropped. The sandbox's own servers are left alone: a generated organisation is
//! loaded into servers nobody else counts on.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{free_port, io_err, repo_root, wait_for_port, HarnessError, Result};

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
const READY: Duration = Duration::from_secs(30);

/// A child process stopped (SIGTERM, then SIGKILL) when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.0.id()) {
            // SAFETY: plain syscall on the pid of our own child, which we have not reaped yet.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(cmd: &mut Command, what: &str) -> Result<Output> {
    let out = cmd.output().map_err(io_err(what.to_string()))?;
    if !out.status.success() {
        return Err(HarnessError::Failed(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(out)
}

/// An OpenBao dev server (in memory) with a file audit device.
pub struct Bao {
    pub url: String,
    pub root_token: String,
    pub audit_log: PathBuf,
    _proc: Proc,
    _dir: tempfile::TempDir,
}

impl Bao {
    pub fn start() -> Result<Bao> {
        let bin = repo_root().join(".cache/venv/bin/bao");
        if !bin.is_file() {
            return Err(HarnessError::Missing {
                what: "the OpenBao binary",
                path: bin,
                hint: "run scripts/setup.sh (make test does)",
            });
        }
        let dir = tempfile::tempdir().map_err(io_err("creating a directory for OpenBao"))?;
        let port = free_port()?;
        let root_token = format!("oracle-root-{port}");
        let audit_log = dir.path().join("audit.log");
        // OpenBao 2 takes audit devices from its configuration only, never over the API.
        let config = dir.path().join("bao.hcl");
        std::fs::write(
            &config,
            format!(
                "api_addr = \"http://127.0.0.1:{port}\"\ndisable_clustering = true\n\
                 audit \"file\" \"file\" {{\n  options {{\n    file_path = \"{}\"\n  }}\n}}\n",
                audit_log.display()
            ),
        )
        .map_err(io_err("writing the OpenBao configuration"))?;
        let log = std::fs::File::create(dir.path().join("server.log"))
            .map_err(io_err("creating the OpenBao log"))?;
        let child = Command::new(bin)
            .args(["server", "-dev", "-dev-no-store-token"])
            .arg(format!("-config={}", config.display()))
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .arg(format!("-dev-root-token-id={root_token}"))
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io_err("OpenBao log"))?)
            .stderr(log)
            .spawn()
            .map_err(io_err("starting OpenBao"))?;
        let mut proc = Proc(child);
        wait_for_port(port, READY, &mut proc.0)?;
        let bao = Bao {
            url: format!("http://127.0.0.1:{port}"),
            root_token,
            audit_log,
            _proc: proc,
            _dir: dir,
        };
        bao.await_unsealed()?;
        Ok(bao)
    }

    fn await_unsealed(&self) -> Result<()> {
        let deadline = Instant::now() + READY;
        loop {
            let health = self.call_as("GET", "sys/health", None, None);
            if matches!(&health, Ok(h) if h["sealed"] == false) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(HarnessError::Timeout(READY, "OpenBao to unseal".into()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A call with the root token.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        self.call_as(method, path, Some(&self.root_token), body)
    }

    /// A call as `token`; a status of 400 or more is an error carrying the body.
    pub fn call_as(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Value> {
        let (status, v) = self.request(method, path, token, body)?;
        if status >= 400 {
            return Err(HarnessError::Failed(format!(
                "OpenBao {method} {path}: HTTP {status}: {v}"
            )));
        }
        Ok(v)
    }

    /// A call as `token` whatever the answer: (HTTP status, body or Null).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(u16, Value)> {
        let mut cmd = Command::new("curl");
        cmd.args([
            "-s",
            "--max-time",
            "10",
            "-X",
            method,
            "-w",
            "\n%{http_code}",
        ]);
        if let Some(t) = token {
            cmd.args(["-H", &format!("X-Vault-Token: {t}")]);
        }
        if let Some(b) = body {
            cmd.args(["-H", "Content-Type: application/json", "--data-binary"])
                .arg(b.to_string());
        }
        cmd.arg(format!("{}/v1/{path}", self.url));
        let out = run(&mut cmd, &format!("curl {method} {path}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
        let status = status.trim().parse::<u16>().unwrap_or(0);
        Ok((status, serde_json::from_str(body).unwrap_or(Value::Null)))
    }
}

/// A PostgreSQL 15 cluster with pgaudit and JSON logs, trusting loopback connections (it lives
/// for one test, on a port nobody else knows).
pub struct Pg {
    pub port: u16,
    pub log_dir: PathBuf,
    _proc: Proc,
    _dir: tempfile::TempDir,
}

fn as_postgres(bin: &str) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid=postgres",
        "--regid=postgres",
        "--init-groups",
        "--",
        &format!("{PG_BIN}/{bin}"),
    ]);
    cmd
}

fn chown_postgres(path: &Path) -> Result<()> {
    run(
        Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(path),
        "chown to postgres",
    )?;
    Ok(())
}

impl Pg {
    pub fn start() -> Result<Pg> {
        if !Path::new(PG_BIN).join("initdb").is_file() {
            return Err(HarnessError::Missing {
                what: "PostgreSQL 15",
                path: PathBuf::from(PG_BIN),
                hint: "run scripts/setup.sh (make test does)",
            });
        }
        let dir = tempfile::Builder::new()
            .prefix("portcullis-oracle-pg")
            .tempdir()
            .map_err(io_err("creating a directory for PostgreSQL"))?;
        let data = dir.path().join("data");
        let log_dir = dir.path().join("log");
        let run_dir = dir.path().join("run");
        for d in [&data, &log_dir, &run_dir] {
            std::fs::create_dir_all(d).map_err(io_err("creating PostgreSQL directories"))?;
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .map_err(io_err("opening the PostgreSQL directory to its user"))?;
        chown_postgres(dir.path())?;
        run(
            as_postgres("initdb")
                .arg("-D")
                .arg(&data)
                .args(["-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8"])
                .args(["--auth-local=trust", "--auth-host=trust"])
                .current_dir(dir.path()),
            "initdb",
        )?;
        let port = free_port()?;
        let conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             shared_preload_libraries = 'pgaudit'\nlogging_collector = on\n\
             log_destination = 'stderr,jsonlog'\nlog_directory = '{}'\n\
             log_filename = 'postgresql-%Y%m%d-%H%M%S.log'\nlog_file_mode = 0640\n\
             log_connections = on\npgaudit.log = 'read,write,role,ddl'\npgaudit.log_relation = on\n",
            run_dir.display(),
            log_dir.display()
        );
        let conf_path = data.join("postgresql.conf");
        let mut text =
            std::fs::read_to_string(&conf_path).map_err(io_err("reading postgresql.conf"))?;
        text.push_str(&conf);
        std::fs::write(&conf_path, text).map_err(io_err("writing postgresql.conf"))?;
        let child = as_postgres("postgres")
            .arg("-D")
            .arg(&data)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(io_err("starting PostgreSQL"))?;
        let mut proc = Proc(child);
        wait_for_port(port, READY, &mut proc.0)?;
        let pg = Pg {
            port,
            log_dir,
            _proc: proc,
            _dir: dir,
        };
        pg.await_ready()?;
        Ok(pg)
    }

    fn await_ready(&self) -> Result<()> {
        let deadline = Instant::now() + READY;
        while self.psql("postgres", "postgres", "SELECT 1").is_err() {
            if Instant::now() > deadline {
                return Err(HarnessError::Timeout(
                    READY,
                    "PostgreSQL to accept queries".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs `sql` as `user` in `database` (stopping at the first error); unaligned output, `|`
    /// between fields, no headers.
    pub fn psql(&self, user: &str, database: &str, sql: &str) -> Result<String> {
        let mut cmd = Command::new(format!("{PG_BIN}/psql"));
        cmd.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            user,
            "-d",
            database,
        ])
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(io_err("starting psql"))?;
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write;
            stdin
                .write_all(sql.as_bytes())
                .map_err(io_err("writing SQL to psql"))?;
        }
        let out = child.wait_with_output().map_err(io_err("running psql"))?;
        if !out.status.success() {
            return Err(HarnessError::Failed(format!(
                "psql as {user}: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}
