//! The Backends page end to end: the real app adds the sandbox's OpenBao through the dialog, lists
//! it, checks it, and shows a passing check. Needs a display (Xvfb), tauri-driver and the sandbox.

use std::ffi::OsStr;

use portcullis_e2e::thirtyfour::prelude::*;
use portcullis_e2e::{keyring_available, wait_until, App, Result, Sandbox, CHECK_TIMEOUT};

/// The variable the app reads the OpenBao token from when no keychain is available.
const TOKEN_VAR: &str = "PORTCULLIS_E2E_BAO_TOKEN";
const NAME: &str = "sandbox-openbao";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_and_check_the_sandbox_openbao() -> Result<()> {
    portcullis_e2e::require_display()?;
    let sandbox = Sandbox::load()?;
    let workspace = tempfile::tempdir().map_err(|e| portcullis_e2e::HarnessError::Io {
        what: "creating a workspace dir".into(),
        source: e,
    })?;
    let use_keychain = keyring_available();
    let mut env: Vec<(&str, &OsStr)> = vec![("PORTCULLIS_WORKSPACE", workspace.path().as_os_str())];
    if !use_keychain {
        env.push((TOKEN_VAR, OsStr::new(&sandbox.openbao.token)));
    }

    let app = App::launch(&env).await?;
    let outcome = scenario(&app, &sandbox, use_keychain).await;
    // Leave a picture whatever happened: it is the first thing to look at when this fails.
    let shot = app.screenshot("ui-backends.png").await;
    let dark = match &outcome {
        Ok(()) => dark_screenshot(&app).await.map(Some),
        Err(_) => Ok(None),
    };
    app.quit().await?;
    outcome?;
    eprintln!("screenshot: {}", shot?.display());
    if let Some(dark) = dark? {
        eprintln!("screenshot (dark theme): {}", dark.display());
    }
    Ok(())
}

async fn dark_screenshot(app: &App) -> Result<std::path::PathBuf> {
    app.use_theme("dark").await?;
    let shot = app.screenshot("ui-backends-dark.png").await;
    app.use_theme("light").await?;
    shot
}

async fn scenario(app: &App, sandbox: &Sandbox, use_keychain: bool) -> Result<()> {
    // The Overview is the landing page; go to Backends through the sidebar.
    app.wait_css("#nav-overview.active").await?;
    app.use_theme("light").await?;
    app.click("#nav-backends").await?;
    app.wait_css("[data-testid=backends-empty]").await?;

    // `/` focuses the page's search; Esc closes a dialog.
    app.wait_css("#backend-filter").await?;
    app.driver.action_chain().send_keys("/").perform().await?;
    let focused = app.driver.active_element().await?.id().await?;
    assert_eq!(focused.as_deref(), Some("backend-filter"));
    app.click("#add-backend").await?;
    app.wait_css("#backend-name")
        .await?
        .send_keys(Key::Escape)
        .await?;
    wait_until(
        "the dialog to close on Esc",
        portcullis_e2e::UI_TIMEOUT,
        || async {
            Ok(app
                .driver
                .find_all(By::Css("#add-backend-dialog"))
                .await?
                .is_empty()
                .then_some(()))
        },
    )
    .await?;

    app.click("#add-backend").await?;
    app.wait_css("#add-backend-dialog").await?;
    // Submitting empty (Enter, keyboard only) shows what to fix instead of calling the shell.
    // Enter rather than a click on the submit button: WebKitWebDriver aims clicks on that
    // button 18 px low (below it) under Xvfb, while Enter is what a keyboard user does anyway.
    app.wait_css("#backend-name")
        .await?
        .send_keys(Key::Enter)
        .await?;
    app.wait_css("[data-testid=backend-name-error]").await?;

    app.type_into("#backend-name", NAME).await?;
    // Each kind says what the console's credential must be allowed: hoop's key, by its groups
    // (the list is the model's HOOP_RIGHTS, the one `backend check` probes).
    app.click("#backend-kind option[value=hoop]").await?;
    app.click("[data-testid=hoop-rights] summary").await?;
    let rights = app
        .wait_css("[data-testid=hoop-rights] ul")
        .await?
        .text()
        .await?;
    assert!(
        rights.contains("group auditor") && rights.contains("GET /api-keys"),
        "hoop rights: {rights}"
    );
    // The messages of the empty submit follow the form: the name is given now, and the URL's
    // example is hoop's, not the first kind's.
    let url_error = app
        .wait_css("[data-testid=backend-url-error]")
        .await?
        .text()
        .await?;
    assert!(
        url_error.contains("use.hoop.dev"),
        "URL message: {url_error}"
    );
    assert!(
        app.driver
            .find_all(By::Css("[data-testid=backend-name-error]"))
            .await?
            .is_empty(),
        "the name's message stays after the name was typed"
    );
    app.screenshot("ui-backends-add-hoop.png").await?;
    app.click("#backend-kind option[value=vault]").await?;
    let hint = app
        .wait_css("[data-testid=credential-hint]")
        .await?
        .text()
        .await?;
    assert!(
        hint.contains("OpenBao token"),
        "credential hint for vault: {hint}"
    );
    app.type_into("#backend-url", &sandbox.openbao.url).await?;
    if use_keychain {
        app.click("#cred-keychain").await?;
        app.type_into("#backend-secret", &sandbox.openbao.token)
            .await?;
        app.wait_css("#backend-secret")
            .await?
            .send_keys(Key::Enter)
            .await?;
    } else {
        app.click("#cred-env").await?;
        app.type_into("#backend-env-var", TOKEN_VAR).await?;
        app.wait_css("#backend-env-var")
            .await?
            .send_keys(Key::Enter)
            .await?;
    }

    let row_css = format!("[data-testid=backend-row][data-name=\"{NAME}\"]");
    let row = app.wait_css(&row_css).await?;
    assert!(
        app.driver
            .find_all(By::Css("#add-backend-dialog"))
            .await?
            .is_empty(),
        "the dialog closes once the backend is added"
    );
    let kind = row
        .find(By::Css("[data-testid=backend-kind]"))
        .await?
        .text()
        .await?;
    assert_eq!(kind, "Vault / OpenBao");
    let url = row
        .find(By::Css("[data-testid=backend-url]"))
        .await?
        .text()
        .await?;
    assert_eq!(url, sandbox.openbao.url);
    let credential = row
        .find(By::Css("[data-testid=backend-credential]"))
        .await?
        .text()
        .await?;
    let expected = if use_keychain {
        "OS keychain".to_string()
    } else {
        format!("environment variable ${TOKEN_VAR}")
    };
    assert_eq!(credential, expected);
    assert!(
        !credential.contains(&sandbox.openbao.token),
        "the secret is never shown"
    );
    let synced = row
        .find(By::Css("[data-testid=backend-last-sync]"))
        .await?
        .text()
        .await?;
    assert_eq!(synced, "never synced");

    row.find(By::Css("[data-testid=check-backend]"))
        .await?
        .click()
        .await?;
    let result_css = format!("{row_css} [data-testid=check-result][data-ok]");
    let result = wait_until("the check result", CHECK_TIMEOUT, || async {
        Ok(app
            .driver
            .find_all(By::Css(&result_css))
            .await?
            .into_iter()
            .next())
    })
    .await?;
    let text = result.text().await?;
    let ok = result.attr("data-ok").await?;
    assert_eq!(ok.as_deref(), Some("true"), "check did not pass: {text}");
    assert!(text.contains("Check passed"), "result text: {text}");
    // The list refreshes with the stored outcome of the check.
    wait_until(
        "the row's last check to show it passed",
        portcullis_e2e::UI_TIMEOUT,
        || async {
            let last = app
                .wait_css(&format!("{row_css} [data-testid=backend-last-check]"))
                .await?
                .text()
                .await?;
            Ok(last.starts_with("passed").then_some(()))
        },
    )
    .await?;
    Ok(())
}
