//! The Credentials page, token triage and the Journal end to end, against the REAL sandbox: the
//! CLI registers the three sandbox backends in a fresh workspace and syncs them, then the app
//! (pointed at that workspace) finds seeded credentials, explains one, triages seeded and fresh
//! OpenBao tokens, revokes two tokens made for this test (one from its row, one from triage,
//! keyboard only) with the backend's proof shown in place, and verifies the journal's chain.
//! Needs a display (Xvfb), tauri-driver, the sandbox, and `target/debug/portcullis{,-app}`.

use std::ffi::OsStr;
use std::process::Command;

use portcullis_e2e::sandbox_ws::{add_and_sync, cli, BAO_VAR, OIDC_VAR, PG_VAR};
use portcullis_e2e::thirtyfour::prelude::*;
use portcullis_e2e::{wait_until, App, HarnessError, Result, Sandbox, CHECK_TIMEOUT, UI_TIMEOUT};
use serde_json::Value;

/// Who the journal records as acting.
const ACTOR: &str = "e2e-responder";

fn failed(msg: impl Into<String>) -> HarnessError {
    HarnessError::Failed(msg.into())
}

fn curl(args: &[&str]) -> Result<Value> {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10"])
        .args(args)
        .output()
        .map_err(|source| HarnessError::Io {
            what: "running curl".into(),
            source,
        })?;
    Ok(serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
}

/// A fresh OpenBao token (value, accessor), made with the root token for this test alone.
fn bao_create_token(sb: &Sandbox, policy: &str) -> Result<(String, String)> {
    let v = curl(&[
        "-H",
        &format!("X-Vault-Token: {}", sb.openbao.root_token),
        "-X",
        "POST",
        "-d",
        &format!("{{\"policies\":[\"{policy}\"],\"ttl\":\"1h\",\"display_name\":\"e2e-ui\"}}"),
        &format!("{}/v1/auth/token/create", sb.openbao.url),
    ])?;
    match (
        v["auth"]["client_token"].as_str(),
        v["auth"]["accessor"].as_str(),
    ) {
        (Some(t), Some(a)) => Ok((t.to_string(), a.to_string())),
        _ => Err(failed(format!("OpenBao did not create a token: {v}"))),
    }
}

/// Revokes a token by accessor with the root token (cleanup; an already revoked one is fine).
fn bao_revoke_accessor(sb: &Sandbox, accessor: &str) -> Result<()> {
    curl(&[
        "-H",
        &format!("X-Vault-Token: {}", sb.openbao.root_token),
        "-X",
        "POST",
        "-d",
        &format!("{{\"accessor\":\"{accessor}\"}}"),
        &format!("{}/v1/auth/token/revoke-accessor", sb.openbao.url),
    ])?;
    Ok(())
}

/// True while OpenBao still accepts the token.
fn bao_alive(sb: &Sandbox, token: &str) -> Result<bool> {
    let v = curl(&[
        "-H",
        &format!("X-Vault-Token: {token}"),
        &format!("{}/v1/auth/token/lookup-self", sb.openbao.url),
    ])?;
    Ok(v["data"].is_object())
}

fn seeded(sb: &Sandbox, name: &str) -> Result<(String, String)> {
    let t = &sb.tokens[name];
    match (t["value"].as_str(), t["accessor"].as_str()) {
        (Some(v), Some(a)) => Ok((v.to_string(), a.to_string())),
        _ => Err(failed(format!("sandbox.json has no token {name}"))),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_triage_revoke_and_journal() -> Result<()> {
    portcullis_e2e::require_display()?;
    let sandbox = Sandbox::load()?;
    let workspace = tempfile::tempdir().map_err(|source| HarnessError::Io {
        what: "creating a workspace dir".into(),
        source,
    })?;
    // Made before the sync, so the inventory lists them; only this test ever revokes them.
    let victim = bao_create_token(&sandbox, "reporting-ro")?;
    let leaked = bao_create_token(&sandbox, "support-ro")?;
    add_and_sync(workspace.path(), &sandbox)?;

    let env: Vec<(&str, &OsStr)> = vec![
        ("PORTCULLIS_WORKSPACE", workspace.path().as_os_str()),
        (OIDC_VAR, OsStr::new(&sandbox.oidc.client_secret)),
        (BAO_VAR, OsStr::new(&sandbox.openbao.token)),
        (PG_VAR, OsStr::new(&sandbox.postgres.password)),
        ("PORTCULLIS_ACTOR", OsStr::new(ACTOR)),
    ];
    let outcome = match App::launch(&env).await {
        Ok(app) => {
            let outcome = scenario(&app, &sandbox, workspace.path(), &victim, &leaked).await;
            if outcome.is_err() {
                // The first thing to look at when this fails.
                let _ = app.screenshot("ui-credentials-failure.png").await;
            }
            app.quit().await.and(outcome)
        }
        Err(e) => Err(e),
    };
    // Whatever happened, leave no token of this test alive in the sandbox.
    for (_, accessor) in [&victim, &leaked] {
        bao_revoke_accessor(&sandbox, accessor)?;
    }
    outcome
}

/// An empty workspace says what to do next: add a backend; once one is added, sync it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_states_say_what_to_do_next() -> Result<()> {
    portcullis_e2e::require_display()?;
    let sandbox = Sandbox::load()?;
    let workspace = tempfile::tempdir().map_err(|source| HarnessError::Io {
        what: "creating a workspace dir".into(),
        source,
    })?;
    let env: Vec<(&str, &OsStr)> = vec![("PORTCULLIS_WORKSPACE", workspace.path().as_os_str())];
    let app = App::launch(&env).await?;
    let outcome = async {
        app.wait_css("#nav-overview.active").await?;
        app.click("#nav-credentials").await?;
        let empty = app.text("[data-testid=credentials-no-backends]").await?;
        assert!(empty.contains("Backends page"), "{empty}");
        // Registered but never synced: the page says to sync.
        cli(
            workspace.path(),
            &sandbox,
            &[
                "backend",
                "add",
                "openbao",
                "--kind",
                "vault",
                "--url",
                &sandbox.openbao.url,
                "--credential-env",
                BAO_VAR,
            ],
        )?;
        app.click("#credentials-refresh").await?;
        let empty = app.text("[data-testid=credentials-not-synced]").await?;
        assert!(empty.contains("Sync all"), "{empty}");
        app.click("#nav-journal").await?;
        app.wait_css("[data-testid=journal-empty]").await?;
        app.click("#verify-chain").await?;
        app.wait_css("[data-testid=journal-verification][data-ok=true]")
            .await?;
        Ok(())
    }
    .await;
    if outcome.is_err() {
        let _ = app.screenshot("ui-credentials-empty-failure.png").await;
    }
    app.quit().await.and(outcome)
}

async fn press(app: &App, keys: impl Into<TypingData>) -> Result<()> {
    app.driver.action_chain().send_keys(keys).perform().await?;
    Ok(())
}

async fn active_id(app: &App) -> Result<Option<String>> {
    Ok(app.driver.active_element().await?.id().await?)
}

/// Waits until the table shows exactly the rows whose `data-external-id`s satisfy `ok`. On a
/// timeout the error says what the page showed instead: the rows, the search box and the count.
async fn wait_rows(app: &App, what: &str, ok: impl Fn(&[String]) -> bool) -> Result<Vec<String>> {
    let last_seen = std::cell::RefCell::new(Vec::new());
    let outcome = wait_until(what, UI_TIMEOUT, || async {
        let mut ids = Vec::new();
        for row in app
            .driver
            .find_all(By::Css("[data-testid=credential-row]"))
            .await?
        {
            // The table re-renders as the search settles: a row gone meanwhile means "not yet".
            match row.attr("data-external-id").await {
                Ok(id) => ids.push(id.unwrap_or_default()),
                Err(_) => return Ok(None),
            }
        }
        let done = ok(&ids);
        *last_seen.borrow_mut() = ids.clone();
        Ok(done.then_some(ids))
    })
    .await;
    match outcome {
        Err(HarnessError::Timeout(..)) => {
            let search = search_value(app).await?;
            let count = app
                .driver
                .find(By::Css("[data-testid=credential-count]"))
                .await?
                .text()
                .await?;
            let notes = match app
                .driver
                .find(By::Css("main .error-note, main .empty"))
                .await
            {
                Ok(note) => note.text().await?,
                Err(_) => String::new(),
            };
            Err(failed(format!(
                "timed out after {UI_TIMEOUT:?} waiting for {what}: the table showed {:?}, \
                 the search box held {search:?}, the count read {count:?} {notes}",
                last_seen.borrow()
            )))
        }
        other => other,
    }
}

/// What the search box holds now.
async fn search_value(app: &App) -> Result<String> {
    Ok(app
        .driver
        .find(By::Css("#credential-search"))
        .await?
        .prop("value")
        .await?
        .unwrap_or_default())
}

async fn search(app: &App, text: &str) -> Result<()> {
    app.type_into("#credential-search", text).await
}

fn row_css(external_id: &str) -> String {
    format!("[data-testid=credential-row][data-external-id=\"{external_id}\"]")
}

async fn scenario(
    app: &App,
    sb: &Sandbox,
    workspace: &std::path::Path,
    victim: &(String, String),
    leaked: &(String, String),
) -> Result<()> {
    app.wait_css("#nav-overview.active").await?;
    app.use_theme("light").await?;
    app.click("#nav-credentials").await?;
    app.wait_css("[data-testid=credential-row]").await?;

    // `/` focuses the search; a seeded OpenBao token is found by its accessor, with its policy,
    // its expiry and its last use (the sandbox's activity used it).
    press(app, "/").await?;
    assert_eq!(active_id(app).await?.as_deref(), Some("credential-search"));
    let (_, billing) = seeded(sb, "bao-svc-billing")?;
    app.driver
        .active_element()
        .await?
        .send_keys(billing.as_str())
        .await?;
    // Every keystroke must reach the box: a character lost on the way would leave a search that
    // matches nothing, and the wait below could not say why.
    let held = wait_until(
        "the search box to hold the accessor",
        UI_TIMEOUT,
        || async {
            let value = search_value(app).await?;
            Ok((value == billing).then_some(()))
        },
    )
    .await;
    if held.is_err() {
        return Err(failed(format!(
            "typed {billing:?} into the search box, it holds {:?}",
            search_value(app).await?
        )));
    }
    wait_rows(app, "the svc-billing token alone", |ids| {
        ids == [billing.clone()]
    })
    .await?;
    let row = row_css(&billing);
    let scopes = app.text(&format!("{row} [data-testid=row-scopes]")).await?;
    assert!(scopes.contains("billing-rw"), "scopes: {scopes}");
    app.wait_css(&format!("{row} [data-testid=row-expires] time"))
        .await?;
    app.wait_css(&format!("{row} [data-testid=row-last-used] time"))
        .await?;
    let url = app.driver.current_url().await?;
    assert!(
        url.fragment().is_some_and(|f| f.contains(&billing)),
        "the search is in the URL: {url}"
    );

    // An OAuth 2.0 token cannot be revoked from its row: the server needs its value.
    search(app, "billing-api").await?;
    let is_token = |i: &str| i.len() == 64 && i.chars().all(|c| c.is_ascii_hexdigit());
    let oauth = wait_rows(app, "the billing-api client's tokens and secret", |ids| {
        // OAuth 2.0 tokens are known by fingerprint (64 hex digits); the client's secret (its
        // expiry from the server's event log) by the client id.
        ids.iter().any(|i| is_token(i))
            && ids
                .iter()
                .all(|i| is_token(i) || i == "client_secret:billing-api")
            && ids.iter().any(|i| i == "client_secret:billing-api")
    })
    .await?;
    let token = oauth
        .iter()
        .find(|i| is_token(i))
        .cloned()
        .unwrap_or_default();
    let button = app
        .wait_css(&format!(
            "{} [data-testid=revoke-credential]",
            row_css(&token)
        ))
        .await?;
    assert!(
        !button.is_enabled().await?,
        "revoke is disabled for OAuth 2.0 tokens"
    );
    let why = button.attr("title").await?.unwrap_or_default();
    assert!(why.contains("triage"), "says to use triage: {why}");

    // A PostgreSQL login: its detail says how alice got her privileges (through groups).
    search(app, "alice").await?;
    wait_rows(app, "alice's credentials", |ids| {
        ids.len() > 1 && ids.iter().any(|i| i == "login:alice")
    })
    .await?;
    // A cell, not the row: WebDriver clicks an element's centre, and a row's can be off-screen.
    app.click(&format!("{} td", row_css("login:alice"))).await?;
    app.wait_css(&format!("{}.selected", row_css("login:alice")))
        .await?;
    let path = app
        .text("#credential-detail [data-testid=grant-path]")
        .await?;
    assert!(
        path.contains("alice") && path.contains("billing_write"),
        "grant path: {path}"
    );
    let recent = app
        .driver
        .find_all(By::Css("#credential-detail table.events tbody tr"))
        .await?
        .len();
    assert!(recent > 0, "the sandbox's alice has logged in");
    let shot = app.screenshot("ui-credentials-detail.png").await?;
    eprintln!("screenshot: {}", shot.display());
    // "Show its events" finds them on the Audit page: by the id events carry, not the cache's
    // row number (which found nothing).
    app.click("#detail-events").await?;
    app.wait_css("#nav-audit.active").await?;
    wait_until(
        "alice's login events on the Audit page",
        UI_TIMEOUT,
        || async {
            let rows = app
                .driver
                .find_all(By::Css("[data-testid=audit-row]"))
                .await?;
            let mut creds = Vec::new();
            for r in &rows {
                creds.push(r.attr("data-credential").await?.unwrap_or_default());
            }
            Ok(
                (creds.len() >= recent.min(50) && creds.iter().all(|c| c == "login:alice"))
                    .then_some(()),
            )
        },
    )
    .await?;
    app.driver.back().await?;
    if let Err(e) = app
        .wait_css(&format!("{}.selected", row_css("login:alice")))
        .await
    {
        // Once reported as "the list and the panel stay Loading… after Back": say what the
        // page holds (the URL, the search, what still loads) instead of only timing out.
        let state = app
            .driver
            .execute(
                "return [location.hash, (document.querySelector('#credential-search') || {}).value, \
                 document.querySelectorAll('[data-testid=loading], #credential-detail .loading').length, \
                 document.querySelector('main') && document.querySelector('main').dataset.page]",
                vec![],
            )
            .await
            .map(|v| v.json().to_string())
            .unwrap_or_default();
        return Err(failed(format!("after Back: {e}; the page held {state}")));
    }
    // Esc closes the panel.
    press(app, Key::Escape).await?;
    wait_until("the detail panel to close", UI_TIMEOUT, || async {
        Ok(app
            .driver
            .find_all(By::Css("#credential-detail"))
            .await?
            .is_empty()
            .then_some(()))
    })
    .await?;

    // Token triage from the keyboard: T opens it with the cursor in the token field.
    app.wait_css(&row_css("login:alice")).await?.focus().await?;
    press(app, "t").await?;
    app.wait_css("#triage-dialog").await?;
    assert_eq!(active_id(app).await?.as_deref(), Some("triage-token"));
    let (reporting, reporting_accessor) = seeded(sb, "bao-svc-reporting")?;
    let field = app.driver.active_element().await?;
    field.send_keys(reporting.as_str()).await?;
    field.send_keys(Key::Enter).await?;
    let bao = "[data-testid=triage-result][data-backend=openbao]";
    app.wait_css_for(&format!("{bao}[data-recognised=true]"), CHECK_TIMEOUT)
        .await?;
    let scopes = app
        .text(&format!("{bao} [data-testid=triage-scopes]"))
        .await?;
    assert!(scopes.contains("reporting-ro"), "policies: {scopes}");
    let id_shown = app
        .wait_css(&format!("{bao} [data-testid=triage-external-id]"))
        .await?
        .attr("title")
        .await?;
    assert_eq!(id_shown.as_deref(), Some(reporting_accessor.as_str()));
    let oidc = app
        .text("[data-testid=triage-result][data-backend=oidc]")
        .await?;
    assert!(oidc.contains("Not recognised"), "oidc: {oidc}");
    let value = app.wait_css("#triage-token").await?.prop("value").await?;
    assert_eq!(value.as_deref(), Some(""), "the field is cleared on submit");
    let page = app.driver.source().await?;
    assert!(
        !page.contains(&reporting),
        "the token value is shown nowhere"
    );
    let shot = app.screenshot("ui-triage.png").await?;
    eprintln!("screenshot: {}", shot.display());

    // A leaked token: paste, Enter, Enter ("Revoke now" has the focus), Enter (confirm).
    app.wait_css("#triage-token")
        .await?
        .send_keys(leaked.0.as_str())
        .await?;
    app.wait_css("#triage-token")
        .await?
        .send_keys(Key::Enter)
        .await?;
    app.wait_css_for(&format!("{bao}[data-recognised=true]"), CHECK_TIMEOUT)
        .await?;
    wait_until("focus on Revoke now", UI_TIMEOUT, || async {
        let el = app.driver.active_element().await?;
        Ok((el.attr("data-testid").await?.as_deref() == Some("triage-revoke")).then_some(()))
    })
    .await?;
    press(app, Key::Enter).await?;
    app.wait_css("#triage-confirm-revoke").await?;
    assert_eq!(
        active_id(app).await?.as_deref(),
        Some("triage-confirm-revoke")
    );
    press(app, Key::Enter).await?;
    let result = app
        .wait_css_for(&format!("{bao} [data-testid=revoke-result]"), CHECK_TIMEOUT)
        .await?;
    let verdict = result.attr("data-verdict").await?;
    let said = result.text().await?;
    assert_eq!(
        verdict.as_deref(),
        Some("verified"),
        "triage revoke: {said}"
    );
    let pill = app
        .text(&format!("{bao} [data-testid=triage-active]"))
        .await?;
    assert_eq!(pill, "revoked", "the lookup's answer is superseded");
    // Nothing on the card still reads as live: not its colour, not "expires in 32 days".
    let card = app.wait_css(bao).await?;
    let class = card.class_name().await?.unwrap_or_default();
    assert!(class.split(' ').any(|c| c == "dead"), "card class: {class}");
    let expires = app
        .text(&format!("{bao} [data-testid=triage-expires]"))
        .await?;
    assert_eq!(expires, "no longer: revoked just now");
    // Its events are one click away, asked by the id the audit trail uses.
    let accessor = app
        .wait_css(&format!("{bao} [data-testid=triage-external-id]"))
        .await?
        .attr("title")
        .await?
        .unwrap_or_default();
    let events = app
        .wait_css(&format!("{bao} [data-testid=triage-events]"))
        .await?
        .attr("href")
        .await?
        .unwrap_or_default();
    assert!(
        !accessor.is_empty()
            && events.ends_with(&format!(
                "#/audit?q=backend%3Aopenbao%20credential%3A{accessor}"
            )),
        "{events} for {accessor}"
    );
    assert!(
        !bao_alive(sb, &leaked.0)?,
        "OpenBao still accepts the revoked token"
    );
    let shot = app.screenshot("ui-triage-revoked.png").await?;
    eprintln!("screenshot: {}", shot.display());
    // Pasted again, the token OpenBao no longer knows is one Portcullis has met: triage tells
    // its history, down to the journal entry that ended it, instead of "not recognised" alone.
    let revoked_seq = result.attr("data-journal-seq").await?;
    app.wait_css("#triage-token")
        .await?
        .send_keys(leaked.0.as_str())
        .await?;
    app.wait_css("#triage-token")
        .await?
        .send_keys(Key::Enter)
        .await?;
    let seen = app
        .wait_css_for(
            &format!("{bao}[data-recognised=false] [data-testid=triage-seen-revocation]"),
            CHECK_TIMEOUT,
        )
        .await?;
    assert_eq!(seen.attr("data-state").await?.as_deref(), Some("verified"));
    if let Some(seq) = &revoked_seq {
        assert_eq!(seen.attr("data-journal-seq").await?.as_ref(), Some(seq));
    }
    let told = seen.text().await?;
    assert!(
        told.contains(ACTOR) && told.contains("journal #"),
        "who revoked it and where it is journalled: {told}"
    );
    let summary = app.text("[data-testid=triage-summary]").await?;
    assert!(summary.contains("met it before"), "{summary}");
    let shot = app.screenshot("ui-triage-seen.png").await?;
    eprintln!("screenshot: {}", shot.display());
    press(app, Key::Escape).await?;
    wait_until("the triage dialog to close", UI_TIMEOUT, || async {
        Ok(app
            .driver
            .find_all(By::Css("#triage-dialog"))
            .await?
            .is_empty()
            .then_some(()))
    })
    .await?;

    // The console's own login is protected: the dialog says why and sends nothing.
    search(app, "login:portcullis").await?;
    wait_rows(app, "the console's own login", |ids| {
        ids == ["login:portcullis"]
    })
    .await?;
    app.click(&format!(
        "{} [data-testid=revoke-credential]",
        row_css("login:portcullis")
    ))
    .await?;
    let plan = app
        .wait_css("#revoke-dialog [data-testid=revoke-plan]")
        .await?;
    let readiness = plan.attr("data-readiness").await?;
    assert_ne!(
        readiness.as_deref(),
        Some("ready"),
        "{}",
        plan.text().await?
    );
    assert!(
        !app.wait_css("#confirm-revoke").await?.is_enabled().await?,
        "nothing to confirm when nothing will be sent"
    );
    let shot = app.screenshot("ui-revoke-protected.png").await?;
    eprintln!("screenshot: {}", shot.display());
    press(app, Key::Escape).await?;
    wait_until("the revoke dialog to close", UI_TIMEOUT, || async {
        Ok(app
            .driver
            .find_all(By::Css("#revoke-dialog"))
            .await?
            .is_empty()
            .then_some(()))
    })
    .await?;

    // Revoke from a row: the confirmation names the target and what will be sent, then the
    // backend's proof shows in the dialog and on the row.
    search(app, &victim.1).await?;
    wait_rows(app, "the test's own token", |ids| ids == [victim.1.clone()]).await?;
    let row = row_css(&victim.1);
    app.click(&format!("{row} [data-testid=revoke-credential]"))
        .await?;
    let plan = app
        .wait_css("#revoke-dialog [data-testid=revoke-plan]")
        .await?;
    assert_eq!(plan.attr("data-readiness").await?.as_deref(), Some("ready"));
    let plan_text = plan.text().await?;
    assert!(
        plan_text.contains("revoke-accessor") && plan_text.contains(&victim.1),
        "the plan names the call and the accessor: {plan_text}"
    );
    assert!(
        plan_text.contains("NOT"),
        "says what it does not do: {plan_text}"
    );
    // Why, in the reviewer's words: kept in the journal and told again wherever the revocation is.
    app.type_into("#revoke-reason", "INC-42 leaked in a paste")
        .await?;
    let shot = app.screenshot("ui-revoke-confirm.png").await?;
    eprintln!("screenshot: {}", shot.display());
    app.wait_css("#confirm-revoke")
        .await?
        .send_keys(Key::Enter)
        .await?;
    let result = app
        .wait_css_for("#revoke-dialog [data-testid=revoke-result]", CHECK_TIMEOUT)
        .await?;
    let said = result.text().await?;
    assert_eq!(
        result.attr("data-verdict").await?.as_deref(),
        Some("verified"),
        "row revoke: {said}"
    );
    assert!(said.contains("Verified dead"), "{said}");
    let shot = app.screenshot("ui-revoke-result.png").await?;
    eprintln!("screenshot: {}", shot.display());
    assert!(
        !bao_alive(sb, &victim.0)?,
        "OpenBao still accepts the revoked token"
    );
    press(app, Key::Escape).await?;
    app.wait_css(&format!(
        "{row} [data-testid=row-revocation][data-verdict=verified]"
    ))
    .await?;
    app.wait_css(&format!("{row} [data-status=revoked]"))
        .await?;

    // The trail after a revocation: the next sync no longer finds the token on OpenBao, and the
    // row stays, revoked, with the journal entry that ended it.
    cli(workspace, sb, &["sync", "openbao"])?;
    app.click("#credentials-refresh").await?;
    wait_rows(app, "the revoked token after a sync", |ids| {
        ids == [victim.1.clone()]
    })
    .await?;
    app.wait_css(&format!("{row} [data-status=revoked]"))
        .await?;
    app.click(&format!("{row} td")).await?;
    let ended = app
        .wait_css("#credential-detail [data-testid=detail-ended-by]")
        .await?;
    assert_eq!(ended.attr("data-state").await?.as_deref(), Some("verified"));
    let said = ended.text().await?;
    assert!(
        said.contains(ACTOR)
            && said.contains("revoke-accessor")
            && said.contains("reason: INC-42 leaked in a paste"),
        "{said}"
    );
    // Nothing in the panel still counts down to an expiry that no longer matters.
    let expires = app
        .text("#credential-detail [data-testid=detail-expires]")
        .await?;
    assert!(expires.starts_with("no longer: revoked"), "{expires}");
    let shot = app.screenshot("ui-credentials-ended.png").await?;
    eprintln!("screenshot: {}", shot.display());
    press(app, Key::Escape).await?;

    // Filters and sorting: one backend, soonest expiry first, both kept in the URL.
    app.click("#clear-filters").await?;
    app.click("#filter-backend option[value=openbao]").await?;
    wait_rows(app, "OpenBao's tokens only", |ids| {
        ids.len() > 1 && ids.contains(&victim.1) && !ids.iter().any(|i| i.starts_with("login:"))
    })
    .await?;
    app.click("[data-sort=expires]").await?;
    app.wait_css("th[aria-sort=ascending] [data-sort=expires]")
        .await?;
    let url = app.driver.current_url().await?;
    let fragment = url.fragment().unwrap_or_default().to_string();
    assert!(
        fragment.contains("backend=openbao") && fragment.contains("sort=expires"),
        "filters in the URL: {url}"
    );
    let shot = app.screenshot("ui-credentials.png").await?;
    eprintln!("screenshot: {}", shot.display());
    app.use_theme("dark").await?;
    let shot = app.screenshot("ui-credentials-dark.png").await?;
    eprintln!("screenshot (dark theme): {}", shot.display());
    app.use_theme("light").await?;

    // The journal holds both revocations, newest first, and its chain verifies.
    app.click("#nav-journal").await?;
    app.wait_css("[data-testid=journal-row]").await?;
    let table = app.text("#journal-table").await?;
    assert!(table.contains(ACTOR), "the actor is recorded: {table}");
    let short_victim: String = victim.1.chars().take(8).collect();
    assert!(table.contains(&short_victim), "the row revocation: {table}");
    let first = app
        .wait_css("[data-testid=journal-row][data-state=verified]")
        .await?;
    assert!(
        first.text().await?.contains(&short_victim),
        "newest first: the last revocation's verified entry leads"
    );
    let link = first
        .find(By::Css("[data-testid=journal-first-link]"))
        .await?;
    let target_seq = link.text().await?.trim_start_matches('#').to_string();
    link.click().await?;
    app.wait_css(&format!(
        "[data-testid=journal-row].highlight[data-seq=\"{target_seq}\"][data-state=planned]"
    ))
    .await?;
    app.click("#verify-chain").await?;
    let v = app
        .wait_css_for(
            "[data-testid=journal-verification][data-ok=true]",
            CHECK_TIMEOUT,
        )
        .await?;
    let head = app
        .wait_css("[data-testid=journal-head]")
        .await?
        .attr("title")
        .await?
        .unwrap_or_default();
    assert_eq!(head.len(), 64, "the head hash: {}", v.text().await?);
    // Under with-keyring.sh the journal key lives in the keychain: every entry is sealed.
    let sealed = app.wait_css("[data-testid=journal-sealed]").await?;
    assert_eq!(sealed.text().await?, "all sealed", "{}", v.text().await?);
    let shot = app.screenshot("ui-journal.png").await?;
    eprintln!("screenshot: {}", shot.display());
    Ok(())
}
