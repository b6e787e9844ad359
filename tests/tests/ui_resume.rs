//! Resume after a crash, in the app, against the REAL sandbox OpenBao: the CLI starts a bulk
//! revocation of tokens made for this test, through a gate that lets a few revocations reach
//! OpenBao and holds the rest; the CLI is killed with SIGKILL mid-run and the held requests are
//! let through (sends whose answers the dead process never saw). The app then opens on the same
//! workspace: the Incident page lists the unfinished actions, one click resumes them, every item
//! ends verified, OpenBao itself no longer knows any of the tokens, each revocation reached
//! OpenBao exactly once, and the journal's chain verifies.
//! Needs a display (Xvfb), tauri-driver, the sandbox, and `target/debug/portcullis{,-app}`.

use std::ffi::OsStr;
use std::path::Path;
use std::time::Instant;

use portcullis_e2e::cli::{curl_json, portcullis, portcullis_json};
use portcullis_e2e::proxy::{json_field, Fault, Proxy, Rule};
use portcullis_e2e::{wait_until, App, HarnessError, Result, Sandbox, UI_TIMEOUT};
use serde_json::Value;

const BAO_VAR: &str = "PORTCULLIS_E2E_BAO_TOKEN";
const TOKENS: usize = 30;
const BEFORE_KILL: usize = 10;

fn failed(msg: impl Into<String>) -> HarnessError {
    HarnessError::Failed(msg.into())
}

/// `TOKENS` orphan tokens carrying `policy`, made with the root token: their accessors.
fn make_tokens(sb: &Sandbox, policy: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for i in 0..TOKENS {
        let v = curl_json(&[
            "-H",
            &format!("X-Vault-Token: {}", sb.openbao.root_token),
            "-X",
            "POST",
            "-d",
            &format!(
                "{{\"policies\":[\"{policy}\"],\"ttl\":\"1h\",\"display_name\":\"e2e-resume-{i}\",\"no_parent\":true}}"
            ),
            &format!("{}/v1/auth/token/create", sb.openbao.url),
        ])?;
        let accessor = v["auth"]["accessor"]
            .as_str()
            .ok_or_else(|| failed(format!("token create: {v}")))?;
        out.push(accessor.to_string());
    }
    Ok(out)
}

/// Whether OpenBao itself (asked directly, with the root token) still knows the accessor.
fn alive(sb: &Sandbox, accessor: &str) -> Result<bool> {
    let v = curl_json(&[
        "-H",
        &format!("X-Vault-Token: {}", sb.openbao.root_token),
        "-X",
        "POST",
        "-d",
        &format!("{{\"accessor\":\"{accessor}\"}}"),
        &format!("{}/v1/auth/token/lookup-accessor", sb.openbao.url),
    ])?;
    Ok(v["data"].is_object())
}

fn journal_count(ws: &Path, env: &[(&str, &str)], state: &str) -> Result<usize> {
    let j = portcullis_json(ws, env, &["journal"])?;
    Ok(j.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["action"] == "revoke" && e["state"] == state)
        .count())
}

/// The CLI run, killed with SIGKILL once BEFORE_KILL items are confirmed and the rest held.
fn crash_mid_run(ws: &Path, env: &[(&str, &str)], gate: &Proxy, selection: &str) -> Result<()> {
    let mut child = portcullis(
        ws,
        env,
        &[
            "--json",
            "revoke",
            "--select",
            selection,
            &format!("--yes={TOKENS}"),
            "--concurrency",
            "4",
        ],
    )?
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .map_err(|source| HarnessError::Io {
        what: "starting portcullis revoke".into(),
        source,
    })?;
    let deadline = Instant::now() + UI_TIMEOUT * 3;
    loop {
        if journal_count(ws, env, "confirmed")? >= BEFORE_KILL && gate.held() > 0 {
            break;
        }
        if child.try_wait().ok().flatten().is_some() {
            return Err(failed("the run ended before it could be killed"));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err(failed("the run never reached the gate's limit"));
        }
    }
    child.kill().map_err(|source| HarnessError::Io {
        what: "killing portcullis".into(),
        source,
    })?;
    let _ = child.wait();
    // Requests already on the wire reach OpenBao after the kill.
    gate.release();
    let deadline = Instant::now() + UI_TIMEOUT;
    while gate.held() > 0 {
        if Instant::now() > deadline {
            return Err(failed("held requests never drained"));
        }
        std::thread::yield_now();
    }
    Ok(())
}

async fn scenario(app: &App) -> Result<()> {
    app.wait_css("#nav-overview.active").await?;
    app.click("#nav-incident").await?;
    let heading = app
        .wait_css("[data-testid=incident-unfinished] h2")
        .await?
        .text()
        .await?;
    // Every item plus the incident itself.
    if !heading.starts_with(&format!("{} action(s)", TOKENS + 1)) {
        return Err(failed(format!("unfinished panel: {heading}")));
    }
    let shot = app.screenshot("ui-incident-unfinished.png").await?;
    eprintln!("screenshot: {}", shot.display());
    app.click("#incident-resume").await?;
    app.wait_css(&format!(
        "[data-testid=incident-report][data-verified=\"{TOKENS}\"][data-failed=\"0\"]"
    ))
    .await?;
    let verified = wait_until("every resumed item shown verified", UI_TIMEOUT, || async {
        let items = app
            .driver
            .find_all(portcullis_e2e::thirtyfour::By::Css(
                "[data-testid=incident-item][data-state=verified]",
            ))
            .await?;
        Ok((items.len() == TOKENS).then_some(items.len()))
    })
    .await?;
    assert_eq!(verified, TOKENS);
    // The panel is gone: nothing is left unfinished.
    wait_until("the unfinished panel to go", UI_TIMEOUT, || async {
        let left = app
            .driver
            .find_all(portcullis_e2e::thirtyfour::By::Css(
                "[data-testid=incident-unfinished]",
            ))
            .await?;
        Ok(left.is_empty().then_some(()))
    })
    .await?;
    let shot = app.screenshot("ui-incident-resumed.png").await?;
    eprintln!("screenshot: {}", shot.display());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_killed_mid_run_is_resumed_from_the_app() -> Result<()> {
    portcullis_e2e::require_display()?;
    let sb = Sandbox::load()?;
    let workspace = tempfile::tempdir().map_err(|source| HarnessError::Io {
        what: "creating a workspace dir".into(),
        source,
    })?;
    let ws = workspace.path();
    let env = [(BAO_VAR, sb.openbao.token.as_str())];
    let policy = format!("e2e-resume-{}", std::process::id());
    let accessors = make_tokens(&sb, &policy)?;
    let gate = Proxy::http(&sb.openbao.url)?;
    gate.add(
        Rule::new(Fault::Hold)
            .path("/v1/auth/token/revoke-accessor")
            .after(BEFORE_KILL),
    );
    portcullis_json(
        ws,
        &env,
        &[
            "backend",
            "add",
            "openbao",
            "--kind",
            "vault",
            "--url",
            &gate.url(),
            "--credential-env",
            BAO_VAR,
        ],
    )?;
    let synced = portcullis_json(ws, &env, &["sync"])?;
    if synced[0]["ok"] != true {
        return Err(failed(format!("sync: {synced}")));
    }
    let selection = format!("scope={policy}");
    let plan = portcullis_json(ws, &env, &["revoke", "--select", &selection, "--dry-run"])?;
    assert_eq!(plan["ready"].as_u64(), Some(TOKENS as u64), "{plan}");

    crash_mid_run(ws, &env, &gate, &selection)?;

    let app_env: Vec<(&str, &OsStr)> = vec![
        ("PORTCULLIS_WORKSPACE", ws.as_os_str()),
        (BAO_VAR, OsStr::new(&sb.openbao.token)),
    ];
    let app = App::launch(&app_env).await?;
    let outcome = scenario(&app).await;
    if outcome.is_err() {
        let _ = app.screenshot("ui-resume-failure.png").await;
    }
    app.quit().await.and(outcome)?;

    // OpenBao agrees; each token was revoked exactly once; the chain holds.
    for a in &accessors {
        assert!(!alive(&sb, a)?, "{a} is still alive");
    }
    let forwarded = gate.reached_by("/v1/auth/token/revoke-accessor", json_field("accessor"));
    for a in &accessors {
        assert_eq!(forwarded.get(a).copied(), Some(1), "{a} sends");
    }
    let verify: Value = portcullis_json(ws, &env, &["journal", "--verify"])?;
    assert_eq!(verify["ok"], true, "{verify}");
    let open = portcullis_json(ws, &env, &["journal", "--unfinished"])?;
    assert_eq!(open.as_array().map(Vec::len), Some(0), "{open}");
    Ok(())
}
