//! The Access map end to end, against the REAL sandbox: the CLI registers the three sandbox
//! backends in a fresh workspace and syncs them; in the app a reviewer picks a seeded person
//! (alice) and sees the permissions she reaches in every backend, each with its grant path; the
//! path is highlighted on the graph; the matrix is rendered (engine heatmap + cells) and a cell
//! opens the why panel; who-can answers "read secret/data/payments/*" with paths.
//! Needs a display (Xvfb), tauri-driver, the sandbox, and `target/debug/portcullis{,-app}`.

use std::collections::BTreeSet;

use portcullis_e2e::sandbox_ws;
use portcullis_e2e::thirtyfour::prelude::*;
use portcullis_e2e::{App, Result};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_their_reach_the_matrix_and_who_can() -> Result<()> {
    sandbox_ws::with_synced_app(
        "e2e-reviewer",
        "ui-access-failure.png",
        |app, _sb| async move {
            let r = scenario(&app).await;
            (app, r)
        },
    )
    .await
}

async fn scenario(app: &App) -> Result<()> {
    app.wait_css("#nav-overview.active").await?;
    app.use_theme("light").await?;
    app.click("#nav-access").await?;
    app.wait_css("[data-testid=access-empty]").await?;

    // Pick a seeded person: alice exists in all three backends.
    app.type_into("#access-subject", "alice").await?;
    app.click("#access-explain").await?;
    app.wait_count("[data-testid=subject]", 2).await?;
    let rows = app
        .driver
        .find_all(By::Css("[data-testid=permission-row]"))
        .await?;
    let mut backends = BTreeSet::new();
    for r in &rows {
        backends.insert(r.attr("data-backend").await?.unwrap_or_default());
    }
    assert!(
        ["oidc", "openbao", "postgres"]
            .iter()
            .all(|b| backends.contains(*b)),
        "alice's permissions should come from every sandbox backend, got {backends:?}"
    );
    // Every row explains itself with a path that starts at alice.
    let path = app
        .text("[data-testid=permission-row] [data-testid=access-path]")
        .await?;
    assert!(path.contains("alice") && path.contains('→'), "{path}");
    // The URL carries the subject.
    let url = app.driver.current_url().await?;
    assert!(url.as_str().contains("who=alice"), "{url}");

    // Revoking a grant from its path row starts with the engine's preview naming the exact
    // edge and what it will NOT do; cancelling sends nothing.
    app.click("[data-testid=permission-row][data-backend=postgres] [data-testid=revoke-edge]")
        .await?;
    let plan = app
        .text("#target-revoke-dialog [data-testid=revoke-plan]")
        .await?;
    assert!(plan.contains("alice"), "{plan}");
    app.screenshot("ui-access-revoke.png").await?;
    app.click("#target-revoke-dialog button.ghost").await?;
    app.wait_gone("#target-revoke-dialog").await?;

    // The graph shows her neighbourhood; "show on map" highlights a path.
    app.wait_count("[data-testid=access-graph] [data-testid=graph-node]", 2)
        .await?;
    app.click("[data-testid=show-path]").await?;
    app.wait_count("[data-testid=graph-node].hot", 2).await?;
    app.screenshot("ui-access.png").await?;

    // The matrix: the engine's heatmap and cells coloured by state; a granted cell explains itself.
    app.wait_css("[data-testid=matrix-heatmap] svg").await?;
    app.wait_count("[data-testid=matrix-cell]", 10).await?;
    let granted = app
        .count("[data-testid=matrix-cell][data-state=granted_used]")
        .await?
        + app
            .count("[data-testid=matrix-cell][data-state=granted_unused]")
            .await?;
    assert!(
        granted > 0,
        "the first page of the matrix shows no granted cell"
    );
    let unused = app
        .count("[data-testid=matrix-cell][data-state=granted_unused]")
        .await?;
    let css = if unused > 0 {
        "[data-testid=matrix-cell][data-state=granted_unused]"
    } else {
        "[data-testid=matrix-cell][data-state=granted_used]"
    };
    app.click(css).await?;
    let why = app.text("[data-testid=why-panel]").await?;
    assert!(why.contains("path"), "{why}");
    app.scroll_to("[data-testid=matrix]").await?;
    // Scrolled inside its box, the grid keeps its column headers at the top of the box and its
    // row headers at its left edge.
    let kept = app
        .driver
        .execute(
            "const w = document.querySelector('.matrix-grid-wrap'); \
             w.scrollTop = w.scrollHeight; w.scrollLeft = w.scrollWidth; \
             const box = w.getBoundingClientRect(); \
             const col = w.querySelector('thead th.col').getBoundingClientRect(); \
             const row = w.querySelector('tbody tr:last-child th').getBoundingClientRect(); \
             const moved = w.scrollTop > 0; \
             const r = [moved, Math.abs(col.top - box.top) < 2, Math.abs(row.left - box.left) < 2]; \
             w.scrollTop = 0; w.scrollLeft = 0; return r;",
            vec![],
        )
        .await?
        .json()
        .clone();
    assert_eq!(
        kept,
        serde_json::json!([true, true, true]),
        "scrolled, headers in view"
    );
    app.screenshot("ui-access-matrix.png").await?;

    // Who can read the payments secrets, and why.
    app.type_into("#whocan-resource", "secret/data/payments/*")
        .await?;
    app.click("#whocan-ask").await?;
    app.wait_count("[data-testid=whocan-entry]", 3).await?;
    let answer = app.text("[data-testid=whocan-result]").await?;
    assert!(answer.contains("frank") && answer.contains('→'), "{answer}");
    app.scroll_to("[data-testid=whocan-result]").await?;
    app.screenshot("ui-access-whocan.png").await?;
    Ok(())
}
