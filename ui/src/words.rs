//! Messages in the GUI's words. The engine writes one message for both of its faces, and a few
//! of them name the command line's way of doing something (`--tokens-from FILE`, `--reviewer
//! NAME`, `portcullis sync`); in the app the reviewer needs the button or field that does it.
//! Backend error texts (an HTTP client's chain of causes) are kept whole, but behind a
//! "details" disclosure, after a sentence that says what failed and what to do.

use portcullis_model::ErrorCode;

/// CLI flags the engine's messages name, and what the app calls the same thing. Longest first,
/// so a phrase is replaced before a shorter one inside it.
const GUI_WORDS: [(&str, &str); 10] = [
    (
        "`--tokens-from FILE`, one token per line",
        "paste it into “Token values”, one token per line",
    ),
    (
        "pass them with --tokens-from FILE",
        "paste them into “Token values” and run the dry run again",
    ),
    ("(--tokens-from FILE)", "(paste it into “Token values”)"),
    ("--tokens-from FILE", "“Token values”"),
    ("(--reviewer NAME)", "(fill in “Reviewer”)"),
    (
        "name item keys, or use --all / --rule",
        "tick the findings to decide on",
    ),
    (
        "(--credential-env VAR)",
        "(the environment variable option of Add backend)",
    ),
    ("pass --workspace DIR", "set PORTCULLIS_WORKSPACE"),
    (
        "use --json to see the value exactly",
        "the table shows the value exactly",
    ),
    ("--format ", "the format "),
];

/// Where in the app a suggested `portcullis …` command is done, by its subcommand.
fn gui_place(command: &str) -> &'static str {
    let sub = command
        .trim_start_matches("portcullis")
        .split_whitespace()
        .next()
        .unwrap_or_default();
    match sub {
        "sync" => "“Sync” on the Backends page",
        "token" => "token triage (T)",
        "principals" | "explain" | "who-can" => "the Access map",
        "journal" => "the Journal page",
        "resume" | "revoke" => "the Incident page",
        "audit" => "the Audit page",
        "review" | "evidence" => "the Reviews page",
        "backend" => "the Backends page",
        "credentials" => "the Credentials page",
        _ => "the matching page",
    }
}

/// `message` with every suggested command (`` `portcullis sync openbao` ``) and CLI flag
/// replaced by the app's action for it.
pub fn gui_words(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find("`portcullis") {
        let Some(len) = rest[start + 1..].find('`') else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str(gui_place(&rest[start + 1..start + 1 + len]));
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    for (cli, gui) in GUI_WORDS {
        if out.contains(cli) {
            out = out.replace(cli, gui);
        }
    }
    out
}

/// Marks of text an HTTP client, a socket or a driver wrote, not Portcullis.
const RAW_MARKS: [&str; 10] = [
    "error sending request",
    "os error",
    "(Connect)",
    "client error",
    "hyper",
    "reqwest",
    "error trying to connect",
    "Retrying",
    "answered in",
    "tcp connect",
];

/// Whether a message is (or carries) a backend's or a library's raw error text.
pub fn is_raw(message: &str) -> bool {
    message.len() > 240 || RAW_MARKS.iter().any(|m| message.contains(m))
}

/// What failed and what to do, for an error whose own text is raw.
pub fn sentence(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Unreachable => "The backend could not be reached. Check that it is running and that its URL on the Backends page is right, then try again.",
        ErrorCode::Tls => "The secure connection to the backend failed. Check its certificate and the URL's scheme on the Backends page.",
        ErrorCode::Unauthorized => "The backend refused the console's credential. Replace it on the Backends page.",
        ErrorCode::Forbidden => "The backend refused: the console's credential lacks a right. “Check” on the Backends page names the rights it needs.",
        ErrorCode::RateLimited => "The backend asked Portcullis to slow down. Try again in a minute.",
        ErrorCode::Timeout => "The backend did not answer in time. Try again; if it keeps happening, check the backend's load.",
        ErrorCode::Malformed => "The backend answered something Portcullis cannot read. Check that the URL points at the right service.",
        ErrorCode::BackendError => "The backend failed while answering. Try again later, or look at its logs.",
        ErrorCode::Storage => "The local cache could not be read or written. Check the disk and try again.",
        _ => "The operation failed.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_flags_become_gui_actions() {
        // What the planner says of an OAuth 2.0 token (revoke/preview.rs).
        let engine = "the server revokes a token only by its value (RFC 7009), and Portcullis keeps only its SHA-256 fingerprint: \
             bring the token to triage (`portcullis token revoke --backend NAME`), or pass it to this run \
             (`--tokens-from FILE`, one token per line; it is matched by fingerprint and never stored)";
        let gui = gui_words(engine);
        assert!(!gui.contains("--") && !gui.contains("portcullis "), "{gui}");
        assert!(
            gui.contains("token triage (T)") && gui.contains("Token values"),
            "{gui}"
        );
        let gui = gui_words("a sign-off needs the reviewer's name (--reviewer NAME)");
        assert_eq!(
            gui,
            "a sign-off needs the reviewer's name (fill in “Reviewer”)"
        );
        let gui = gui_words(
            "it has expired: nothing to send (`portcullis sync openbao` refreshes the cache if you doubt it)",
        );
        assert_eq!(
            gui,
            "it has expired: nothing to send (“Sync” on the Backends page refreshes the cache if you doubt it)"
        );
        // A message without CLI words is left as it is; an unclosed backtick too.
        assert_eq!(gui_words("the token is empty"), "the token is empty");
        assert_eq!(gui_words("odd `portcullis"), "odd `portcullis");
    }

    #[test]
    fn raw_client_chains_are_told_apart_from_sentences() {
        assert!(is_raw("openbao: error sending request for url (http://127.0.0.1:1/v1/sys/health): client error (Connect): tcp connect error: Connection refused (os error 111)"));
        assert!(!is_raw(
            "the cache stayed busy with another writer; try again once it has finished"
        ));
        assert!(sentence(ErrorCode::Unreachable).contains("Backends page"));
    }
}
