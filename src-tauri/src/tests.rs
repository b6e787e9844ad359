//! The commands through Tauri's real IPC path (mock runtime, the app's own config and capability
//! file), so a command that is not registered or not allowed fails here, not in a window. The JSON
//! of errors is pinned: the UI branches on `code`.

use std::sync::Arc;

use portcullis_engine::Workspace;
use portcullis_model::{ErrorCode, IpcError};
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindowBuilder;

use crate::commands::WorkspaceState;

struct Harness {
    _dir: tempfile::TempDir,
    app: tauri::App<tauri::test::MockRuntime>,
    webview: tauri::WebviewWindow<tauri::test::MockRuntime>,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let ws = tauri::async_runtime::block_on(Workspace::open(dir.path())).unwrap();
    harness_with(Ok(Arc::new(ws)), dir)
}

fn harness_with(workspace: Result<Arc<Workspace>, IpcError>, dir: tempfile::TempDir) -> Harness {
    let app = crate::with_commands(mock_builder())
        .manage(WorkspaceState::new(workspace))
        .build(tauri::generate_context!())
        .unwrap();
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    Harness {
        _dir: dir,
        app,
        webview,
    }
}

fn call(h: &Harness, cmd: &str, args: Value) -> Result<Value, Value> {
    let request = InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    get_ipc_response(&h.webview, request).map(|b| b.deserialize::<Value>().unwrap())
}

#[test]
fn a_fresh_workspace_lists_no_backends_and_an_empty_overview() {
    let h = harness();
    assert_eq!(call(&h, "list_backends", json!({})), Ok(json!([])));
    let overview = call(&h, "overview", json!({})).unwrap();
    assert_eq!(overview["backends"], json!([]));
    assert_eq!(overview["totals"]["principals"], json!(0));
}

#[test]
fn the_about_box_names_the_workspace_version_and_the_workspace_dir() {
    let h = harness();
    let info = call(&h, "app_info", json!({})).unwrap();
    assert_eq!(info["version"], json!(env!("CARGO_PKG_VERSION")));
    assert_eq!(
        info["workspace"],
        json!(h._dir.path().display().to_string())
    );
    // The version follows the workspace's, which tauri.conf.json no longer repeats.
    assert_eq!(
        h.app.package_info().version.to_string(),
        env!("CARGO_PKG_VERSION")
    );
}

#[test]
fn errors_cross_ipc_as_code_and_message() {
    let h = harness();
    let err = call(&h, "remove_backend", json!({ "name": "nope" })).unwrap_err();
    assert_eq!(err["code"], json!("not_found"));
    assert!(err["message"].as_str().unwrap().contains("nope"), "{err}");
    assert_eq!(
        err.as_object().unwrap().len(),
        2,
        "exactly {{code, message}}: {err}"
    );
}

#[test]
fn add_list_remove_round_trip_with_an_env_credential() {
    let h = harness();
    let req = json!({ "req": {
        "name": "local-bao", "kind": "vault", "url": "http://127.0.0.1:1",
        "credential": { "source": "env", "var": "PORTCULLIS_TEST_UNSET_VAR" }
    }});
    let added = call(&h, "add_backend", req.clone()).unwrap();
    assert_eq!(added["name"], json!("local-bao"));
    assert_eq!(
        added["credential"],
        json!({ "source": "env", "var": "PORTCULLIS_TEST_UNSET_VAR" })
    );
    let again = call(&h, "add_backend", req).unwrap_err();
    assert_eq!(again["code"], json!("conflict"));

    let listed = call(&h, "list_backends", json!({})).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(
        call(&h, "remove_backend", json!({ "name": "local-bao" })),
        Ok(Value::Null)
    );
    assert_eq!(call(&h, "list_backends", json!({})), Ok(json!([])));
}

#[test]
fn invalid_input_is_refused_with_its_code() {
    let h = harness();
    let err = call(
        &h,
        "add_backend",
        json!({ "req": { "name": "", "kind": "vault", "url": "http://127.0.0.1:1",
                         "credential": { "source": "none" } } }),
    )
    .unwrap_err();
    assert_eq!(err["code"], json!("invalid_input"), "{err}");
}

#[test]
fn windows_outside_the_capability_cannot_call_commands() {
    let h = harness();
    let other = WebviewWindowBuilder::new(&h.app, "other", Default::default())
        .build()
        .unwrap();
    let request = InvokeRequest {
        cmd: "list_backends".into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body: InvokeBody::Json(json!({})),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    let refused = get_ipc_response(&other, request).unwrap_err();
    assert!(refused.to_string().contains("not allowed"), "{refused}");
}

#[test]
fn sync_streams_over_a_channel_and_reports_unknown_backends() {
    let h = harness();
    let channel = "__CHANNEL__:1";
    let none = call(
        &h,
        "sync_backends",
        json!({ "names": [], "onProgress": channel }),
    );
    assert_eq!(none, Ok(json!([])));
    let err = call(
        &h,
        "sync_backends",
        json!({ "names": ["ghost"], "onProgress": channel }),
    )
    .unwrap_err();
    assert_eq!(err["code"], json!("not_found"));
    // The failed sync released its slot: nothing is left to cancel.
    assert_eq!(call(&h, "cancel_sync", json!({})), Ok(json!(false)));
}

#[test]
fn a_workspace_that_failed_to_open_answers_every_command_with_why() {
    let why = IpcError::new(
        ErrorCode::SchemaTooNew,
        "cannot open the workspace at /x: newer",
    );
    let h = harness_with(Err(why), tempfile::tempdir().unwrap());
    for cmd in ["list_backends", "overview"] {
        let err = call(&h, cmd, json!({})).unwrap_err();
        assert_eq!(err["code"], json!("schema_too_new"), "{cmd}: {err}");
    }
}

#[test]
fn credentials_and_journal_commands_answer_on_a_fresh_workspace() {
    let h = harness();
    assert_eq!(
        call(&h, "list_credentials", json!({ "filter": {} })),
        Ok(json!([]))
    );
    for cmd in [
        "credential_detail",
        "preview_revocation",
        "revoke_credential",
    ] {
        let err = call(&h, cmd, json!({ "id": 999 })).unwrap_err();
        assert_eq!(err["code"], json!("not_found"), "{cmd}: {err}");
    }
    assert_eq!(
        call(&h, "journal_entries", json!({ "afterSeq": 0, "limit": 10 })),
        Ok(json!([]))
    );
    let v = call(&h, "verify_journal", json!({})).unwrap();
    assert_eq!(v["ok"], json!(true), "{v}");
    assert_eq!(v["entries"], json!(0), "{v}");
}

#[test]
fn a_triaged_token_is_never_echoed_and_revoking_needs_one_held() {
    let h = harness();
    let secret = "s.e2e-value-that-must-not-come-back";
    // No backend can look tokens up yet: refused, and the value is nowhere in the answer.
    let err = call(&h, "triage_token", json!({ "token": secret })).unwrap_err();
    assert_eq!(err["code"], json!("invalid_input"), "{err}");
    assert!(!err.to_string().contains(secret), "{err}");
    let err = call(
        &h,
        "triage_token",
        json!({ "token": "  ", "backend": null }),
    )
    .unwrap_err();
    assert_eq!(err["code"], json!("invalid_input"), "{err}");
    let err = call(
        &h,
        "revoke_triaged_token",
        json!({ "backend": "openbao", "fingerprint": "ab12" }),
    )
    .unwrap_err();
    assert_eq!(err["code"], json!("not_found"), "{err}");
    assert_eq!(call(&h, "forget_triaged_token", json!({})), Ok(Value::Null));
}
