//! `portcullis revoke` (named targets or `--select`, `--dry-run`, `--yes`), `portcullis resume`
//! and `portcullis journal [--verify] [--unfinished]`.
//!
//! Resumption happens in two places, on purpose: explicitly with `portcullis resume`, and at the
//! start of every `portcullis revoke` that sends something, so an incident interrupted by a crash
//! is finished before anything new is sent. A dry run only lists what is unfinished.
//!
//! With `--json`, `revoke` and `resume` print one receipt per item (an array of
//! `RevocationItemReport`, resumed items first), and `--dry-run` prints the plan.

use chrono::{Local, Utc};
use portcullis_engine::shell;
use portcullis_engine::{CancellationToken, EngineError, Workspace};
use portcullis_model::{
    IpcError, ItemState, Readiness, RevocationConfirmation, RevocationEvent, RevocationItemReport,
    RevocationOptions, RevocationPlan, RevocationReport, RevocationSelector, RevocationTarget,
    UnfinishedAction,
};
use secrecy::SecretString;
use std::io::{IsTerminal, Read};
use std::path::Path;
use std::process::ExitCode;

use crate::args::{ResumeArgs, RevokeArgs};
use crate::output::Output;

fn invalid(e: IpcError) -> EngineError {
    EngineError::InvalidInput(e.message)
}

/// Token values, one per line (blank lines and `#` comments skipped), from a file or stdin.
fn read_tokens(from: Option<&Path>) -> Result<Vec<SecretString>, EngineError> {
    let Some(path) = from else {
        return Ok(Vec::new());
    };
    let mut text = String::new();
    let what = if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .read_to_string(&mut text)
            .map_err(|source| EngineError::Io {
                what: "reading tokens from stdin".into(),
                source,
            })?;
        "stdin".to_string()
    } else {
        text = std::fs::read_to_string(path).map_err(|source| EngineError::Io {
            what: format!("reading tokens from {}", path.display()),
            source,
        })?;
        path.display().to_string()
    };
    let tokens: Vec<SecretString> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| SecretString::from(l.to_string()))
        .collect();
    if tokens.is_empty() {
        return Err(EngineError::InvalidInput(format!(
            "no token in {what}: one token per line"
        )));
    }
    Ok(tokens)
}

fn print_plan(plan: &RevocationPlan) {
    match &plan.selection {
        Some(sel) => outln!(
            "Plan for `{sel}`: {} action(s) to send, {} not sendable",
            plan.ready,
            plan.blocked
        ),
        None => outln!(
            "Plan: {} action(s) to send, {} not sendable",
            plan.ready,
            plan.blocked
        ),
    }
    for item in &plan.items {
        let head = match item.readiness {
            Readiness::Ready => "SEND".to_string(),
            other => format!("NOT SENT ({})", other.as_str().replace('_', " ")),
        };
        outln!("\n  {head}  {}", item.description);
        outln!("      key      {}", item.key);
        if item.is_ready() {
            outln!("      sends    {}", item.action);
            for w in &item.will {
                outln!("      will     {w}");
            }
            for w in &item.will_not {
                outln!("      won't    {w}");
            }
            outln!("      verify   {}", item.verify);
        } else if let Some(why) = &item.blocked_reason {
            outln!("      why      {why}");
        }
        for a in &item.alternatives {
            outln!("      instead  {a}");
        }
        for c in &item.collateral {
            outln!("      also     {} dies with it", c.description);
        }
    }
    for n in &plan.notes {
        outln!("\nnote: {n}");
    }
}

fn print_unfinished(list: &[UnfinishedAction]) {
    for u in list {
        errln!(
            "  #{} {} {} — last state {}: {}",
            u.seq,
            u.action,
            u.target,
            u.state.as_str(),
            u.note
        );
    }
}

fn print_item(r: &RevocationItemReport) {
    let detail = match (&r.state, &r.verification, &r.error) {
        (ItemState::Verified, Some(v), _) => format!("verified dead — {}", v.evidence),
        (_, _, Some(e)) => format!("{} [{}] {}", r.state.as_str(), e.code, e.message),
        _ => format!(
            "{}{}",
            r.state.as_str(),
            r.note
                .as_deref()
                .map(|n| format!(" — {n}"))
                .unwrap_or_default()
        ),
    };
    outln!("  {}: {detail}", r.target);
    if let Some(rec) = &r.receipt {
        for c in &rec.caveats {
            outln!("      note: {c}");
        }
    }
}

fn summary(r: &RevocationReport) -> String {
    let mut s = format!(
        "{} verified, {} confirmed (not proven), {} failed, {} skipped, {} covered by another item ({} ms)",
        r.verified, r.confirmed, r.failed, r.skipped, r.covered, r.elapsed_ms
    );
    if let Some(seq) = r.incident_seq {
        s.push_str(&format!("; journal incident #{seq}"));
    }
    if let Some(reason) = &r.reason {
        s.push_str(&format!("; reason: {reason}"));
    }
    s
}

/// Exit 0 only when something was sent and every sent item is proven dead.
fn exit_for(items: &[RevocationItemReport]) -> ExitCode {
    let sent = items.iter().filter(|i| i.journal_seq.is_some()).count();
    let bad = items
        .iter()
        .any(|i| matches!(i.state, ItemState::Failed | ItemState::Confirmed));
    if sent > 0 && !bad {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Live progress on stderr (humans only): one line per finished item.
fn progress_printer(json: bool) -> impl Fn(RevocationEvent) + Send + Sync {
    move |e: RevocationEvent| {
        if json {
            return;
        }
        if matches!(
            e.state,
            portcullis_model::JournalState::Verified | portcullis_model::JournalState::Failed
        ) {
            errln!(
                "[{}/{}] {} {} — {}",
                e.done,
                e.total,
                e.state.as_str(),
                e.target,
                e.message
            );
        }
    }
}

fn options(concurrency: u32) -> RevocationOptions {
    RevocationOptions {
        concurrency: concurrency.max(1),
        ..RevocationOptions::default()
    }
}

/// Resumes what an earlier run left open; returns the resumed items (empty when nothing was).
async fn resume_first(
    ws: &Workspace,
    tokens: &[SecretString],
    opts: &RevocationOptions,
    out: &Output,
) -> Result<Vec<RevocationItemReport>, EngineError> {
    let unfinished = ws.unfinished_revocations().await?;
    if unfinished.is_empty() {
        return Ok(Vec::new());
    }
    if !out.json {
        errln!(
            "Resuming {} unfinished action(s) of an interrupted run first:",
            unfinished.len()
        );
        print_unfinished(&unfinished);
    }
    let report = ws
        .resume_revocations(
            tokens,
            opts,
            &CancellationToken::new(),
            &progress_printer(out.json),
        )
        .await?;
    if !out.json {
        outln!("Resumed: {}", summary(&report));
        report.items.iter().for_each(print_item);
    }
    Ok(report.items)
}

pub async fn revoke(
    ws: &Workspace,
    args: RevokeArgs,
    out: &Output,
) -> Result<ExitCode, EngineError> {
    if args.include_grants && args.select.is_none() {
        return Err(EngineError::InvalidInput(
            "--include-grants widens a selection: use it with --select, or name grants as grant:BACKEND/FROM>TO".into(),
        ));
    }
    let tokens = read_tokens(args.tokens_from.as_deref())?;
    let plan = match &args.select {
        Some(text) => {
            let mut selector = RevocationSelector::parse(text, Utc::now(), *Local::now().offset())
                .map_err(invalid)?;
            selector.include_grants |= args.include_grants;
            ws.plan_incident(&selector, &tokens).await?
        }
        None => {
            let targets = args
                .targets
                .iter()
                .map(|t| RevocationTarget::parse(t))
                .collect::<Result<Vec<_>, _>>()
                .map_err(invalid)?;
            ws.plan_revocation(&targets, &tokens).await?
        }
    };

    if args.dry_run {
        let unfinished = ws.unfinished_revocations().await?;
        if out.json {
            out.json(&plan);
        } else {
            if !unfinished.is_empty() {
                errln!(
                    "{} unfinished action(s) of an interrupted run will be resumed before this one is sent:",
                    unfinished.len()
                );
                print_unfinished(&unfinished);
            }
            print_plan(&plan);
            if plan.ready > 0 {
                let yes = format!("--yes={}", plan.ready);
                let words: Vec<&str> = match &args.select {
                    Some(sel) => vec!["portcullis", "revoke", "--select", sel, &yes],
                    None => ["portcullis", "revoke"]
                        .into_iter()
                        .chain(args.targets.iter().map(String::as_str))
                        .chain(["--yes"])
                        .collect(),
                };
                outln!("\nNothing was sent. To send: {}", shell::suggestion(&words));
            } else {
                outln!("\nNothing was sent, and nothing here can be sent as is.");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }

    let confirmed = match args.yes {
        // --yes=N: the count must be the plan's.
        Some(n) if n > 0 => n,
        // A bare --yes is enough for targets the reviewer named one by one, not for a selection.
        Some(_) if args.select.is_none() => plan.ready,
        Some(_) => {
            return Err(EngineError::InvalidInput(format!(
                "the selection plans {} action(s): confirm with --yes={} (see them first with --dry-run); nothing was sent",
                plan.ready, plan.ready
            )))
        }
        None => {
            if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
                return Err(EngineError::InvalidInput(
                    "refusing to revoke without confirmation: pass --yes (--yes=N with --select, N from --dry-run); nothing was sent".into(),
                ));
            }
            print_plan(&plan);
            let answer = rpassword::prompt_password(format!(
                "\nType `{}` to send: ",
                plan.confirm_phrase
            ))
            .unwrap_or_default();
            match RevocationConfirmation::parse(&answer) {
                Some(c) => c.count,
                None => {
                    outln!("Nothing was sent.");
                    return Ok(ExitCode::from(1));
                }
            }
        }
    };
    if confirmed != plan.ready {
        return Err(EngineError::InvalidInput(format!(
            "you confirmed {confirmed} action(s) but the plan has {}: nothing was sent; run --dry-run again and confirm what it shows",
            plan.ready
        )));
    }

    let opts = options(args.concurrency);
    let mut items = resume_first(ws, &tokens, &opts, out).await?;
    let report = ws
        .execute_revocation(
            &plan,
            RevocationConfirmation::new(confirmed).because(args.reason.as_deref()),
            &tokens,
            &opts,
            &CancellationToken::new(),
            &progress_printer(out.json),
        )
        .await?;
    if !out.json {
        report.items.iter().for_each(print_item);
        outln!("{}", summary(&report));
    }
    items.extend(report.items);
    if out.json {
        out.json(&items);
    }
    Ok(exit_for(&items))
}

pub async fn resume(
    ws: &Workspace,
    args: ResumeArgs,
    out: &Output,
) -> Result<ExitCode, EngineError> {
    let tokens = match &args.tokens_from {
        Some(p) => read_tokens(Some(p))?,
        None => Vec::new(),
    };
    let opts = options(args.concurrency);
    let items = resume_first(ws, &tokens, &opts, out).await?;
    if out.json {
        out.json(&items);
    } else if items.is_empty() {
        outln!("Nothing to resume: every journalled action is finished.");
    }
    Ok(if items.is_empty() {
        ExitCode::SUCCESS
    } else {
        exit_for(&items)
    })
}

pub async fn journal(
    ws: &Workspace,
    verify: bool,
    unfinished: bool,
    out: &Output,
) -> Result<ExitCode, EngineError> {
    if verify {
        let v = ws.journal_verify().await?;
        if out.json {
            out.json(&v);
        } else {
            outln!("{} {}", if v.ok { "OK" } else { "BROKEN" }, v.message);
            if let Some(h) = &v.head {
                outln!("head {h}");
            }
        }
        return Ok(if v.ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    if unfinished {
        let list = ws.unfinished_revocations().await?;
        if out.json {
            out.json(&list);
        } else if list.is_empty() {
            outln!("Nothing unfinished: every journalled action reached verified or failed.");
        } else {
            let rows = list
                .into_iter()
                .map(|u| {
                    vec![
                        u.seq.to_string(),
                        u.action,
                        u.state.as_str().into(),
                        u.target,
                        if u.resumable {
                            "yes".into()
                        } else {
                            "no".into()
                        },
                        u.note,
                    ]
                })
                .collect();
            out.table(
                &["SEQ", "ACTION", "STATE", "TARGET", "RESUMABLE", "NOTE"],
                rows,
            );
            outln!("Finish them with `portcullis resume`.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let entries = ws.journal(0, i64::MAX).await?;
    if out.json {
        out.json(&entries);
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        outln!("The journal is empty: nothing has been revoked from this workspace.");
    }
    let rows = entries
        .into_iter()
        .map(|e| {
            vec![
                e.seq.to_string(),
                e.at.to_rfc3339(),
                e.actor,
                e.action,
                e.state.as_str().into(),
                e.target,
                e.action_seq.map(|s| format!("#{s}")).unwrap_or_default(),
                e.hash[..12].to_string(),
            ]
        })
        .collect();
    out.table(
        &[
            "SEQ", "AT", "ACTOR", "ACTION", "STATE", "TARGET", "OF", "HASH",
        ],
        rows,
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use crate::args::{Cli, Command};
    use clap::Parser;

    fn revoke_args(argv: &[&str]) -> crate::args::RevokeArgs {
        let mut all = vec!["portcullis", "revoke"];
        all.extend_from_slice(argv);
        match Cli::try_parse_from(all).unwrap().command {
            Command::Revoke(a) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn yes_takes_a_count_only_with_an_equals_sign() {
        let a = revoke_args(&["--yes", "12", "13"]);
        assert_eq!(a.yes, Some(0));
        assert_eq!(a.targets, vec!["12", "13"]);
        let a = revoke_args(&["--select", "principal=alice", "--yes=3"]);
        assert_eq!(a.yes, Some(3));
        assert!(revoke_args(&["12"]).yes.is_none());
    }

    #[test]
    fn targets_and_a_selection_exclude_each_other_and_one_is_needed() {
        let parse = |argv: &[&str]| {
            let mut all = vec!["portcullis", "revoke"];
            all.extend_from_slice(argv);
            Cli::try_parse_from(all)
        };
        assert!(parse(&[]).is_err());
        assert!(parse(&["12", "--select", "principal=alice"]).is_err());
        assert!(parse(&[
            "--select",
            "principal=alice",
            "--include-grants",
            "--dry-run"
        ])
        .is_ok());
    }
}
