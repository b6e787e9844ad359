//! The Incident page end to end, against the REAL sandbox: a principal made for this test alone
//! (an OpenBao userpass user with a live token, and a PostgreSQL login role of the same name) is
//! synced into a fresh workspace; the app's dry run for that principal lists one action per
//! backend with what it will and will not do and says plainly what it cannot revoke; the
//! confirmation names the count; both items turn verified; the backends agree (the token is
//! refused, the role cannot log in); the exported report cites the journal head. A dry run for a
//! seeded principal shows OAuth 2.0 tokens as not revocable without their value — and is never
//! executed, so the seed is left untouched. Last, an OAuth 2.0 token minted for this test is
//! revoked by its value: pasted into the page with the dry run (then cleared from the page),
//! revoked per RFC 7009, and the server's introspection says it is inactive.
//! Needs a display (Xvfb), tauri-driver, the sandbox, `psql`, and `target/debug/portcullis{,-app}`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use portcullis_e2e::sandbox_ws::{add_and_sync, BAO_VAR, OIDC_VAR, PG_VAR};
use portcullis_e2e::thirtyfour::prelude::*;
use portcullis_e2e::{wait_until, App, HarnessError, Result, Sandbox, UI_TIMEOUT};
use serde_json::Value;

const ACTOR: &str = "e2e-incident-responder";
const PASSWORD: &str = "e2e-incident-pw-1";

fn failed(msg: impl Into<String>) -> HarnessError {
    HarnessError::Failed(msg.into())
}

fn io(what: &str) -> impl FnOnce(std::io::Error) -> HarnessError + '_ {
    move |source| HarnessError::Io {
        what: what.to_string(),
        source,
    }
}

fn curl(args: &[&str]) -> Result<Value> {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10"])
        .args(args)
        .output()
        .map_err(io("running curl"))?;
    Ok(serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
}

/// The PostgreSQL superuser URL the sandbox writes (not part of the harness's `Sandbox`).
fn superuser_url() -> Result<String> {
    let text = std::fs::read_to_string(Sandbox::path()).map_err(io("reading sandbox.json"))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| failed(format!("sandbox.json: {e}")))?;
    v["postgres"]["superuser_url"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| failed("sandbox.json has no postgres.superuser_url"))
}

fn psql(sql: &str) -> Result<String> {
    let out = Command::new("psql")
        .args([&superuser_url()?, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .stdin(Stdio::null())
        .output()
        .map_err(io("running psql"))?;
    if !out.status.success() {
        return Err(failed(format!(
            "psql `{sql}`: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The test's own principal on OpenBao (userpass user + a live token) and PostgreSQL (a login
/// role); returns the token's (value, accessor).
fn create_principal(sb: &Sandbox, name: &str) -> Result<(String, String)> {
    let root = format!("X-Vault-Token: {}", sb.openbao.root_token);
    curl(&[
        "-H",
        &root,
        "-X",
        "POST",
        "-d",
        &format!("{{\"password\":\"{PASSWORD}\",\"policies\":[\"reporting-ro\"]}}"),
        &format!("{}/v1/auth/userpass/users/{name}", sb.openbao.url),
    ])?;
    let login = curl(&[
        "-X",
        "POST",
        "-d",
        &format!("{{\"password\":\"{PASSWORD}\"}}"),
        &format!("{}/v1/auth/userpass/login/{name}", sb.openbao.url),
    ])?;
    psql(&format!("CREATE ROLE {name} LOGIN PASSWORD '{PASSWORD}'"))?;
    match (
        login["auth"]["client_token"].as_str(),
        login["auth"]["accessor"].as_str(),
    ) {
        (Some(t), Some(a)) => Ok((t.to_string(), a.to_string())),
        _ => Err(failed(format!("OpenBao userpass login failed: {login}"))),
    }
}

/// Removes everything `create_principal` made (already revoked parts are fine).
fn drop_principal(sb: &Sandbox, name: &str, accessor: &str) -> Result<()> {
    let root = format!("X-Vault-Token: {}", sb.openbao.root_token);
    curl(&[
        "-H",
        &root,
        "-X",
        "POST",
        "-d",
        &format!("{{\"accessor\":\"{accessor}\"}}"),
        &format!("{}/v1/auth/token/revoke-accessor", sb.openbao.url),
    ])?;
    curl(&[
        "-H",
        &root,
        "-X",
        "DELETE",
        &format!("{}/v1/auth/userpass/users/{name}", sb.openbao.url),
    ])?;
    psql(&format!("DROP ROLE IF EXISTS {name}"))?;
    Ok(())
}

fn bao_alive(sb: &Sandbox, token: &str) -> Result<bool> {
    let v = curl(&[
        "-H",
        &format!("X-Vault-Token: {token}"),
        &format!("{}/v1/auth/token/lookup-self", sb.openbao.url),
    ])?;
    Ok(v["data"].is_object())
}

/// A client_credentials token from the sandbox's `reporting` client: (value, SHA-256 hex).
fn mint_oauth_token(sb: &Sandbox) -> Result<(String, String)> {
    let dir = Sandbox::path()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let creds: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("credentials.json"))
            .map_err(io("reading credentials.json"))?,
    )
    .map_err(|e| failed(format!("credentials.json: {e}")))?;
    let secret = creds["oidc_client_secrets"]["reporting"]
        .as_str()
        .ok_or_else(|| failed("no secret for the reporting client"))?;
    let issued = curl(&[
        "-u",
        &format!("reporting:{secret}"),
        "-d",
        "grant_type=client_credentials&scope=reports:read&resource=https://api.acme.test",
        &format!("{}/token", sb.oidc.issuer),
    ])?;
    let token = issued["access_token"]
        .as_str()
        .ok_or_else(|| failed(format!("no token issued: {issued}")))?
        .to_string();
    use sha2::{Digest, Sha256};
    let fp = hex::encode(Sha256::digest(token.as_bytes()));
    Ok((token, fp))
}

fn introspect_active(sb: &Sandbox, token: &str) -> Result<Value> {
    Ok(curl(&[
        "-u",
        &format!("{}:{}", sb.oidc.client_id, sb.oidc.client_secret),
        "-d",
        &format!("token={token}"),
        &format!("{}/token/introspection", sb.oidc.issuer),
    ])?["active"]
        .clone())
}

/// Empties a form field the way a person does (select all, delete), so the page sees the input.
async fn clear_field(app: &App, css: &str) -> Result<()> {
    let el = app.wait_css(css).await?;
    el.send_keys(Key::Control + "a").await?;
    el.send_keys(Key::Backspace).await?;
    Ok(())
}

async fn attr(app: &App, css: &str, name: &str) -> Result<String> {
    Ok(app
        .wait_css(css)
        .await?
        .attr(name)
        .await?
        .unwrap_or_default())
}

/// The `data-state` of every item with this readiness, once the list has settled.
async fn states(app: &App, readiness: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for el in app
        .driver
        .find_all(By::Css(format!(
            "[data-testid=incident-item][data-readiness={readiness}]"
        )))
        .await?
    {
        out.push((
            el.attr("data-key").await?.unwrap_or_default(),
            el.attr("data-state").await?.unwrap_or_default(),
        ));
    }
    Ok(out)
}

async fn dry_run(app: &App, principal: &str) -> Result<()> {
    app.type_into("#incident-principal", principal).await?;
    let shown = app.text("[data-testid=incident-selection]").await?;
    if shown != format!("principal={principal}") {
        return Err(failed(format!("selection text: {shown}")));
    }
    app.click("#incident-dry-run").await?;
    app.wait_css("[data-testid=incident-plan]").await?;
    Ok(())
}

async fn scenario(
    app: &App,
    sb: &Sandbox,
    name: &str,
    token: &(String, String),
    oauth: &(String, String),
) -> Result<()> {
    app.wait_css("#nav-overview.active").await?;
    app.use_theme("light").await?;
    app.click("#nav-incident").await?;
    app.wait_css("[data-testid=incident-empty]").await?;

    // A seeded principal across backends: a dry run only (nothing is sent). Her OAuth 2.0 tokens
    // are listed as not revocable without their value.
    dry_run(app, "alice").await?;
    let blocked = states(app, "needs_token_value").await?;
    assert!(
        !blocked.is_empty(),
        "alice's OAuth tokens are listed as needing their value"
    );
    let why = app
        .text("[data-testid=incident-item][data-readiness=needs_token_value] .inc-why")
        .await?;
    assert!(!why.is_empty(), "says why plainly");
    assert!(
        !why.contains("--") && !why.contains("portcullis "),
        "in the app's words, not the command line's: {why}"
    );
    let shot = app.screenshot("ui-incident-dry-run-alice.png").await?;
    eprintln!("screenshot: {}", shot.display());

    // The test's own principal: one action per backend.
    dry_run(app, name).await?;
    let accessor_key = format!("openbao:accessor:{}", token.1);
    let login_key = format!("postgres:login:{name}");
    let ready = wait_until("the plan for the test principal", UI_TIMEOUT, || async {
        let s = states(app, "ready").await?;
        let keys: Vec<&str> = s.iter().map(|(k, _)| k.as_str()).collect();
        Ok(
            (keys.contains(&accessor_key.as_str()) && keys.contains(&login_key.as_str()))
                .then_some(s),
        )
    })
    .await?;
    assert_eq!(ready.len(), 2, "{ready:?}");
    assert_eq!(
        attr(app, "[data-testid=incident-summary]", "data-ready").await?,
        "2"
    );
    let will_not = app
        .text(&format!("[data-key=\"{login_key}\"] .will-not"))
        .await?;
    assert!(
        will_not.contains("sessions already open"),
        "says what it will not do: {will_not}"
    );
    let shot = app.screenshot("ui-incident-plan.png").await?;
    eprintln!("screenshot: {}", shot.display());

    // The confirmation names the count.
    let button = app.text("#incident-revoke").await?;
    assert!(button.starts_with("Revoke 2"), "{button}");
    app.click("#incident-revoke").await?;
    let confirm = app.text("#incident-confirm").await?;
    assert_eq!(confirm, "Revoke 2");
    // Why, in the responder's words: journalled with every item of the run.
    app.type_into("#revoke-reason", REASON).await?;
    let shot = app.screenshot("ui-incident-confirm.png").await?;
    eprintln!("screenshot: {}", shot.display());
    app.click("#incident-confirm").await?;

    // Each item goes verified; the report counts them.
    app.wait_css("[data-testid=incident-report][data-verified=\"2\"][data-failed=\"0\"]")
        .await?;
    for key in [&accessor_key, &login_key] {
        app.wait_css(&format!(
            "[data-testid=incident-item][data-key=\"{key}\"][data-state=verified]"
        ))
        .await?;
    }
    let evidence = app
        .text(&format!(
            "[data-key=\"{login_key}\"] [data-testid=incident-evidence]"
        ))
        .await?;
    assert!(!evidence.is_empty());
    // The plan's headline now tells what happened, not what will.
    let summary = app.text("[data-testid=incident-summary] p").await?;
    assert!(
        summary.starts_with("2 action(s) sent") && !summary.contains("will be sent"),
        "{summary}"
    );
    // The report says why, as the journal does.
    let reason = app.text("[data-testid=incident-reason]").await?;
    assert!(reason.contains(REASON), "{reason}");
    let shot = app.screenshot("ui-incident-report.png").await?;
    eprintln!("screenshot: {}", shot.display());
    // A look at another page mid-incident loses nothing: back on the Incident page (by the
    // sidebar, not Back), the report, its items and the selection are where they were.
    app.click("#nav-journal").await?;
    app.wait_css("[data-testid=journal-row]").await?;
    app.click("#nav-incident").await?;
    app.wait_css("[data-testid=incident-report][data-verified=\"2\"][data-failed=\"0\"]")
        .await?;
    app.wait_css(&format!(
        "[data-testid=incident-item][data-key=\"{login_key}\"][data-state=verified]"
    ))
    .await?;

    // The backends agree.
    assert!(!bao_alive(sb, &token.0)?, "the OpenBao token is refused");
    assert_eq!(
        psql(&format!(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = '{name}'"
        ))?,
        "f"
    );

    // The export names its file; the file cites the journal head.
    app.click("#incident-export").await?;
    let written = app.text("[data-testid=incident-exported] code").await?;
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(PathBuf::from(&written))
            .map_err(io("reading the exported report"))?,
    )
    .map_err(|e| failed(format!("report JSON: {e}")))?;
    assert_eq!(report["counts"]["verified"], 2, "{report}");
    assert_eq!(report["journal"]["chain_ok"], true, "{report}");
    let head = report["journal"]["head"].as_str().unwrap_or_default();
    assert_eq!(head.len(), 64, "journal head hash: {head}");
    assert_eq!(report["exported_by"], ACTOR);
    assert_eq!(report["portcullis_version"], env!("CARGO_PKG_VERSION"));
    assert!(report["incident_seq"].is_i64(), "{report}");

    // An OAuth 2.0 token, revocable only by its value: pasted with the dry run, then gone from
    // the page; the shell holds it for this incident only.
    clear_field(app, "#incident-principal").await?;
    app.type_into("#incident-fingerprint", &oauth.1[..16])
        .await?;
    app.type_into("#incident-tokens", &oauth.0).await?;
    app.click("#incident-dry-run").await?;
    app.wait_css("[data-testid=incident-summary][data-ready=\"1\"]")
        .await?;
    app.wait_css(&format!(
        "[data-testid=incident-item][data-key^=\"oidc:\"][data-key$=\"{}\"][data-readiness=ready]",
        oauth.1
    ))
    .await?;
    let held = app.text("[data-testid=incident-tokens-held]").await?;
    assert!(held.starts_with("1 token value"), "{held}");
    let area = app.wait_css("#incident-tokens").await?;
    assert_eq!(area.prop("value").await?.unwrap_or_default(), "");
    assert!(
        !app.driver.source().await?.contains(&oauth.0),
        "the token value is not on the page"
    );
    assert_eq!(introspect_active(sb, &oauth.0)?, true);
    app.click("#incident-revoke").await?;
    assert_eq!(app.text("#incident-confirm").await?, "Revoke 1");
    app.click("#incident-confirm").await?;
    app.wait_css("[data-testid=incident-report][data-verified=\"1\"][data-failed=\"0\"]")
        .await?;
    assert_eq!(
        introspect_active(sb, &oauth.0)?,
        false,
        "the server's introspection says the token is dead"
    );
    Ok(())
}

/// The reason typed in the incident's confirmation.
const REASON: &str = "INC-7 token in a public gist";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_dry_run_confirm_and_verify() -> Result<()> {
    portcullis_e2e::require_display()?;
    let sandbox = Sandbox::load()?;
    let workspace = tempfile::tempdir().map_err(io("creating a workspace dir"))?;
    let name = format!("e2einc{}", std::process::id());
    let token = create_principal(&sandbox, &name)?;
    let oauth = mint_oauth_token(&sandbox)?;
    let outcome = async {
        add_and_sync(workspace.path(), &sandbox)?;
        let env: Vec<(&str, &OsStr)> = vec![
            ("PORTCULLIS_WORKSPACE", workspace.path().as_os_str()),
            (OIDC_VAR, OsStr::new(&sandbox.oidc.client_secret)),
            (BAO_VAR, OsStr::new(&sandbox.openbao.token)),
            (PG_VAR, OsStr::new(&sandbox.postgres.password)),
            ("PORTCULLIS_ACTOR", OsStr::new(ACTOR)),
        ];
        let app = App::launch(&env).await?;
        let outcome = scenario(&app, &sandbox, &name, &token, &oauth).await;
        if outcome.is_err() {
            let _ = app.screenshot("ui-incident-failure.png").await;
        }
        app.quit().await.and(outcome)?;
        // The journal holds the reason typed in the confirmation, on the run's entries.
        let journal = portcullis_e2e::cli::portcullis_json(workspace.path(), &[], &["journal"])?;
        let text = journal.to_string();
        assert!(text.contains(REASON), "no reason in the journal: {text}");
        Ok(())
    }
    .await;
    // Whatever happened, leave nothing of this test in the sandbox.
    drop_principal(&sandbox, &name, &token.1)?;
    outcome
}
