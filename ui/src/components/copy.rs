//! Ids, fingerprints and hashes: shown shortened, copied whole.
//!
//! The clipboard is reached dynamically (`navigator.clipboard.writeText`, else the older
//! `execCommand('copy')`), so a web view without the async clipboard degrades to a message
//! instead of a JS exception.

use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use yew::platform::spawn_local;
use yew::prelude::*;

/// The first `n` characters and an ellipsis, for long ids in tables.
pub fn short(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn get(target: &JsValue, key: &str) -> Option<JsValue> {
    js_sys::Reflect::get(target, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn call(target: &JsValue, method: &str, args: &js_sys::Array) -> Option<JsValue> {
    let f = get(target, method)?.dyn_into::<js_sys::Function>().ok()?;
    f.apply(target, args).ok()
}

async fn write_async_clipboard(text: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let clipboard = get(&window, "navigator").and_then(|n| get(&n, "clipboard"));
    let promise = clipboard
        .and_then(|c| {
            call(
                &c,
                "writeText",
                &js_sys::Array::of1(&JsValue::from_str(text)),
            )
        })
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok());
    match promise {
        Some(p) => JsFuture::from(p).await.is_ok(),
        None => false,
    }
}

/// A hidden text area, selected and copied: for web views without the async clipboard.
fn write_with_exec_command(text: &str) -> bool {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return false;
    };
    let (Ok(area), Some(body)) = (document.create_element("textarea"), document.body()) else {
        return false;
    };
    area.set_text_content(Some(text));
    let _ = area.set_attribute("style", "position:fixed;top:0;left:0;opacity:0");
    if body.append_child(&area).is_err() {
        return false;
    }
    let _ = call(&area, "select", &js_sys::Array::new());
    let copied = call(
        &document,
        "execCommand",
        &js_sys::Array::of1(&JsValue::from_str("copy")),
    )
    .and_then(|v| v.as_bool())
    .unwrap_or(false);
    area.remove();
    copied
}

#[derive(Clone, Copy, PartialEq)]
enum CopyState {
    Idle,
    Copied,
    Failed,
}

#[derive(Properties, PartialEq)]
pub struct CopyProps {
    /// What is copied.
    pub text: AttrValue,
    /// What it is, for the button's accessible name ("Copy fingerprint").
    pub what: AttrValue,
    #[prop_or_default]
    pub testid: Option<AttrValue>,
}

/// A small "Copy" button that says whether it worked.
#[component]
pub fn CopyButton(props: &CopyProps) -> Html {
    let state = use_state(|| CopyState::Idle);
    let onclick = {
        let (state, text) = (state.clone(), props.text.clone());
        Callback::from(move |e: MouseEvent| {
            // A copy button inside a clickable row must not also open the row.
            e.stop_propagation();
            let (state, text) = (state.clone(), text.clone());
            spawn_local(async move {
                let ok = write_async_clipboard(&text).await || write_with_exec_command(&text);
                state.set(if ok {
                    CopyState::Copied
                } else {
                    CopyState::Failed
                });
            });
        })
    };
    let label = match *state {
        CopyState::Idle => "Copy",
        CopyState::Copied => "Copied",
        CopyState::Failed => "Copy failed",
    };
    html! {
        <button type="button" class={classes!("copy", (*state == CopyState::Copied).then_some("done"))}
                aria-label={format!("Copy {}", props.what)} title={format!("Copy {}: {}", props.what, props.text)}
                data-testid={props.testid.clone()} onclick={onclick}>
            { label }
        </button>
    }
}

/// A long id shown shortened (the whole in its tooltip) with its copy button.
#[derive(Properties, PartialEq)]
pub struct IdProps {
    pub value: AttrValue,
    pub what: AttrValue,
    /// Characters shown before the ellipsis.
    #[prop_or(16)]
    pub keep: usize,
    #[prop_or_default]
    pub testid: Option<AttrValue>,
}

#[component]
pub fn CopyId(props: &IdProps) -> Html {
    html! {
        <span class="copy-id">
            <code title={props.value.clone()} data-testid={props.testid.clone()}>{ short(&props.value, props.keep) }</code>
            <CopyButton text={props.value.clone()} what={props.what.clone()} />
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::short;

    #[test]
    fn short_keeps_whole_characters() {
        assert_eq!(short("abcdef", 3), "abc…");
        assert_eq!(short("abc", 3), "abc");
        assert_eq!(short("ééééé", 2), "éé…");
    }
}
