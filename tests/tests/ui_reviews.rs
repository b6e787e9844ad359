//! The Reviews page end to end, against the REAL sandbox: after the CLI syncs the three sandbox
//! backends into a fresh workspace, the app lists the findings grouped by rule with evidence,
//! recommendation and confidence (and each backend's usage coverage); a campaign is created, one
//! item is decided (keep, with a note and the reviewer's name), the campaign is signed off and its
//! evidence exported (directory and manifest hash shown, the manifest on disk).
//! Needs a display (Xvfb), tauri-driver, the sandbox, and `target/debug/portcullis{,-app}`.

use std::path::PathBuf;

use portcullis_e2e::sandbox_ws;
use portcullis_e2e::thirtyfour::prelude::*;
use portcullis_e2e::{wait_until, App, HarnessError, Result, UI_TIMEOUT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_with_evidence_and_a_signed_off_campaign() -> Result<()> {
    sandbox_ws::with_synced_app(
        "e2e-reviewer",
        "ui-reviews-failure.png",
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
    app.click("#nav-reviews").await?;

    // Findings of the synced sandbox, grouped by rule, with evidence and confidence.
    app.wait_count("[data-testid=finding]", 10).await?;
    app.wait_css("[data-testid=rule-group][data-rule=unused-grant]")
        .await?;
    assert_eq!(app.count("[data-testid=coverage]").await?, 3);
    let default_window = app
        .wait_css("#review-window")
        .await?
        .prop("value")
        .await?
        .unwrap_or_default();
    assert_eq!(default_window, "90");
    let first = app
        .wait_css("[data-testid=rule-group][data-rule=unused-grant] [data-testid=finding]")
        .await?;
    let rec = first
        .find(By::Css("[data-testid=recommendation]"))
        .await?
        .text()
        .await?;
    assert!(
        rec.starts_with("Recommendation:") && rec.len() > 20,
        "{rec}"
    );
    first
        .find(By::Css("[data-testid=evidence] summary"))
        .await?
        .click()
        .await?;
    let evidence = first
        .find(By::Css("[data-testid=evidence]"))
        .await?
        .text()
        .await?;
    assert!(
        evidence.contains('→'),
        "unused-grant evidence shows its grant path: {evidence}"
    );
    app.wait_css("[data-testid=confidence]").await?;
    app.scroll_to("[data-testid=rule-group][data-rule=unused-grant]")
        .await?;
    app.screenshot("ui-reviews.png").await?;

    // Every evidence row leads to its events: the Audit page's search for it finds at least the
    // events the row counts.
    let links = app
        .driver
        .find_all(By::Css("[data-testid=evidence-events]"))
        .await?;
    let Some(link) = links.first() else {
        return Err(HarnessError::Failed(
            "no evidence row links to its audit events".into(),
        ));
    };
    let counted: u64 = link
        .attr("data-count")
        .await?
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let href = link.attr("href").await?.unwrap_or_default();
    app.driver
        .execute(
            "location.href = arguments[0]",
            vec![serde_json::Value::String(href.clone())],
        )
        .await?;
    app.wait_css("#nav-audit.active").await?;
    wait_until(
        "the evidence row's events on the Audit page",
        UI_TIMEOUT,
        || async {
            let text = app.text("[data-testid=audit-count]").await?;
            let n: u64 = text
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            Ok((counted > 0 && n >= counted).then_some(()))
        },
    )
    .await
    .map_err(|e| HarnessError::Failed(format!("{href} (row counts {counted}): {e}")))?;
    app.driver.back().await?;
    app.wait_css("#nav-reviews.active").await?;

    // A campaign over the sandbox, one decision, sign-off, evidence.
    app.type_into("#campaign-name", "e2e quarterly review")
        .await?;
    app.click("#campaign-create").await?;
    app.click("[data-testid=campaign-row] a").await?;
    app.wait_css("[data-testid=campaign][data-status=open]")
        .await?;
    let items = app.wait_count("[data-testid=campaign-item]", 1).await?;
    app.type_into("#reviewer", "e2e-reviewer").await?;
    app.type_into("#decision-note", "kept on purpose: break-glass")
        .await?;
    app.click("[data-testid=campaign-item] [data-testid=decide-keep]")
        .await?;
    app.wait_css("[data-testid=campaign-item][data-verdict=keep]")
        .await?;
    let decision = app.text("[data-testid=decision]").await?;
    assert!(
        decision.contains("e2e-reviewer") && decision.contains("break-glass"),
        "{decision}"
    );
    // The reviewer's name survives leaving the page and coming back.
    app.click("#nav-overview").await?;
    app.wait_css("#nav-overview.active").await?;
    app.driver.back().await?;
    app.wait_css("[data-testid=campaign][data-status=open]")
        .await?;
    let kept = app.wait_css("#reviewer").await?.prop("value").await?;
    assert_eq!(kept.as_deref(), Some("e2e-reviewer"));
    let progress = app
        .wait_css("[data-testid=campaign] [data-testid=campaign-progress]")
        .await?;
    assert_eq!(progress.attr("data-decided").await?.as_deref(), Some("1"));
    assert_eq!(progress.attr("data-items").await?, Some(items.to_string()));
    // Sign-off is refused while items are undecided, and says so.
    app.click("#sign-off").await?;
    // Beside the button that was pressed, once, under the sign-off's own heading.
    let refusal = app
        .text("[data-testid=campaign] footer.campaign-foot + [data-testid=error]")
        .await?;
    assert!(
        refusal.contains("undecided") && refusal.contains("Not signed off"),
        "{refusal}"
    );
    assert_eq!(app.count("[data-testid=error]").await?, 1, "shown once");
    // The rest in bulk: keep everything still undecided.
    app.click("#select-undecided").await?;
    app.click("#bulk-keep").await?;
    wait_until("every item decided", UI_TIMEOUT, || async {
        let p = app
            .wait_css("[data-testid=campaign] [data-testid=campaign-progress]")
            .await?;
        Ok((p.attr("data-decided").await? == Some(items.to_string())).then_some(()))
    })
    .await?;
    app.click("#sign-off").await?;
    app.wait_css("[data-testid=campaign][data-status=signed_off]")
        .await?;
    app.click("#export-evidence").await?;
    let dir = app.text("[data-testid=export-dir]").await?;
    let hash = app.text("[data-testid=manifest-hash]").await?;
    assert!(
        hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "{hash}"
    );
    let manifest = std::fs::read(PathBuf::from(&dir).join("manifest.json")).map_err(|source| {
        HarnessError::Io {
            what: format!("reading the exported manifest in {dir}"),
            source,
        }
    })?;
    use sha2::Digest;
    assert_eq!(hex::encode(sha2::Sha256::digest(&manifest)), hash);
    app.scroll_to("[data-testid=export-result]").await?;
    app.screenshot("ui-reviews-campaign.png").await?;
    Ok(())
}
