//! The first run: a workspace with no backend opens on the welcome page (pictured in both themes),
//! whose "Add a backend" leads into the Backends page's add dialog, and the About box names the
//! workspace's version and directory. "Explore a demo organisation" serves a generated
//! organisation from a workspace of its own, labelled on every page, until it is left; the real
//! workspace stays empty. No sandbox needed.

use std::ffi::OsStr;

use portcullis_e2e::{App, HarnessError, Result};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_workspace_opens_on_the_welcome_page() -> Result<()> {
    portcullis_e2e::require_display()?;
    let workspace = tempfile::tempdir().map_err(|source| HarnessError::Io {
        what: "creating a workspace dir".into(),
        source,
    })?;
    let demo_dir = workspace.path().with_extension("demo");
    let env: Vec<(&str, &OsStr)> = vec![
        ("PORTCULLIS_WORKSPACE", workspace.path().as_os_str()),
        ("PORTCULLIS_DEMO_WORKSPACE", demo_dir.as_os_str()),
    ];
    let app = App::launch(&env).await?;
    let mut outcome = scenario(&app, &workspace.path().display().to_string()).await;
    if outcome.is_ok() {
        outcome = demo(&app, &demo_dir.display().to_string()).await;
    }
    app.quit().await?;
    let _ = std::fs::remove_dir_all(&demo_dir);
    outcome
}

async fn demo(app: &App, demo_dir: &str) -> Result<()> {
    app.click("#nav-overview").await?;
    app.click("#welcome-demo").await?;
    // The demo is generated, the UI restarts on the Overview, labelled.
    app.wait_css_for(
        "[data-testid=demo-banner]",
        std::time::Duration::from_secs(90),
    )
    .await?;
    app.wait_css("[data-testid=overview-backends]").await?;
    let banner = app.text("[data-testid=demo-banner]").await?;
    assert!(banner.contains("Demo data"), "{banner}");
    let rows = app
        .count("[data-testid=overview-backends] tbody tr")
        .await?;
    assert_eq!(rows, 2, "the demo's two backends");
    for theme in ["light", "dark"] {
        app.use_theme(theme).await?;
        app.screenshot(&format!("ui-demo-overview-{theme}.png"))
            .await?;
    }
    app.use_theme("light").await?;
    // Every page says so: the banner is part of the shell.
    app.click("#nav-reviews").await?;
    app.wait_css("#nav-reviews.active").await?;
    app.wait_css("[data-testid=demo-banner]").await?;
    app.click("#about-open").await?;
    assert_eq!(app.text("[data-testid=about-workspace]").await?, demo_dir);
    app.wait_css("[data-testid=about-demo]").await?;
    app.click("#about footer button").await?;
    app.wait_gone("#about").await?;
    // Leaving it: back to the real, still empty workspace.
    app.click("#leave-demo").await?;
    app.wait_css("[data-testid=welcome]").await?;
    assert_eq!(app.count("[data-testid=demo-banner]").await?, 0);
    Ok(())
}

async fn scenario(app: &App, workspace: &str) -> Result<()> {
    welcome_and_about(app, workspace).await?;
    // "Add a backend" is the Backends page's own add flow, open at once.
    app.click("#welcome-add-backend").await?;
    app.wait_css("#nav-backends.active").await?;
    app.wait_css("#add-backend-dialog #backend-name").await?;
    // Closing it leaves the Backends page; the URL no longer asks for the dialog.
    app.click("#add-backend-dialog button[aria-label^=Close]")
        .await?;
    app.wait_gone("#add-backend-dialog").await?;
    let url = app.driver.current_url().await?;
    assert!(
        !url.as_str().contains("add=1"),
        "the dialog would reopen on reload: {url}"
    );
    Ok(())
}

/// The welcome page in both themes, then the About box.
async fn welcome_and_about(app: &App, workspace: &str) -> Result<()> {
    app.wait_css("[data-testid=welcome]").await?;
    let title = app.text("#welcome-title").await?;
    assert_eq!(title, "Welcome to Portcullis");
    assert!(
        app.wait_css("#welcome-add-backend")
            .await?
            .is_displayed()
            .await?
    );
    assert!(app.count("[data-testid=welcome-demo]").await? == 1);
    for theme in ["light", "dark"] {
        app.use_theme(theme).await?;
        let shot = app.screenshot(&format!("ui-welcome-{theme}.png")).await?;
        eprintln!("screenshot: {}", shot.display());
    }
    app.use_theme("light").await?;

    app.click("#about-open").await?;
    let version = app.text("[data-testid=about-version]").await?;
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let shown = app.text("[data-testid=about-workspace]").await?;
    assert_eq!(shown, workspace);
    app.click("#about footer button").await?;
    app.wait_gone("#about").await?;
    Ok(())
}
