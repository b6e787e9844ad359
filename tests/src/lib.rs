//! End-to-end harness: drives the real desktop app over WebDriver and reads the sandbox's
//! connection file, so tests talk to real backends on loopback.
//!
//! Waiting is always on a real signal with a deadline — a port answering, an element appearing —
//! never a fixed sleep. Every process started here is stopped by its own handle (SIGTERM first:
//! after a SIGKILL of tauri-driver, WebKitWebDriver survives and keeps its port).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use thirtyfour::prelude::*;

pub use thirtyfour;

pub mod cli;
pub mod cli_ws;
pub mod oracle;
pub mod proxy;
pub mod sandbox_ws;

/// How long an element may take to appear (the wasm UI mounts asynchronously).
pub const UI_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a backend check may take end to end.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(45);
const POLL: Duration = Duration::from_millis(100);

#[derive(thiserror::Error)]
pub enum HarnessError {
    #[error(
        "no display: DISPLAY is unset. The desktop e2e tests need an X server; run them under \
         `xvfb-run -a -s \"-screen 0 1280x800x24\" cargo test -p portcullis-e2e` (as `make test` does)"
    )]
    NoDisplay,
    #[error("{what} not found at {path}: {hint}")]
    Missing {
        what: &'static str,
        path: PathBuf,
        hint: &'static str,
    },
    #[error("sandbox connection file {path}: {reason} (start it with `scripts/sandbox up`)")]
    Sandbox { path: PathBuf, reason: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
    #[error("a WebDriver command failed")]
    WebDriver(#[from] WebDriverError),
    #[error("{0}")]
    Failed(String),
}

/// Tests return `Result<(), HarnessError>` and the test runner prints errors with `Debug`: make
/// that the readable message (with its causes), not the variant's fields.
impl std::fmt::Debug for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")?;
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            write!(f, "\n  caused by: {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

pub type Result<T, E = HarnessError> = std::result::Result<T, E>;

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let what = what.into();
    move |source| HarnessError::Io { what, source }
}

/// The repository root (this crate lives in `<root>/tests`).
pub fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// Where screenshots and logs of test runs go.
pub fn artifacts_dir() -> Result<PathBuf> {
    let dir = repo_root().join("artifacts");
    std::fs::create_dir_all(&dir).map_err(io_err(format!("creating {}", dir.display())))?;
    Ok(dir)
}

/// Fails with a clear message when there is no X display to open the app on.
pub fn require_display() -> Result<()> {
    match std::env::var_os("DISPLAY") {
        Some(d) if !d.is_empty() => Ok(()),
        _ => Err(HarnessError::NoDisplay),
    }
}

/// True inside `tests/with-keyring.sh`: a private D-Bus session with an unlocked keyring.
pub fn keyring_available() -> bool {
    std::env::var_os("PORTCULLIS_TEST_KEYRING").is_some()
        && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
}

/// A TCP port nobody listens on right now (the OS picks it).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io_err("binding a free port"))?;
    let port = listener
        .local_addr()
        .map_err(io_err("reading a bound port"))?
        .port();
    Ok(port)
}

/// Polls until something accepts TCP connections on `port`, or the deadline passes.
pub fn wait_for_port(port: u16, timeout: Duration, child: &mut Child) -> Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + timeout;
    loop {
        if TcpStream::connect_timeout(&addr, POLL).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(HarnessError::Failed(format!(
                "the process meant to listen on port {port} exited early ({status})"
            )));
        }
        if Instant::now() >= deadline {
            return Err(HarnessError::Timeout(
                timeout,
                format!("port {port} to answer"),
            ));
        }
        std::thread::sleep(POLL);
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                repo_root().join(p)
            }
        })
        .unwrap_or_else(|| repo_root().join("target"))
}

/// The debug build of the desktop app, absolute.
pub fn app_binary() -> Result<PathBuf> {
    let path = target_dir().join("debug").join("portcullis-app");
    if path.is_file() {
        Ok(path)
    } else {
        Err(HarnessError::Missing {
            what: "the desktop app",
            path,
            hint: "build it first: cargo run -p xtask -- build-ui && cargo build -p portcullis-app",
        })
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    from_path.or_else(|| {
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
        Some(cargo_home.join("bin").join(name)).filter(|p| p.is_file())
    })
}

const NATIVE_DRIVER: &str = "/usr/bin/WebKitWebDriver";

/// `tauri-driver-<test binary>.log`, so a failing test's driver log is not overwritten by the next.
fn driver_log_name() -> String {
    let stem = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| s.split('-').next().unwrap_or("e2e").to_owned())
        .unwrap_or_else(|| "e2e".to_owned());
    format!("tauri-driver-{stem}.log")
}

/// A running `tauri-driver`, stopped with SIGTERM when dropped.
pub struct TauriDriver {
    child: Child,
    pub port: u16,
}

impl TauriDriver {
    /// Starts tauri-driver on free ports with `env` added to its environment (the app it launches
    /// inherits it), and waits until it answers.
    pub fn start(env: &[(&str, &std::ffi::OsStr)]) -> Result<Self> {
        let bin = find_on_path("tauri-driver").ok_or_else(|| HarnessError::Missing {
            what: "tauri-driver",
            path: PathBuf::from("$PATH or $CARGO_HOME/bin"),
            hint: "cargo install tauri-driver --version 2.1.0 --locked (scripts/setup.sh does it)",
        })?;
        if !Path::new(NATIVE_DRIVER).is_file() {
            return Err(HarnessError::Missing {
                what: "WebKitWebDriver",
                path: PathBuf::from(NATIVE_DRIVER),
                hint: "apt-get install webkit2gtk-driver",
            });
        }
        let port = free_port()?;
        let native_port = free_port()?;
        let log_path = artifacts_dir()?.join(driver_log_name());
        let log = std::fs::File::create(&log_path)
            .map_err(io_err(format!("creating {}", log_path.display())))?;
        let log2 = log
            .try_clone()
            .map_err(io_err("duplicating the driver log handle"))?;
        let mut cmd = Command::new(bin);
        cmd.args(["--port", &port.to_string()])
            .args(["--native-port", &native_port.to_string()])
            .args(["--native-driver", NATIVE_DRIVER])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().map_err(io_err("starting tauri-driver"))?;
        let mut driver = TauriDriver { child, port };
        wait_for_port(port, Duration::from_secs(20), &mut driver.child)?;
        // tauri-driver answers before the WebKitWebDriver it spawns does; a new-session request
        // forwarded in that gap comes back as a bare 500.
        wait_for_port(native_port, Duration::from_secs(20), &mut driver.child)?;
        Ok(driver)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for TauriDriver {
    fn drop(&mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: plain syscall on the pid of our own child, which we have not reaped yet.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(POLL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The desktop app under WebDriver control.
pub struct App {
    pub driver: WebDriver,
    // Dropped after `driver` (fields drop in declaration order). None when the test attached to
    // a tauri-driver someone else runs (`App::attach`).
    _tauri_driver: Option<TauriDriver>,
}

fn wry_capabilities(application: &str) -> Capabilities {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": application }),
    );
    Capabilities::from(caps)
}

impl App {
    /// Launches the app with `env` (e.g. `PORTCULLIS_WORKSPACE`) through a fresh tauri-driver.
    pub async fn launch(env: &[(&str, &std::ffi::OsStr)]) -> Result<Self> {
        require_display()?;
        let app = app_binary()?;
        let tauri_driver = TauriDriver::start(env)?;
        let caps = wry_capabilities(&app.display().to_string());
        let driver = WebDriver::new(tauri_driver.url(), caps).await?;
        Ok(App {
            driver,
            _tauri_driver: Some(tauri_driver),
        })
    }

    /// Launches `application` through a tauri-driver that is already running at `driver_url`,
    /// with its own display and environment: `make package-test` runs one inside a clean Debian
    /// root, so the app under test is the one the package installed there.
    pub async fn attach(driver_url: &str, application: &str) -> Result<Self> {
        let driver = WebDriver::new(driver_url, wry_capabilities(application)).await?;
        Ok(App {
            driver,
            _tauri_driver: None,
        })
    }

    /// Waits (bounded) for the first element matching a CSS selector.
    pub async fn wait_css(&self, css: &str) -> Result<WebElement> {
        self.wait_css_for(css, UI_TIMEOUT).await
    }

    pub async fn wait_css_for(&self, css: &str, timeout: Duration) -> Result<WebElement> {
        self.driver
            .query(By::Css(css))
            .wait(timeout, POLL)
            .first()
            .await
            .map_err(|_| HarnessError::Timeout(timeout, format!("element `{css}`")))
    }

    /// The text of the element matching `css`, once it appears.
    pub async fn text(&self, css: &str) -> Result<String> {
        Ok(self.wait_css(css).await?.text().await?)
    }

    /// How many elements match `css` now (no waiting).
    pub async fn count(&self, css: &str) -> Result<usize> {
        Ok(self.driver.find_all(By::Css(css)).await?.len())
    }

    /// Waits until at least `n` elements match `css`; returns how many do.
    pub async fn wait_count(&self, css: &str, n: usize) -> Result<usize> {
        wait_until(&format!("{n}+ of {css}"), UI_TIMEOUT, || async {
            let c = self.count(css).await?;
            Ok((c >= n).then_some(c))
        })
        .await
    }

    /// Waits until nothing matches `css` (a dialog closed).
    pub async fn wait_gone(&self, css: &str) -> Result<()> {
        wait_until(&format!("{css} to go"), UI_TIMEOUT, || async {
            Ok((self.count(css).await? == 0).then_some(()))
        })
        .await
    }

    /// Scrolls the element matching `css` into view, once it appears.
    pub async fn scroll_to(&self, css: &str) -> Result<()> {
        self.wait_css(css).await?.scroll_into_view().await?;
        Ok(())
    }

    /// Clicks the element matching `css` once it appears.
    pub async fn click(&self, css: &str) -> Result<()> {
        self.wait_css(css).await?.click().await?;
        Ok(())
    }

    /// Types into the (cleared) input matching `css`.
    /// Replaces the text of the input `css` with `text`, and waits until the input holds it.
    /// The old text is removed with keystrokes (select all, delete), not WebDriver's clear(): that
    /// sets the DOM value without an input event, so a controlled input's state keeps the old
    /// text and the next render puts it back in front of what is typed.
    pub async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let input = self.wait_css(css).await?;
        input.focus().await?;
        input.send_keys(Key::Control + "a").await?;
        input.send_keys(Key::Backspace).await?;
        wait_until(&format!("{css} to be empty"), UI_TIMEOUT, || async {
            let v = self.wait_css(css).await?.prop("value").await?;
            Ok(v.unwrap_or_default().is_empty().then_some(()))
        })
        .await?;
        input.send_keys(text).await?;
        wait_until(&format!("{css} to hold {text:?}"), UI_TIMEOUT, || async {
            let v = self.wait_css(css).await?.prop("value").await?;
            Ok((v.as_deref() == Some(text)).then_some(()))
        })
        .await
    }

    /// The theme in force (`light` or `dark`), as the app's toggle set it.
    pub async fn theme(&self) -> Result<String> {
        let html = self.wait_css("html").await?;
        Ok(html
            .attr("data-theme")
            .await?
            .unwrap_or_else(|| "light".into()))
    }

    /// Switches to `theme` with the sidebar toggle if it is not already in force. The choice is
    /// stored by the web view, so tests that take pictures set it rather than assume it.
    pub async fn use_theme(&self, theme: &str) -> Result<()> {
        if self.theme().await? != theme {
            self.click("#theme-toggle").await?;
            self.wait_css(&format!("html[data-theme={theme}]")).await?;
        }
        Ok(())
    }

    /// Saves a PNG of the window to `artifacts/<name>`; returns its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let path = artifacts_dir()?.join(name);
        // WebKitWebDriver snapshots the last painted frame: let two frames render first, or
        // the picture can predate DOM changes the test already saw.
        self.driver
            .execute_async(
                "const done = arguments[arguments.length - 1];\n\
                 requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                vec![],
            )
            .await?;
        self.driver.screenshot(&path).await?;
        Ok(path)
    }

    /// Ends the WebDriver session (closing the app), then stops tauri-driver.
    pub async fn quit(self) -> Result<()> {
        let App {
            driver,
            _tauri_driver,
        } = self;
        driver.quit().await?;
        drop(_tauri_driver);
        Ok(())
    }
}

/// Polls `probe` until it returns `Some`, or fails after `timeout` naming `what`.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await? {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(HarnessError::Timeout(timeout, what.to_string()));
        }
        tokio::time::sleep(POLL).await;
    }
}

// ---- sandbox connection file ----

#[derive(Debug, Clone, Deserialize)]
pub struct Sandbox {
    pub oidc: Oidc,
    pub openbao: OpenBao,
    pub postgres: Postgres,
    #[serde(default)]
    pub tokens: serde_json::Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Oidc {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub event_log: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OpenBao {
    pub url: String,
    /// The console's own least-privilege token.
    pub token: String,
    pub root_token: String,
    pub audit_log: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Postgres {
    pub url: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub database: String,
}

impl Sandbox {
    /// `$PORTCULLIS_SANDBOX_DIR/sandbox.json`, default `<repo>/.cache/sandbox/sandbox.json`.
    pub fn path() -> PathBuf {
        std::env::var_os("PORTCULLIS_SANDBOX_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join(".cache").join("sandbox"))
            .join("sandbox.json")
    }

    pub fn load() -> Result<Self> {
        let path = Self::path();
        let text = std::fs::read_to_string(&path).map_err(|e| HarnessError::Sandbox {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        serde_json::from_str(&text).map_err(|e| HarnessError::Sandbox {
            path,
            reason: format!("unexpected content: {e}"),
        })
    }
}

/// Re-seeds the sandbox (down, then up) for a test that needs the pristine seed, e.g. after other
/// tests revoked seeded credentials. Uses the same PORTCULLIS_SANDBOX_DIR / port variables as the
/// run, so it re-seeds the sandbox this run uses and no other.
pub fn reseed_sandbox() -> Result<Sandbox> {
    let script = repo_root().join("scripts/sandbox");
    for verb in ["down", "up"] {
        let out = Command::new(&script)
            .arg(verb)
            .stdin(Stdio::null())
            .output()
            .map_err(io_err(format!("running scripts/sandbox {verb}")))?;
        if !out.status.success() {
            return Err(HarnessError::Failed(format!(
                "scripts/sandbox {verb} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
    }
    Sandbox::load()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_bindable() {
        let p = free_port().unwrap();
        assert!(p > 0);
        TcpListener::bind(("127.0.0.1", p)).unwrap();
    }

    #[test]
    fn sandbox_file_shape_parses() {
        let json = r#"{"oidc":{"issuer":"http://127.0.0.1:9400","client_id":"c","client_secret":"s","event_log":"/x"},
            "openbao":{"url":"http://127.0.0.1:8200","token":"t","root_token":"r","audit_log":"/a"},
            "postgres":{"url":"postgres://u@h:1/d","host":"127.0.0.1","port":55432,"user":"u","password":"p","database":"d"},
            "tokens":{}}"#;
        let s: Sandbox = serde_json::from_str(json).unwrap();
        assert_eq!(s.openbao.token, "t");
        assert_eq!(s.postgres.port, 55432);
    }
}
