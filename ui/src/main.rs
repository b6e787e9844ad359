//! Portcullis UI: a Yew app compiled to wasm and served by the Tauri shell from `ui/dist`
//! (built by `cargo run -p xtask -- build-ui`).
//!
//! Layers: `app` (routes + shell layout) → `pages` (one per route) → `hooks` (state + calls) →
//! `ipc` (typed `invoke`). `components` are presentational and never call the shell.

mod app;
mod components;
mod hooks;
mod ipc;
mod pages;
mod prefs;
mod route;
mod words;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
