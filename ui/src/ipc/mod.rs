//! The one funnel to the Tauri shell: typed wrappers over `window.__TAURI__.core.invoke`.
//!
//! Every call resolves to `Result<T, IpcError>`: a rejected promise is decoded as the shell's
//! `{code, message}`, and anything else that goes wrong (no Tauri, an undecodable answer) becomes an
//! `IpcError` too, so no page ever has to unwrap a `JsValue`. Long work streams `Progress` over a
//! Tauri `Channel` created here.

mod access;
mod audit;
mod bridge;
mod credentials;
mod incident;
mod journal;
mod reviews;

pub use access::*;
pub use audit::*;
pub use credentials::*;
pub use incident::*;
pub use journal::*;
pub use reviews::*;

use portcullis_model::{
    AppInfo, BackendInfo, CheckReport, ErrorCode, IpcError, NewBackend, Overview, Progress,
    SyncReport,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// Calls a shell command with named arguments and decodes its answer.
async fn invoke<T: DeserializeOwned>(cmd: &str, args: JsValue) -> Result<T, IpcError> {
    let value = bridge::invoke(cmd, args).await.map_err(rejection)?;
    decode(value).map_err(|e| {
        IpcError::new(
            ErrorCode::Internal,
            format!("the answer to `{cmd}` could not be read: {e}"),
        )
    })
}

/// Builds the argument object of a call from serialisable named values.
fn args<A: Serialize>(value: &A) -> Result<JsValue, IpcError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| IpcError::new(ErrorCode::Internal, format!("arguments not encodable: {e}")))
}

fn decode<T: DeserializeOwned>(value: JsValue) -> Result<T, serde_wasm_bindgen::Error> {
    serde_wasm_bindgen::from_value(value)
}

/// Turns whatever a rejected invoke carries into an `IpcError`.
fn rejection(err: JsValue) -> IpcError {
    if let Ok(e) = decode::<IpcError>(err.clone()) {
        return e;
    }
    let text = err
        .as_string()
        .or_else(|| {
            err.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| "the desktop shell did not answer".to_string());
    if text.contains("__TAURI__") || text.contains("undefined is not an object") {
        return IpcError::new(
            ErrorCode::Internal,
            "this page must run inside the Portcullis desktop app (no Tauri bridge found)",
        );
    }
    IpcError::new(ErrorCode::Internal, text)
}

#[derive(Serialize)]
struct NameArg<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct ReqArg<'a> {
    req: &'a NewBackend,
}

pub async fn list_backends() -> Result<Vec<BackendInfo>, IpcError> {
    invoke("list_backends", JsValue::UNDEFINED).await
}

pub async fn add_backend(req: &NewBackend) -> Result<BackendInfo, IpcError> {
    invoke("add_backend", args(&ReqArg { req })?).await
}

pub async fn check_backend(name: &str) -> Result<CheckReport, IpcError> {
    invoke("check_backend", args(&NameArg { name })?).await
}

pub async fn remove_backend(name: &str) -> Result<(), IpcError> {
    invoke("remove_backend", args(&NameArg { name })?).await
}

/// The shell's version and workspace directory (the About box).
pub async fn app_info() -> Result<AppInfo, IpcError> {
    invoke("app_info", JsValue::UNDEFINED).await
}

/// Builds (first time) and serves the demo organisation's workspace in place of the real one.
pub async fn open_demo() -> Result<AppInfo, IpcError> {
    invoke("open_demo", JsValue::UNDEFINED).await
}

/// Back from the demo to the workspace it replaced.
pub async fn leave_demo() -> Result<AppInfo, IpcError> {
    invoke("leave_demo", JsValue::UNDEFINED).await
}

pub async fn overview() -> Result<Overview, IpcError> {
    invoke("overview", JsValue::UNDEFINED).await
}

/// Adds `onProgress`, a channel feeding `on_progress`, to an argument object.
fn with_progress(
    args: JsValue,
    on_progress: impl Fn(Result<Progress, IpcError>) + 'static,
) -> Result<JsValue, IpcError> {
    let channel = bridge::channel(move |msg| {
        on_progress(decode::<Progress>(msg).map_err(|e| {
            IpcError::new(
                ErrorCode::Internal,
                format!("unreadable progress event: {e}"),
            )
        }))
    })
    .map_err(rejection)?;
    let args = if args.is_object() {
        args
    } else {
        js_sys::Object::new().into()
    };
    js_sys::Reflect::set(&args, &JsValue::from_str("onProgress"), channel.as_js())
        .map_err(rejection)?;
    Ok(args)
}

/// Checks every backend; `on_progress` sees each [`Progress`] event as the shell sends it.
pub async fn check_all(
    on_progress: impl Fn(Result<Progress, IpcError>) + 'static,
) -> Result<Vec<CheckReport>, IpcError> {
    invoke("check_all", with_progress(JsValue::UNDEFINED, on_progress)?).await
}

#[derive(Serialize)]
struct NamesArg<'a> {
    names: &'a [String],
}

/// Syncs the named backends (all when `names` is empty), streaming progress.
pub async fn sync_backends(
    names: &[String],
    on_progress: impl Fn(Result<Progress, IpcError>) + 'static,
) -> Result<Vec<SyncReport>, IpcError> {
    let args = with_progress(args(&NamesArg { names })?, on_progress)?;
    invoke("sync_backends", args).await
}

/// Asks a running sync to stop after its current batch; `false` when none was running.
pub async fn cancel_sync() -> Result<bool, IpcError> {
    invoke("cancel_sync", JsValue::UNDEFINED).await
}
