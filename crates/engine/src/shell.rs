//! Commands printed for a person to paste into a POSIX shell.
//!
//! Values in them come from audit data, backend answers and names a person typed, and an
//! attacker chooses some of them (an actor named `x'; touch /tmp/p; echo '` from a failed
//! login), so every word goes through `shlex` quoting here and nowhere else. A word holding a
//! character that a terminal acts on or hides (controls, bidi overrides: see
//! [`is_hidden_char`]) gets no command at all: the CLI prints such characters escaped, so what
//! a person would copy is not the value, and no POSIX quoting spells a newline visibly.

/// C0 controls, DEL, C1 controls and the Unicode bidi overrides/isolates: characters that must
/// not reach a terminal raw and cannot be shown as themselves in a command line.
pub fn is_hidden_char(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// Why a command is not suggested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoCommand {
    #[error("no command suggested: a value in it holds control or bidi characters, which a pasted command would not reproduce (use --json to see the value exactly)")]
    HiddenCharacters,
}

/// `words` as one POSIX shell command line, each word quoted as needed.
pub fn command(words: &[&str]) -> Result<String, NoCommand> {
    if words.iter().any(|w| w.chars().any(is_hidden_char)) {
        return Err(NoCommand::HiddenCharacters);
    }
    // shlex refuses only NUL, which `is_hidden_char` already turned away.
    shlex::try_join(words.iter().copied()).map_err(|_| NoCommand::HiddenCharacters)
}

/// The command in backticks for a sentence, or the reason there is none, in parentheses.
pub fn suggestion(words: &[&str]) -> String {
    match command(words) {
        Ok(c) => format!("`{c}`"),
        Err(e) => format!("({e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_needs_it_and_leaves_plain_words() {
        assert_eq!(
            command(&["portcullis", "audit", "search", "actor:alice"]).unwrap(),
            "portcullis audit search actor:alice"
        );
        let c = command(&[
            "portcullis",
            "audit",
            "search",
            "actor:\"x'; touch /tmp/p; echo '\"",
        ])
        .unwrap();
        assert_eq!(
            shlex::split(&c).unwrap(),
            [
                "portcullis",
                "audit",
                "search",
                "actor:\"x'; touch /tmp/p; echo '\""
            ]
        );
        assert_eq!(command(&["a", ""]).unwrap(), "a ''");
    }

    #[test]
    fn hidden_characters_get_no_command() {
        for bad in [
            "a\nb",
            "a\rb",
            "\u{1b}[2J",
            "bell\u{7}",
            "\u{85}",
            "\u{202e}gpj",
            "\u{2066}",
            "\0",
        ] {
            assert_eq!(
                command(&["x", bad]),
                Err(NoCommand::HiddenCharacters),
                "{bad:?}"
            );
            assert!(suggestion(&["x", bad]).starts_with("(no command suggested"));
        }
        assert!(!is_hidden_char('é') && !is_hidden_char(' ') && !is_hidden_char('\u{a0}'));
    }
}
