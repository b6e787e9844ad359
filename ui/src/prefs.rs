//! What the app remembers between pages and sessions on this machine (the webview's local
//! storage): small choices a person should not have to make twice. Never a secret.

/// Local storage keys, one per remembered choice. `static/theme.js` reads [`THEME`] too, before
/// the app starts, so the first paint already has the theme.
pub const THEME: &str = "portcullis-theme";
pub const REVIEWER: &str = "portcullis-reviewer";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// The stored value, if any (storage may be unavailable: then nothing is remembered).
pub fn load(key: &str) -> Option<String> {
    storage().and_then(|s| s.get_item(key).ok().flatten())
}

/// Stores a value; an empty one forgets it. Failing storage is not an error worth showing.
pub fn save(key: &str, value: &str) {
    if let Some(s) = storage() {
        let _ = if value.is_empty() {
            s.remove_item(key)
        } else {
            s.set_item(key, value)
        };
    }
}
