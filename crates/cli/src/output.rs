//! Printing: human tables by default, JSON with `--json`; errors as `error[code]: message`.
//! Everything goes through `term`, which escapes what a terminal would act on.

use portcullis_model::IpcError;
use serde::Serialize;

#[derive(Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    pub fn json<T: Serialize>(&self, value: &T) {
        match crate::term::json_line(value) {
            Ok(s) => crate::term::write_data(&(s + "\n")),
            Err(e) => errln!("error[internal]: cannot print JSON: {e}"),
        }
    }

    pub fn error(&self, e: &IpcError) {
        if self.json {
            self.json(e);
        } else {
            // A backend's error text is the backend's to choose: on one line, escaped.
            errln!("error[{}]: {}", e.code, crate::term::escape_all(&e.message));
        }
    }

    pub fn table(&self, header: &[&str], rows: Vec<Vec<String>>) {
        let mut t = comfy_table::Table::new();
        t.load_preset(comfy_table::presets::NOTHING)
            .set_header(header.to_vec());
        for r in rows {
            // A cell is one line: a newline in a value must not forge rows.
            t.add_row(r.iter().map(|c| crate::term::escape_all(c).into_owned()));
        }
        outln!("{t}");
    }
}

/// "3 min ago"-style hint for a timestamp.
pub fn ago(at: chrono::DateTime<chrono::Utc>) -> String {
    let secs = (chrono::Utc::now() - at).num_seconds();
    match secs {
        s if s < 0 => "in the future".into(),
        s if s < 60 => format!("{s}s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}
