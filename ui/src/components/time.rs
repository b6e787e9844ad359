//! Dates in the reviewer's local time with a relative hint ("3 min ago"), kept fresh by the
//! app-wide [`Now`] clock.

use chrono::{DateTime, Utc};
use wasm_bindgen::prelude::*;
use yew::prelude::*;

/// The current time in epoch milliseconds, provided once by the app and ticking.
#[derive(Clone, Copy, PartialEq)]
pub struct Now(pub f64);

#[wasm_bindgen]
extern "C" {
    /// `Date`, bound here for `toLocaleString(undefined, options)` (the reviewer's own locale).
    #[wasm_bindgen(js_name = Date)]
    type LocalDate;
    #[wasm_bindgen(constructor, js_class = "Date")]
    fn new(ms: f64) -> LocalDate;
    #[wasm_bindgen(method, js_class = "Date", js_name = toLocaleString)]
    fn to_locale_string_with(this: &LocalDate, locales: &JsValue, options: &JsValue) -> String;
}

/// `22 Nov 2026, 14:02` in the local zone and locale.
pub fn local(at: &DateTime<Utc>) -> String {
    let date = LocalDate::new(at.timestamp_millis() as f64);
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into());
    let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"short".into());
    date.to_locale_string_with(&JsValue::UNDEFINED, &options)
}

/// `22 Nov` (this year) or `20 Feb 2027`, for dense tables; the full time is in the tooltip.
pub fn local_compact(at: &DateTime<Utc>, now_ms: f64) -> String {
    let date = LocalDate::new(at.timestamp_millis() as f64);
    let this_year = js_sys::Date::new(&JsValue::from_f64(now_ms)).get_full_year()
        == js_sys::Date::new(&JsValue::from_f64(at.timestamp_millis() as f64)).get_full_year();
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"month".into(), &"short".into());
    let _ = js_sys::Reflect::set(&options, &"day".into(), &"numeric".into());
    if !this_year {
        let _ = js_sys::Reflect::set(&options, &"year".into(), &"numeric".into());
    }
    date.to_locale_string_with(&JsValue::UNDEFINED, &options)
}

/// "just now", "3 min ago", "in 2 days" for a difference `then - now` in milliseconds.
pub fn relative(delta_ms: f64) -> String {
    let secs = (delta_ms / 1000.0).round() as i64;
    let future = secs > 0;
    let s = secs.unsigned_abs();
    if s < 45 {
        return "just now".into();
    }
    let (n, unit) = match s {
        s if s < 3_600 => ((s + 30) / 60, "min"),
        s if s < 86_400 => ((s + 1_800) / 3_600, "h"),
        s if s < 86_400 * 45 => ((s + 43_200) / 86_400, "day"),
        s if s < 86_400 * 365 => ((s + 86_400 * 15) / (86_400 * 30), "month"),
        s => ((s + 86_400 * 182) / (86_400 * 365), "year"),
    };
    let n = n.max(1);
    let unit = match unit {
        "day" | "month" | "year" if n != 1 => format!("{unit}s"),
        _ => unit.to_string(),
    };
    if future {
        format!("in {n} {unit}")
    } else {
        format!("{n} {unit} ago")
    }
}

#[derive(Properties, PartialEq)]
pub struct TimeProps {
    pub at: DateTime<Utc>,
    /// The date only (for tables), the full local time in the tooltip.
    #[prop_or_default]
    pub compact: bool,
}

/// `<time>` showing the local date and, after it, the relative hint.
#[component]
pub fn Time(props: &TimeProps) -> Html {
    let now = use_context::<Now>()
        .map(|n| n.0)
        .unwrap_or_else(js_sys::Date::now);
    let delta = props.at.timestamp_millis() as f64 - now;
    html! {
        <time datetime={props.at.to_rfc3339()}
              title={if props.compact { local(&props.at) } else { props.at.to_rfc3339() }}>
            { if props.compact { local_compact(&props.at, now) } else { local(&props.at) } }
            <span class="rel">{ format!(" ({})", relative(delta)) }</span>
        </time>
    }
}

#[cfg(test)]
mod tests {
    use super::relative;

    #[test]
    fn relative_hints() {
        assert_eq!(relative(-10_000.0), "just now");
        assert_eq!(relative(-180_000.0), "3 min ago");
        assert_eq!(relative(-2.0 * 3_600_000.0), "2 h ago");
        assert_eq!(relative(-86_400_000.0), "1 day ago");
        assert_eq!(relative(-3.0 * 86_400_000.0), "3 days ago");
        assert_eq!(relative(40.0 * 86_400_000.0), "in 40 days");
        assert_eq!(relative(-400.0 * 86_400_000.0), "1 year ago");
    }
}
