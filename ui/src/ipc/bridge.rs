//! Raw bindings to the global Tauri API (`app.withGlobalTauri`). Only `ipc` uses them.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["__TAURI__", "core"], js_name = invoke)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;

    /// `window.__TAURI__.core.Channel`: serialises as `__CHANNEL__:<id>` when passed to invoke.
    #[wasm_bindgen(js_namespace = ["__TAURI__", "core"], js_name = Channel)]
    type TauriChannel;

    #[wasm_bindgen(catch, constructor, js_namespace = ["__TAURI__", "core"], js_class = "Channel")]
    fn new() -> Result<TauriChannel, JsValue>;

    #[wasm_bindgen(method, setter = onmessage)]
    fn set_onmessage(this: &TauriChannel, handler: &JsValue);
}

pub(super) async fn invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue> {
    tauri_invoke(cmd, args).await
}

/// A channel whose message handler is owned by the JS object, so a late message after the call
/// returned still finds it (and both are collected together).
pub(super) struct Channel {
    inner: TauriChannel,
}

impl Channel {
    pub(super) fn as_js(&self) -> &JsValue {
        self.inner.as_ref()
    }
}

pub(super) fn channel(on_message: impl Fn(JsValue) + 'static) -> Result<Channel, JsValue> {
    let inner = TauriChannel::new()?;
    let handler = Closure::<dyn FnMut(JsValue)>::new(on_message);
    inner.set_onmessage(&handler.into_js_value());
    Ok(Channel { inner })
}
