//! Incident mode: dry run of a selection, confirmed execution with one event per item change over
//! a Tauri channel, resume of an interrupted run, export of the report.

use portcullis_model::{
    ErrorCode, IpcError, RevocationEvent, RevocationPlan, RevocationReport, UnfinishedAction,
};
use serde::Serialize;
use wasm_bindgen::JsValue;

use super::{args, bridge, decode, invoke, rejection};

#[derive(Serialize)]
struct SelectionArg<'a> {
    selection: &'a str,
    /// Pasted token values, one per line; the shell holds them for this incident only.
    tokens: Option<&'a str>,
}

#[derive(Serialize)]
struct ExecuteArgs<'a> {
    plan: &'a RevocationPlan,
    count: u32,
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct ReportArg<'a> {
    report: &'a RevocationReport,
}

/// Adds `onEvent`, a channel feeding `on_event`, to an argument object.
fn with_events(
    args: JsValue,
    on_event: impl Fn(Result<RevocationEvent, IpcError>) + 'static,
) -> Result<JsValue, IpcError> {
    let channel = bridge::channel(move |msg| {
        on_event(decode::<RevocationEvent>(msg).map_err(|e| {
            IpcError::new(
                ErrorCode::Internal,
                format!("unreadable revocation event: {e}"),
            )
        }))
    })
    .map_err(rejection)?;
    let args = if args.is_object() {
        args
    } else {
        js_sys::Object::new().into()
    };
    js_sys::Reflect::set(&args, &JsValue::from_str("onEvent"), channel.as_js())
        .map_err(rejection)?;
    Ok(args)
}

/// The dry run of a selection (`principal=alice backend=openbao since=2h`); nothing is sent.
/// `tokens`: token values the responder pasted (one per line) for backends that revoke only by
/// value; empty for none.
pub async fn incident_plan(selection: &str, tokens: &str) -> Result<RevocationPlan, IpcError> {
    let tokens = (!tokens.trim().is_empty()).then_some(tokens);
    invoke("incident_plan", args(&SelectionArg { selection, tokens })?).await
}

/// Asks the running revocation to stop sending; returns whether one was running.
pub async fn incident_cancel() -> Result<bool, IpcError> {
    invoke("incident_cancel", JsValue::UNDEFINED).await
}

/// Sends the plan's ready items; `count` is the number the reviewer confirmed, `reason` the
/// reason or ticket typed in the confirmation (journalled with every item).
pub async fn incident_execute(
    plan: &RevocationPlan,
    count: u32,
    reason: Option<&str>,
    on_event: impl Fn(Result<RevocationEvent, IpcError>) + 'static,
) -> Result<RevocationReport, IpcError> {
    let args = with_events(
        args(&ExecuteArgs {
            plan,
            count,
            reason,
        })?,
        on_event,
    )?;
    invoke("incident_execute", args).await
}

pub async fn incident_unfinished() -> Result<Vec<UnfinishedAction>, IpcError> {
    invoke("incident_unfinished", JsValue::UNDEFINED).await
}

pub async fn incident_resume(
    on_event: impl Fn(Result<RevocationEvent, IpcError>) + 'static,
) -> Result<RevocationReport, IpcError> {
    invoke(
        "incident_resume",
        with_events(JsValue::UNDEFINED, on_event)?,
    )
    .await
}

/// Writes the report into the workspace's `incidents/` folder; returns the file's path.
pub async fn incident_export(report: &RevocationReport) -> Result<String, IpcError> {
    invoke("incident_export", args(&ReportArg { report })?).await
}
