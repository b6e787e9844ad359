//! The app as a package installed it: `make package-test` (scripts/package-test.sh) installs the
//! .deb into a clean Debian 12 root, starts Xvfb and tauri-driver in there, and runs this test
//! (ignored otherwise) against that driver. It must open on the welcome page, whose About box
//! names the version this checkout builds.

use portcullis_e2e::{App, HarnessError, Result};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the package installed in a Debian root with a driver running: make package-test"]
async fn the_installed_app_opens_on_its_welcome_page() -> Result<()> {
    let var = |name: &str| {
        std::env::var(name).map_err(|_| {
            HarnessError::Failed(format!(
                "{name} is not set: run this through make package-test"
            ))
        })
    };
    let driver_url = var("PORTCULLIS_PKG_DRIVER_URL")?;
    let application = var("PORTCULLIS_PKG_APP")?;
    let workspace = var("PORTCULLIS_PKG_WORKSPACE")?;
    let app = App::attach(&driver_url, &application).await?;
    let outcome = scenario(&app, &workspace).await;
    let shot = app.screenshot("package-test-installed-app.png").await;
    app.quit().await?;
    outcome?;
    eprintln!("screenshot: {}", shot?.display());
    Ok(())
}

async fn scenario(app: &App, workspace: &str) -> Result<()> {
    app.wait_css("[data-testid=welcome]").await?;
    app.click("#about-open").await?;
    let version = app.text("[data-testid=about-version]").await?;
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let shown = app.text("[data-testid=about-workspace]").await?;
    assert_eq!(shown, workspace);
    app.click("#about footer button").await?;
    app.wait_gone("#about").await?;
    Ok(())
}
