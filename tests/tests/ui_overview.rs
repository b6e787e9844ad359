//! The Overview end to end: a backend added and synced from the Backends page shows up in the
//! totals, the per-backend table and the chart; pages are reached with Alt+digit.

use std::ffi::OsStr;

use portcullis_e2e::thirtyfour::prelude::*;
use portcullis_e2e::{wait_until, App, HarnessError, Result, Sandbox, CHECK_TIMEOUT, UI_TIMEOUT};

const TOKEN_VAR: &str = "PORTCULLIS_E2E_BAO_TOKEN";
const NAME: &str = "sandbox-openbao";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synced_backend_fills_the_overview() -> Result<()> {
    portcullis_e2e::require_display()?;
    let sandbox = Sandbox::load()?;
    let workspace = tempfile::tempdir().map_err(|source| HarnessError::Io {
        what: "creating a workspace dir".into(),
        source,
    })?;
    let env: Vec<(&str, &OsStr)> = vec![
        ("PORTCULLIS_WORKSPACE", workspace.path().as_os_str()),
        (TOKEN_VAR, OsStr::new(&sandbox.openbao.token)),
    ];
    let app = App::launch(&env).await?;
    let outcome = scenario(&app, &sandbox).await;
    let shot = app.screenshot("ui-overview.png").await;
    app.quit().await?;
    outcome?;
    eprintln!("screenshot: {}", shot?.display());
    Ok(())
}

async fn alt_digit(app: &App, digit: &str) -> Result<()> {
    app.driver
        .action_chain()
        .key_down(Key::Alt)
        .send_keys(digit)
        .key_up(Key::Alt)
        .perform()
        .await?;
    Ok(())
}

async fn scenario(app: &App, sandbox: &Sandbox) -> Result<()> {
    app.wait_css("[data-testid=welcome]").await?;
    app.use_theme("light").await?;
    alt_digit(app, "7").await?;
    app.wait_css("#nav-backends.active").await?;

    app.click("#add-backend").await?;
    app.type_into("#backend-name", NAME).await?;
    app.click("#backend-kind option[value=vault]").await?;
    app.type_into("#backend-url", &sandbox.openbao.url).await?;
    app.click("#cred-env").await?;
    app.type_into("#backend-env-var", TOKEN_VAR).await?;
    app.wait_css("#backend-env-var")
        .await?
        .send_keys(Key::Enter)
        .await?;
    let row = format!("[data-testid=backend-row][data-name=\"{NAME}\"]");
    app.wait_css(&row).await?;

    app.click(&format!("{row} [data-testid=sync-backend]"))
        .await?;
    let outcome = wait_until("the sync to finish", CHECK_TIMEOUT, || async {
        let bars = app
            .driver
            .find_all(By::Css("[data-testid=sync-progress][data-running=false]"))
            .await?;
        match bars.into_iter().next() {
            Some(bar) => Ok(Some((bar.class_name().await?, bar.text().await?))),
            None => Ok(None),
        }
    })
    .await?;
    let (class, text) = outcome;
    assert!(
        class.as_deref().is_some_and(|c| c.contains("ok")),
        "sync failed: {text}"
    );
    let synced = app
        .wait_css(&format!("{row} [data-testid=backend-last-sync]"))
        .await?
        .text()
        .await?;
    assert!(synced.starts_with("synced"), "last sync: {synced}");

    alt_digit(app, "1").await?;
    app.wait_css("#nav-overview.active").await?;
    let principals = app
        .wait_css_for("[data-testid=total-principals] .n", UI_TIMEOUT)
        .await?
        .text()
        .await?;
    let principals: u64 = principals
        .parse()
        .map_err(|_| HarnessError::Failed(format!("principals total `{principals}`")))?;
    assert!(principals > 0, "the sandbox's OpenBao has principals");
    let table = app
        .wait_css("[data-testid=overview-backends]")
        .await?
        .text()
        .await?;
    assert!(table.contains(NAME), "overview table: {table}");
    app.wait_css("[data-testid=overview-chart] svg").await?;
    tiles_lead_to_lists_of_their_count(app).await
}

/// Each credential total is a link to the Credentials page filtered so that it lists exactly
/// that many (the counts and the filters share their definitions).
async fn tiles_lead_to_lists_of_their_count(app: &App) -> Result<()> {
    for id in ["credentials", "active", "never-expiring"] {
        alt_digit(app, "1").await?;
        let tile = app.wait_css(&format!("[data-testid=total-{id}]")).await?;
        let n = tile.find(By::Css(".n")).await?.text().await?;
        tile.click().await?;
        app.wait_css("#nav-credentials.active").await?;
        let want = format!("{n} credential{}", if n == "1" { "" } else { "s" });
        wait_until(
            &format!("the {id} tile's list of {n}"),
            UI_TIMEOUT,
            || async {
                let count = app.text("[data-testid=credential-count]").await?;
                Ok((count == want).then_some(()))
            },
        )
        .await?;
    }
    // Back where the screenshot is meant to be taken; the chart in the dark theme too.
    alt_digit(app, "1").await?;
    app.wait_css("[data-testid=overview-chart] svg").await?;
    app.use_theme("dark").await?;
    let colours = app
        .driver
        .execute(
            "const c = document.querySelector('[data-testid=overview-chart]'); \
             const t = c.querySelector('svg text'); \
             return [getComputedStyle(c).backgroundColor, getComputedStyle(t).fill];",
            vec![],
        )
        .await?
        .json()
        .clone();
    let page = app
        .driver
        .execute(
            "return getComputedStyle(document.querySelector('.card')).backgroundColor;",
            vec![],
        )
        .await?
        .json()
        .clone();
    assert_eq!(
        colours[0], page,
        "the chart sits on the dark card: {colours}"
    );
    assert_ne!(
        colours[1], "rgb(110, 118, 129)",
        "chart text follows the theme"
    );
    let shot = app.screenshot("ui-overview-dark.png").await?;
    eprintln!("screenshot: {}", shot.display());
    app.use_theme("light").await?;
    Ok(())
}
