//! Audit data is data: hostile actor names reach the terminal escaped, the commands the CLI
//! suggests parse back, through a real POSIX shell, into exactly the intended arguments and run
//! nothing; a bad import costs a bounded report and a non-zero exit; Ctrl-C keeps its promise.
//! Offline: a Kubernetes backend reading manifests from files, audit lines imported.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../connectors/tests/fixtures/kubernetes")
}

fn cli(ws: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--workspace")
        .arg(ws)
        .args(args)
        .env_remove("PORTCULLIS_WORKSPACE")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(ws: &Path, args: &[&str]) -> Output {
    let out = cli(ws, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json_of(ws: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_slice(&ok(ws, &all).stdout).unwrap()
}

/// A workspace with a file-based Kubernetes backend `k8s`.
fn workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir(&manifests).unwrap();
    std::fs::copy(
        fixtures().join("k8s-docs-role-pod-reader.yaml"),
        manifests.join("role.yaml"),
    )
    .unwrap();
    let ws = dir.path().join("ws");
    let url = format!("file://{}/", manifests.display());
    ok(
        &ws,
        &[
            "backend",
            "add",
            "k8s",
            "--kind",
            "kubernetes",
            "--url",
            &url,
            "--no-credential",
        ],
    );
    (dir, ws)
}

/// An event id: a string in JSON (ids pass 2^53).
fn id_of(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// A denied Kubernetes request by `user` on secret `name`, `n` seconds into the minute.
fn denied(user: &str, name: &str, n: u32) -> String {
    let at = format!("2026-11-20T10:00:{n:02}.000000Z");
    json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": format!("{user}-{name}-{n}"), "stage": "ResponseComplete",
        "requestURI": format!("/api/v1/namespaces/default/secrets/{name}"), "verb": "get",
        "user": {"username": user}, "sourceIPs": ["10.0.0.9"],
        "objectRef": {"resource": "secrets", "namespace": "default", "name": name, "apiVersion": "v1"},
        "responseStatus": {"code": 403},
        "requestReceivedTimestamp": at, "stageTimestamp": at,
        "annotations": {"authorization.k8s.io/decision": "forbid", "authorization.k8s.io/reason": ""}
    })
    .to_string()
}

/// Imports six denials of each user (enough for a denial-burst highlight).
fn import_denials(dir: &Path, ws: &Path, users: &[&str], name: &str) {
    let mut text = String::new();
    for (u, user) in users.iter().enumerate() {
        for n in 0..6 {
            text.push_str(&denied(user, name, (u * 6) as u32 + n));
            text.push('\n');
        }
    }
    let file = dir.join("hostile.jsonl");
    std::fs::write(&file, text).unwrap();
    ok(
        ws,
        &[
            "audit",
            "import",
            "--format",
            "k8s",
            "--backend",
            "k8s",
            file.to_str().unwrap(),
        ],
    );
}

/// Every `portcullis audit search …` command in `text`, as the words after `portcullis`.
fn suggested(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            l.find("portcullis audit search ")
                .map(|i| l[i + "portcullis ".len()..].to_string())
        })
        .collect()
}

/// The arguments a POSIX shell makes of `words` (printf runs; nothing else should).
fn sh_words(cwd: &Path, words: &str) -> Vec<String> {
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("printf '%s\\0' {words}"))
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8(out.stdout).unwrap();
    s.split_terminator('\0').map(str::to_string).collect()
}

#[test]
fn suggested_commands_quote_hostile_values_for_a_real_shell() {
    let (dir, ws) = workspace();
    let d = dir.path();
    let marks = [d.join("m1"), d.join("m2"), d.join("m3")];
    let user = format!(
        "x'; touch {}; echo '$(touch {})`touch {}`\"",
        marks[0].display(),
        marks[1].display(),
        marks[2].display()
    );
    import_denials(d, &ws, &[&user], "db'; touch m1 #");
    let page = json_of(&ws, &["audit", "search", "backend:k8s"]);
    let id = id_of(&page["events"][0]["id"]);
    let detail = json_of(&ws, &["audit", "show", &id]);
    let highlights = json_of(&ws, &["audit", "highlights"]);
    let mut intended: Vec<String> = detail["pivots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["query"].as_str().unwrap().to_string())
        .collect();
    for view in highlights.as_array().unwrap() {
        for item in view["items"].as_array().unwrap() {
            intended.push(item["query"].as_str().unwrap().to_string());
        }
    }
    assert!(
        intended.iter().any(|q| q.contains("outcome:deny")),
        "a burst: {highlights}"
    );

    let shown = String::from_utf8(ok(&ws, &["audit", "show", &id]).stdout).unwrap()
        + &String::from_utf8(ok(&ws, &["audit", "highlights"]).stdout).unwrap();
    let commands = suggested(&shown);
    assert_eq!(commands.len(), intended.len(), "{shown}");
    for (words, query) in commands.iter().zip(&intended) {
        let want = ["audit", "search", query.as_str()];
        assert_eq!(sh_words(d, words), want, "{words}");
        assert_eq!(shlex::split(words).unwrap(), want, "{words}");
        // What the shell hands over is a query that finds the event again.
        let found = json_of(&ws, &["audit", "search", query]);
        assert!(!found["events"].as_array().unwrap().is_empty(), "{query}");
    }
    for m in &marks {
        assert!(!m.exists(), "{} was created", m.display());
    }
}

/// No C0 control but the newline, no DEL, no C1 control, no bidi override or isolate.
fn assert_terminal_safe(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| {
            (c < ' ' && c != '\n')
                || ('\u{7f}'..='\u{9f}').contains(&c)
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        })
        .collect();
    assert!(bad.is_empty(), "{what} printed {bad:?}:\n{text}");
}

#[test]
fn control_and_bidi_characters_reach_the_terminal_escaped() {
    let (dir, ws) = workspace();
    let user = "evil\u{1b}]0;owned\u{7}\u{1b}[2J\r\n\u{202e}gpj.exe\u{85}\t\u{7f}";
    import_denials(dir.path(), &ws, &[user], "s\u{1b}[31mred\u{2066}");
    let page = json_of(&ws, &["audit", "search", "backend:k8s"]);
    assert_eq!(page["events"][0]["actor"], user, "JSON keeps the value");
    let id = id_of(&page["events"][0]["id"]);
    let bad_query = "actor:\"\u{1b}[2Jx\u{7}\"";
    let runs: Vec<(&str, Vec<&str>)> = vec![
        ("search", vec!["audit", "search", "backend:k8s"]),
        ("show", vec!["audit", "show", &id]),
        ("highlights", vec!["audit", "highlights"]),
        ("no match", vec!["audit", "search", bad_query]),
        ("parse error", vec!["audit", "search", "actor:\"\u{1b}[2J"]),
        ("json show", vec!["--json", "audit", "show", &id]),
    ];
    for (what, args) in runs {
        let out = cli(&ws, &args);
        assert_terminal_safe(what, &out.stdout);
        assert_terminal_safe(what, &out.stderr);
    }
    let shown = String::from_utf8(ok(&ws, &["audit", "show", &id]).stdout).unwrap();
    assert!(shown.contains("evil\\x1b]0;owned\\x07"), "{shown}");
    assert!(shown.contains("\\u{202e}gpj.exe"), "{shown}");
    assert!(shown.contains("(no command suggested: "), "{shown}");
    assert!(
        suggested(&shown).iter().all(|c| !c.contains("actor:")),
        "{shown}"
    );
    // A value's own newline does not start a line of its own.
    let hl = String::from_utf8(ok(&ws, &["audit", "highlights"]).stdout).unwrap();
    assert!(
        hl.lines()
            .any(|l| l.starts_with("  - [k8s] evil\\x1b") && l.contains("\\x0d\\x0a\\u{202e}gpj")),
        "{hl}"
    );
    let json: Value =
        serde_json::from_slice(&ok(&ws, &["--json", "audit", "show", &id]).stdout).unwrap();
    assert_eq!(json["event"]["actor"], user, "--json stays valid and exact");
}

#[test]
fn an_import_of_garbage_fails_with_the_format_named_and_a_bounded_report() {
    let (dir, ws) = workspace();
    let garbage = dir.path().join("garbage.log");
    std::fs::write(&garbage, "GET / HTTP/1.1 200\n".repeat(50_000)).unwrap();
    let out = cli(
        &ws,
        &[
            "audit",
            "import",
            "--format",
            "k8s",
            "--backend",
            "k8s",
            garbage.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error[invalid_input]: nothing imported: no line of"),
        "{err}"
    );
    assert!(
        err.contains("--format k8s record (50000 rejected: 50000 invalid JSON"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    // One good line among the garbage: imported, and the report stays small.
    let mixed = dir.path().join("mixed.log");
    let text = denied("alice", "db", 1) + "\n" + &"not json\n".repeat(50_000);
    std::fs::write(&mixed, text).unwrap();
    let args = [
        "audit",
        "import",
        "--format",
        "k8s",
        "--backend",
        "k8s",
        mixed.to_str().unwrap(),
    ];
    let out = ok(&ws, &[&["--json"], &args[..]].concat());
    assert!(
        out.stdout.len() < 32 * 1024,
        "{} bytes of JSON",
        out.stdout.len()
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (r["imported"].as_u64(), r["rejected_total"].as_u64()),
        (Some(1), Some(50_000))
    );
    assert_eq!(r["duplicates"], 0);
    assert_eq!(r["rejected"].as_array().unwrap().len(), 100);
    let human = String::from_utf8(ok(&ws, &args).stdout).unwrap();
    assert!(
        human.contains("50000 invalid JSON") && human.contains("and 49900 more"),
        "{human}"
    );
    assert!(human.lines().count() < 120, "{human}");
}

/// An import reading a FIFO that this test holds open, with its stderr lines.
#[cfg(unix)]
struct FifoImport {
    child: std::process::Child,
    fifo: std::fs::File,
    stderr: std::io::Lines<std::io::BufReader<std::process::ChildStderr>>,
}

#[cfg(unix)]
impl FifoImport {
    fn start(dir: &Path, ws: &Path) -> FifoImport {
        use std::io::BufRead;
        let path = dir.join("fifo");
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let mut child = Command::new(BIN)
            .arg("--workspace")
            .arg(ws)
            .args(["audit", "import", "--format", "k8s", "--backend", "k8s"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        // Opening a FIFO for writing waits for its reader: the import has opened the file, so
        // its Ctrl-C handler (installed before) is in place.
        let fifo = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        FifoImport {
            child,
            fifo,
            stderr,
        }
    }

    fn interrupt(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: signalling our own child.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    }

    /// Reads stderr up to a line containing `what`.
    fn wait_for(&mut self, what: &str) {
        for line in self.stderr.by_ref() {
            if line.unwrap().contains(what) {
                return;
            }
        }
        panic!("stderr ended without `{what}`");
    }
}

#[cfg(unix)]
#[test]
fn first_ctrl_c_cancels_after_the_current_line_second_exits_130() {
    use std::io::{Read, Write};
    let (dir, ws) = workspace();
    // Graceful: the reader sees the cancellation at its next line, even of garbage.
    let mut run = FifoImport::start(dir.path(), &ws);
    writeln!(run.fifo, "garbage").unwrap();
    run.interrupt();
    run.wait_for("stopping after the current batch");
    // Wakes a reader still blocked in its read; one that already saw the cancellation between
    // lines has closed the FIFO, and the write then fails with EPIPE, which is just as good.
    let _ = writeln!(run.fifo, "more garbage");
    let status = run.child.wait().unwrap();
    let mut rest = String::new();
    for line in run.stderr.by_ref() {
        rest.push_str(&line.unwrap());
    }
    assert_eq!(status.code(), Some(3), "{rest}");
    assert!(rest.contains("error[cancelled]"), "{rest}");
    std::fs::remove_file(dir.path().join("fifo")).unwrap();

    // Stuck in a read that will never end: the second Ctrl-C ends it with 130.
    let mut run = FifoImport::start(dir.path(), &ws);
    run.interrupt();
    run.wait_for("stopping after the current batch");
    run.interrupt();
    let status = run.child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let mut out = String::new();
    run.child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(out.is_empty(), "{out}");
}

#[cfg(unix)]
#[test]
fn a_fifo_imports_as_a_stream() {
    use std::io::Write;
    let (dir, ws) = workspace();
    let mut run = FifoImport::start(dir.path(), &ws);
    for n in 0..3 {
        writeln!(run.fifo, "{}", denied("alice", "db", n)).unwrap();
    }
    drop(run.fifo);
    let out = run.child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(": 3 lines — 3 imported"), "{text}");
}
