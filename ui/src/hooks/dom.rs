//! Document-level listeners (keyboard shortcuts, hash routing, a ticking clock), attached for the
//! lifetime of the component that uses them and removed on unmount.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// A listener that removes itself when dropped.
pub struct Listener {
    target: web_sys::EventTarget,
    event: &'static str,
    closure: Closure<dyn FnMut(web_sys::Event)>,
}

impl Listener {
    pub fn new(
        target: web_sys::EventTarget,
        event: &'static str,
        f: impl FnMut(web_sys::Event) + 'static,
    ) -> Option<Self> {
        let closure = Closure::<dyn FnMut(web_sys::Event)>::new(f);
        target
            .add_event_listener_with_callback(event, closure.as_ref().unchecked_ref())
            .ok()?;
        Some(Self {
            target,
            event,
            closure,
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.event, self.closure.as_ref().unchecked_ref());
    }
}

/// Calls `on_key` for every keydown on the document while the component is mounted.
#[hook]
pub fn use_keydown(on_key: Callback<web_sys::KeyboardEvent>) {
    use_effect_with(on_key, |on_key| {
        let on_key = on_key.clone();
        let listener = web_sys::window().and_then(|w| w.document()).and_then(|d| {
            Listener::new(d.into(), "keydown", move |e: web_sys::Event| {
                if let Ok(k) = e.dyn_into::<web_sys::KeyboardEvent>() {
                    on_key.emit(k);
                }
            })
        });
        move || drop(listener)
    });
}

/// Calls `f` on every `hashchange` of the window while mounted.
#[hook]
pub fn use_hashchange(f: Callback<()>) {
    use_effect_with(f, |f| {
        let f = f.clone();
        let listener = web_sys::window()
            .and_then(|w| Listener::new(w.into(), "hashchange", move |_| f.emit(())));
        move || drop(listener)
    });
}

/// Milliseconds since the epoch, refreshed every `period_ms` so relative times stay true.
#[hook]
pub fn use_now(period_ms: i32) -> f64 {
    let now = use_state(js_sys::Date::now);
    {
        let now = now.clone();
        use_effect_with(period_ms, move |period| {
            let tick = Closure::<dyn FnMut()>::new(move || now.set(js_sys::Date::now()));
            let window = web_sys::window();
            let id = window.as_ref().and_then(|w| {
                w.set_interval_with_callback_and_timeout_and_arguments_0(
                    tick.as_ref().unchecked_ref(),
                    *period,
                )
                .ok()
            });
            move || {
                if let (Some(w), Some(id)) = (window, id) {
                    w.clear_interval_with_handle(id);
                }
                drop(tick);
            }
        });
    }
    *now
}

/// True when focus is in a text field, where single-key shortcuts must not fire. A checkbox,
/// radio button or button takes no text, so `/` and `T` still work from one.
pub fn typing_in_field(e: &web_sys::KeyboardEvent) -> bool {
    e.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .map(|el| {
            let tag = el.tag_name().to_ascii_lowercase();
            let kind = el
                .get_attribute("type")
                .unwrap_or_default()
                .to_ascii_lowercase();
            let takes_text = !matches!(
                kind.as_str(),
                "checkbox" | "radio" | "button" | "submit" | "reset" | "range" | "color" | "file"
            );
            (tag == "input" && takes_text)
                || tag == "textarea"
                || tag == "select"
                || el.has_attribute("contenteditable")
        })
        .unwrap_or(false)
}

/// Focuses the first element matching `selector`, if any.
pub fn focus(selector: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(selector).ok().flatten())
        .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
        .map(|el| el.focus().is_ok())
        .unwrap_or(false)
}
