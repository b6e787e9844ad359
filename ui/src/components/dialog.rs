//! A modal dialog: Esc or the backdrop closes it, focus moves into it when it opens.

use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::hooks::dom::use_keydown;

#[derive(Properties, PartialEq)]
pub struct DialogProps {
    pub id: AttrValue,
    pub title: AttrValue,
    pub on_close: Callback<()>,
    #[prop_or_default]
    pub children: Html,
    /// Extra class for the panel (e.g. `danger`).
    #[prop_or_default]
    pub class: Classes,
}

#[component]
pub fn Dialog(props: &DialogProps) -> Html {
    let panel = use_node_ref();
    {
        let on_close = props.on_close.clone();
        use_keydown(Callback::from(move |e: web_sys::KeyboardEvent| {
            if e.key() == "Escape" {
                e.prevent_default();
                on_close.emit(());
            }
        }));
    }
    {
        let panel = panel.clone();
        use_effect_with((), move |_| {
            if let Some(el) = panel.cast::<web_sys::Element>() {
                let target = [
                    "[data-autofocus]",
                    "input, select, textarea",
                    "footer button",
                ]
                .iter()
                .find_map(|sel| el.query_selector(sel).ok().flatten())
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
                if let Some(t) = target {
                    let _ = t.focus();
                }
            }
        });
    }
    let backdrop = use_node_ref();
    let on_backdrop = {
        let (on_close, backdrop) = (props.on_close.clone(), backdrop.clone());
        Callback::from(move |e: MouseEvent| {
            // Only a click on the backdrop itself, not one that bubbled from the panel.
            let target = e.target().and_then(|t| t.dyn_into::<web_sys::Node>().ok());
            if target.is_some() && target == backdrop.get() {
                on_close.emit(());
            }
        })
    };
    let title_id = format!("{}-title", props.id);
    let dialog = html! {
        <div class="backdrop" onclick={on_backdrop} ref={backdrop}>
            <div id={props.id.clone()} class={classes!("dialog", props.class.clone())} role="dialog"
                 aria-modal="true" aria-labelledby={title_id.clone()} ref={panel}>
                <header>
                    <h2 id={title_id}>{ props.title.clone() }</h2>
                    <button class="icon" aria-label="Close (Esc)" title="Close (Esc)"
                            onclick={props.on_close.reform(|_| ())}>{ "×" }</button>
                </header>
                { props.children.clone() }
            </div>
        </div>
    };
    // Rendered at the end of <body>, outside the scrolling <main>: fixed overlays inside a scroll
    // container are hit-tested at the wrong place by WebKitWebDriver.
    match web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        Some(body) => create_portal(dialog, body.into()),
        None => dialog,
    }
}
