//! The only way human output reaches the terminal.
//!
//! Audit records, principal names and backend error texts are attacker-controlled; printed raw,
//! an ESC sequence could rewrite the screen or the window title, a CR could hide a line's start
//! and a bidi override could make `gpj.exe` read as `exe.jpg`. Every line printed by `outln!` /
//! `errln!` (clippy's `disallowed-macros` in this crate's `clippy.toml` forbids `println!` and
//! friends) passes [`escape`]: C0 controls other than the newline, DEL, C1 controls and bidi
//! overrides/isolates are shown as `\x1b` / `\u{202e}`. Values that stand on one line (table
//! cells, error messages) also escape the newline, through [`escape_all`], so a value cannot
//! forge lines of its own. JSON output keeps JSON's meaning: see [`json_line`].

use portcullis_engine::shell::is_hidden_char;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write as _;

/// `s` with every hidden character except `\n` escaped.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_where(s, |c| c != '\n' && is_hidden_char(c))
}

/// `s` with every hidden character, the newline included, escaped.
pub fn escape_all(s: &str) -> Cow<'_, str> {
    escape_where(s, is_hidden_char)
}

fn escape_where(s: &str, hide: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(&hide) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !hide(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// Prints a line on stdout, escaped. A closed pipe ends the process (SIGPIPE is restored in
/// `main`); other write errors have nowhere to be reported.
pub fn out_line(args: std::fmt::Arguments<'_>) {
    let text = args.to_string();
    let _ = writeln!(std::io::stdout().lock(), "{}", escape(&text));
}

/// Prints a line on stderr, escaped.
pub fn err_line(args: std::fmt::Arguments<'_>) {
    let text = args.to_string();
    let _ = writeln!(std::io::stderr().lock(), "{}", escape(&text));
}

/// Data the person asked for on stdout (CSV, HTML, tab-separated findings): raw into a pipe or
/// a file, where it is data; escaped like any line when stdout is a terminal.
pub fn write_data(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = if std::io::IsTerminal::is_terminal(&stdout) {
        stdout.write_all(escape(text).as_bytes())
    } else {
        stdout.write_all(text.as_bytes())
    };
}

/// Pretty JSON whose strings also spell DEL, C1 controls and bidi characters as `\uXXXX`:
/// the same JSON value (serde_json already escapes C0), nothing a terminal acts on.
pub fn json_line<T: serde::Serialize>(value: &T) -> serde_json::Result<String> {
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, SafeFormatter::default());
    value.serialize(&mut ser)?;
    // The formatter writes only what serde_json gave it (UTF-8) and ASCII escapes.
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

#[derive(Default)]
struct SafeFormatter(serde_json::ser::PrettyFormatter<'static>);

impl serde_json::ser::Formatter for SafeFormatter {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if is_hidden_char(c) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                write!(w, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// `println!`, escaped (see the module comment).
macro_rules! outln {
    () => { $crate::term::out_line(format_args!("")) };
    ($($t:tt)*) => { $crate::term::out_line(format_args!($($t)*)) };
}

/// `eprintln!`, escaped (see the module comment).
macro_rules! errln {
    () => { $crate::term::err_line(format_args!("")) };
    ($($t:tt)*) => { $crate::term::err_line(format_args!($($t)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_are_spelled_out() {
        assert_eq!(escape("a\u{1b}[31mb\u{7}"), "a\\x1b[31mb\\x07");
        assert_eq!(escape("x\ry\u{7f}\u{85}"), "x\\x0dy\\x7f\\x85");
        assert_eq!(
            escape("\u{202e}gpj.exe\u{2069}"),
            "\\u{202e}gpj.exe\\u{2069}"
        );
        assert_eq!(escape("two\nlines\t"), "two\nlines\\x09");
        assert_eq!(escape_all("two\nlines"), "two\\x0alines");
        assert!(matches!(escape("plain é ✓"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_stays_the_same_value_without_hidden_characters() {
        let v = serde_json::json!({"actor": "a\u{1b}]0;pwn\u{7}\u{85}\u{202e}\n", "n": [1, 2]});
        let s = json_line(&v).unwrap();
        assert!(!s.chars().any(|c| c != '\n' && is_hidden_char(c)), "{s}");
        assert!(s.contains("\\u0085") && s.contains("\\u202e"), "{s}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&s).unwrap(), v);
        assert_eq!(
            s,
            serde_json::to_string_pretty(
                &serde_json::json!({"actor": "a\u{1b}]0;pwn\u{7}\u{85}\u{202e}\n", "n": [1, 2]})
            )
            .unwrap()
            .replace('\u{85}', "\\u0085")
            .replace('\u{202e}', "\\u202e")
        );
    }
}
