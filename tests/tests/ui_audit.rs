//! The Audit page end to end, against the REAL sandbox (read-only: nothing is revoked): the CLI
//! syncs the three sandbox backends into a fresh workspace; in the app, `/` focuses the search,
//! `actor:dave outcome:deny` shows exactly dave's seeded denials with the timeline of the same
//! search; a row opens the raw event; the credential pivot filters on the credential that made
//! the request; `#/audit?q=credential:ID` opens pre-filtered; a range picked on the timeline adds
//! since:/until:; the result exports to a CSV file; re-importing the OpenBao audit log is counted
//! as duplicates, not added twice; an event of a seeded OpenBao token offers Revoke, whose
//! preview names the call, and a cancel sends nothing.
//! Needs a display (Xvfb), tauri-driver, the sandbox, and `target/debug/portcullis{,-app}`.

use std::ffi::OsStr;
use std::path::Path;

use portcullis_e2e::cli::curl_json;
use portcullis_e2e::sandbox_ws::{add_and_sync, BAO_VAR, OIDC_VAR, PG_VAR};
use portcullis_e2e::thirtyfour::prelude::*;
use portcullis_e2e::{wait_until, App, HarnessError, Result, Sandbox, UI_TIMEOUT};
use serde_json::Value;

fn failed(msg: impl Into<String>) -> HarnessError {
    HarnessError::Failed(msg.into())
}

fn io(what: &str) -> impl FnOnce(std::io::Error) -> HarnessError + '_ {
    move |source| HarnessError::Io {
        what: what.to_string(),
        source,
    }
}

/// (outcome, actor text, credential text) of every rendered row, once the list has settled.
async fn rows(app: &App) -> Result<Vec<(String, String, String)>> {
    let mut out = Vec::new();
    for row in app
        .driver
        .find_all(By::Css("[data-testid=audit-row]"))
        .await?
    {
        let outcome = row.attr("data-outcome").await?.unwrap_or_default();
        let actor = row.attr("data-actor").await?.unwrap_or_default();
        let cred = row.attr("data-credential").await?.unwrap_or_default();
        out.push((outcome, actor, cred));
    }
    Ok(out)
}

async fn wait_rows(
    app: &App,
    what: &str,
    ok: impl Fn(&[(String, String, String)]) -> bool,
) -> Result<Vec<(String, String, String)>> {
    wait_until(what, UI_TIMEOUT, || async {
        // The table re-renders as results arrive: a row gone meanwhile means "not yet".
        match rows(app).await {
            Ok(r) if ok(&r) => Ok(Some(r)),
            other => {
                eprintln!("not yet: {other:?}");
                Ok(None)
            }
        }
    })
    .await
}

async fn fragment(app: &App) -> Result<String> {
    Ok(app
        .driver
        .current_url()
        .await?
        .fragment()
        .unwrap_or_default()
        .to_string())
}

async fn scenario(app: &App, sb: &Sandbox, workspace: &Path) -> Result<()> {
    app.wait_css("#nav-overview.active").await?;
    app.use_theme("light").await?;
    app.click("#nav-audit").await?;
    app.wait_css("[data-testid=audit-row]").await?;

    // The console's own requests (its sync of the sandbox) are hidden until asked for: the
    // toggle puts console:show into the search and the count grows by them; unticked, it is back.
    let events = |text: String| -> u64 {
        text.split_whitespace()
            .find_map(|w| w.parse().ok())
            .unwrap_or_default()
    };
    let hidden = events(app.text("[data-testid=audit-count]").await?);
    app.click("#audit-show-console").await?;
    let shown = wait_until("the console's own requests to show", UI_TIMEOUT, || async {
        let n = events(app.text("[data-testid=audit-count]").await?);
        let query = app.wait_css("#audit-search").await?.prop("value").await?;
        Ok((n > hidden && query.as_deref() == Some("console:show")).then_some(n))
    })
    .await?;
    app.click("#audit-show-console").await?;
    wait_until(
        "the console's own requests to hide again",
        UI_TIMEOUT,
        || async {
            let n = events(app.text("[data-testid=audit-count]").await?);
            Ok((n == hidden).then_some(()))
        },
    )
    .await?;
    assert!(shown > hidden, "{shown} > {hidden}");

    // `/` focuses the search; one principal's denials in a couple of keystrokes.
    app.driver.action_chain().send_keys("/").perform().await?;
    let active = app.driver.active_element().await?.id().await?;
    assert_eq!(active.as_deref(), Some("audit-search"));
    app.driver
        .active_element()
        .await?
        .send_keys("actor:dave outcome:deny" + Key::Enter)
        .await?;
    let denied = wait_rows(app, "dave's denials only", |r| {
        !r.is_empty() && r.iter().all(|(o, a, _)| o == "deny" && a == "dave")
    })
    .await?;
    let count = app.text("[data-testid=audit-count]").await?;
    assert_eq!(count, format!("{} event(s)", denied.len()), "{count}");
    assert!(
        fragment(app).await?.contains("outcome%3Adeny"),
        "the search is in the URL"
    );
    // The timeline follows the search: its buckets hold exactly these events.
    let timeline = app.wait_css("[data-testid=audit-timeline] svg").await?;
    assert!(timeline.is_displayed().await?);
    let mut in_buckets = 0u64;
    for b in app
        .driver
        .find_all(By::Css("[data-testid=timeline-bucket]"))
        .await?
    {
        in_buckets += b
            .attr("data-total")
            .await?
            .unwrap_or_default()
            .parse::<u64>()
            .unwrap_or(0);
    }
    assert_eq!(in_buckets, denied.len() as u64, "timeline total");
    let shot = app.screenshot("ui-audit-search.png").await?;
    eprintln!("screenshot: {}", shot.display());

    // The raw event of a row with a credential, then the pivot to that credential.
    let (_, _, cred) = denied
        .iter()
        .find(|(_, _, c)| !c.is_empty())
        .cloned()
        .ok_or_else(|| failed("no denial of dave names a credential"))?;
    let row_css = "[data-testid=audit-row] .c-time";
    let rows_el = app
        .driver
        .find_all(By::Css("[data-testid=audit-row]"))
        .await?;
    let mut clicked = false;
    for r in rows_el {
        if r.attr("data-credential").await?.unwrap_or_default() == cred {
            r.find(By::Css(".c-time")).await?.click().await?;
            clicked = true;
            break;
        }
    }
    assert!(clicked, "clicked the row of {cred} ({row_css})");
    let raw = app.text("#audit-detail [data-testid=detail-raw]").await?;
    let parsed: Value = serde_json::from_str(&raw)
        .map_err(|e| failed(format!("raw event is not JSON: {e}: {raw}")))?;
    assert!(parsed.is_object() || parsed.is_string(), "{raw}");
    let shot = app.screenshot("ui-audit-detail.png").await?;
    eprintln!("screenshot: {}", shot.display());
    app.click("#audit-detail [data-testid=detail-credential-pivot]")
        .await?;
    let of_cred = wait_rows(app, "the credential's events", |r| {
        !r.is_empty() && r.iter().all(|(_, _, c)| *c == cred)
    })
    .await?;
    assert!(
        fragment(app).await?.contains("credential%3A"),
        "pivot in the URL"
    );
    assert!(!of_cred.is_empty());
    let input = app
        .wait_css("#audit-search")
        .await?
        .prop("value")
        .await?
        .unwrap_or_default();
    assert!(
        input.contains(&format!("credential:{cred}")) || input.contains("credential:\""),
        "{input}"
    );
    let shot = app.screenshot("ui-audit-pivot.png").await?;
    eprintln!("screenshot: {}", shot.display());
    // The denial the pivot started from is among the credential's events (on whichever page
    // its time puts it: earlier tests may have added newer events of the same credential).
    let q = format!("credential:\"{cred}\" outcome:deny")
        .replace('%', "%25")
        .replace(' ', "%20")
        .replace('"', "%22")
        .replace(':', "%3A");
    app.driver
        .execute(&format!("location.hash = '#/audit?q={q}'"), vec![])
        .await?;
    wait_rows(app, "the credential's denials", |r| {
        !r.is_empty() && r.iter().all(|(o, _, c)| o == "deny" && *c == cred)
    })
    .await?;

    // The route the Credentials page links to opens pre-filtered.
    app.driver
        .execute("location.hash = '#/audit?q=outcome%3Adeny'", vec![])
        .await?;
    wait_rows(app, "every denial", |r| {
        r.len() > denied.len() && r.iter().all(|(o, _, _)| o == "deny")
    })
    .await?;

    // A range picked on the timeline (two clicks) adds since:/until:.
    let buckets = app
        .driver
        .find_all(By::Css("[data-testid=timeline-bucket]"))
        .await?;
    if buckets.len() >= 2 {
        buckets[0].click().await?;
        buckets[buckets.len() - 1].click().await?;
        wait_until("since/until in the URL", UI_TIMEOUT, || async {
            let f = fragment(app).await?;
            Ok((f.contains("since%3A") && f.contains("until%3A")).then_some(()))
        })
        .await?;
        wait_rows(app, "denials in the range", |r| {
            !r.is_empty() && r.iter().all(|(o, _, _)| o == "deny")
        })
        .await?;
    }

    // Export the current result.
    app.click("#audit-export-csv").await?;
    let exported = app.text("[data-testid=audit-exported] code").await?;
    assert!(
        exported.starts_with(&workspace.display().to_string()),
        "{exported}"
    );
    let csv = std::fs::read_to_string(&exported).map_err(io("reading the export"))?;
    assert!(csv.lines().count() > 1, "{csv}");

    // Re-importing the OpenBao audit log adds nothing: every event is a duplicate.
    let (imported, dups) =
        import_vault_log(app, &sb.openbao.audit_log, "ui-audit-import.png").await?;
    assert_eq!(imported, 0, "nothing new");
    assert!(dups > 0, "duplicates counted");
    redacted_line_shows_what_was_replaced(app, workspace).await?;

    // From an event to revocation: an event of a seeded OpenBao token shows the cached token
    // and a Revoke action whose preview says what would be sent. Cancelled: nothing is sent,
    // and OpenBao still accepts the token.
    let billing = &sb.tokens["bao-svc-billing"];
    let (value, accessor) = match (billing["value"].as_str(), billing["accessor"].as_str()) {
        (Some(v), Some(a)) => (v, a),
        _ => return Err(failed("sandbox.json has no bao-svc-billing token")),
    };
    app.driver
        .execute(
            &format!("location.hash = '#/audit?q=credential%3A{accessor}'"),
            vec![],
        )
        .await?;
    wait_rows(app, "the billing token's events", |r| {
        !r.is_empty() && r.iter().all(|(_, _, c)| c == accessor)
    })
    .await?;
    app.click("[data-testid=audit-row] .c-time").await?;
    app.wait_css("#audit-detail [data-testid=detail-credential][data-status=active]")
        .await?;
    app.click("#audit-detail [data-testid=detail-revoke]")
        .await?;
    let plan = app
        .text("#target-revoke-dialog [data-testid=revoke-plan]")
        .await?;
    assert!(
        plan.contains("revoke-accessor") && plan.contains(accessor),
        "the preview names the call and the token: {plan}"
    );
    let shot = app.screenshot("ui-audit-revoke.png").await?;
    eprintln!("screenshot: {}", shot.display());
    app.click("#target-revoke-dialog button.ghost").await?;
    app.wait_gone("#target-revoke-dialog").await?;
    app.wait_css("#audit-detail [data-testid=detail-credential][data-status=active]")
        .await?;
    let alive = curl_json(&[
        "-H",
        &format!("X-Vault-Token: {value}"),
        &format!("{}/v1/auth/token/lookup-self", sb.openbao.url),
    ])?;
    assert!(
        alive["data"].is_object(),
        "a cancelled revocation sent nothing: {alive}"
    );
    Ok(())
}

/// Imports an OpenBao audit file into the `openbao` backend through the Audit page's dialog;
/// returns (imported, duplicates) as the result says, after a screenshot of it.
async fn import_vault_log(app: &App, file: &Path, shot: &str) -> Result<(u64, u64)> {
    app.click("#audit-import-open").await?;
    // The defaults go together: the preselected backend's own format.
    let value = |css: &'static str| async move {
        let v = app.wait_css(css).await?.prop("value").await?;
        Ok::<_, HarnessError>(v.unwrap_or_default())
    };
    let pair = (
        value("#import-backend").await?,
        value("#import-format").await?,
    );
    let matching = [
        ("oidc", "oidc-provider"),
        ("openbao", "vault"),
        ("postgres", "pgaudit"),
    ];
    assert!(
        matching
            .iter()
            .any(|(b, f)| pair == (b.to_string(), f.to_string())),
        "the dialog opens on {pair:?}"
    );
    app.wait_css("#import-backend")
        .await?
        .find(By::Css("option[value=openbao]"))
        .await?
        .click()
        .await?;
    assert_eq!(
        value("#import-format").await?,
        "vault",
        "the format follows the backend"
    );
    app.type_into("#import-path", &file.display().to_string())
        .await?;
    app.click("#import-run").await?;
    let result = app.wait_css("[data-testid=import-result]").await?;
    let mut counts = [0u64; 2];
    for (n, attr) in counts.iter_mut().zip(["data-imported", "data-duplicates"]) {
        let text = result.attr(attr).await?.unwrap_or_default();
        *n = text
            .parse()
            .map_err(|_| failed(format!("{attr} is not a count: {text:?}")))?;
    }
    let shot = app.screenshot(shot).await?;
    eprintln!("screenshot: {}", shot.display());
    app.driver
        .action_chain()
        .send_keys(Key::Escape)
        .perform()
        .await?;
    app.wait_gone("#audit-import").await?;
    Ok((counts[0], counts[1]))
}

/// An OpenBao line logged raw (`log_raw`: the password in `request.data`) imported through the
/// dialog: the detail panel never shows the password and says which values were replaced.
async fn redacted_line_shows_what_was_replaced(app: &App, workspace: &Path) -> Result<()> {
    const PASSWORD: &str = "e2e-canary-pw-5d1c";
    let line = serde_json::json!({
        "time": "2026-11-22T07:01:18Z", "type": "response",
        "auth": {"client_token": "", "accessor": "", "display_name": "userpass-e2e-raw"},
        "request": {"id": "e2e-raw-login", "operation": "update",
                    "path": "auth/userpass/login/e2e-raw", "remote_address": "127.0.0.1",
                    "data": {"password": PASSWORD}},
    });
    let file = workspace.join("raw-login.jsonl");
    std::fs::write(&file, format!("{line}\n")).map_err(io("writing the raw audit line"))?;
    let (imported, _) = import_vault_log(app, &file, "ui-audit-import-raw.png").await?;
    assert_eq!(imported, 1);
    app.driver
        .execute(
            "location.hash = '#/audit?q=resource%3Aauth%2Fuserpass%2Flogin%2Fe2e-raw'",
            vec![],
        )
        .await?;
    wait_rows(app, "the raw login", |r| r.len() == 1).await?;
    app.click("[data-testid=audit-row] .c-time").await?;
    let note = app
        .text("#audit-detail [data-testid=detail-redacted]")
        .await?;
    assert!(note.contains("request.data.password"), "{note}");
    let raw = app.text("#audit-detail [data-testid=detail-raw]").await?;
    assert!(
        !raw.contains(PASSWORD) && raw.contains("\"redacted\""),
        "{raw}"
    );
    let shot = app.screenshot("ui-audit-redacted.png").await?;
    eprintln!("screenshot: {}", shot.display());
    app.click("#audit-detail button.icon").await?;
    app.wait_gone("#audit-detail").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_search_timeline_detail_pivot() -> Result<()> {
    portcullis_e2e::require_display()?;
    let sandbox = Sandbox::load()?;
    let workspace = tempfile::tempdir().map_err(io("creating a workspace dir"))?;
    add_and_sync(workspace.path(), &sandbox)?;
    let env: Vec<(&str, &OsStr)> = vec![
        ("PORTCULLIS_WORKSPACE", workspace.path().as_os_str()),
        (OIDC_VAR, OsStr::new(&sandbox.oidc.client_secret)),
        (BAO_VAR, OsStr::new(&sandbox.openbao.token)),
        (PG_VAR, OsStr::new(&sandbox.postgres.password)),
    ];
    let app = App::launch(&env).await?;
    let outcome = scenario(&app, &sandbox, workspace.path()).await;
    if outcome.is_err() {
        let _ = app.screenshot("ui-audit-failure.png").await;
    }
    app.quit().await.and(outcome)
}
