//! `portcullis review …` and `portcullis evidence verify`: least-privilege reviews for terminals,
//! cron and CI. `review run --fail-on SEVERITY` exits 1 when a finding at or above it exists, so a
//! scheduler can alert on it; `evidence verify` exits 1 and names the file that does not match.

use portcullis_engine::review::{findings_csv, findings_html, verify_evidence};
use portcullis_engine::{current_actor, EngineError, Workspace};
use portcullis_model::{
    CampaignScope, DecisionInput, FindingsRun, NewCampaign, ReviewRequest, ReviewSettings,
};
use std::path::Path;
use std::process::ExitCode;

use crate::args::{CampaignCommand, ReviewRunArgs};
use crate::output::Output;

fn write_out(path: Option<&Path>, text: &str) -> Result<(), EngineError> {
    match path {
        Some(p) => portcullis_engine::private_fs::write_private(p, text.as_bytes()),
        None => {
            crate::term::write_data(text);
            Ok(())
        }
    }
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

fn print_run_table(run: &FindingsRun, out: &Output) {
    if run.findings.is_empty() {
        outln!(
            "No findings in the {}-day window for the rules in force.",
            run.window_days
        );
    } else {
        out.table(
            &[
                "SEVERITY",
                "RULE",
                "BACKEND",
                "PRINCIPAL",
                "SUBJECT",
                "FINDING",
            ],
            run.findings
                .iter()
                .map(|f| {
                    vec![
                        f.severity.as_str().to_string(),
                        f.rule.clone(),
                        f.backend.clone(),
                        f.principal.name.clone(),
                        short(&f.subject.label, 40),
                        short(&f.title, 70),
                    ]
                })
                .collect(),
        );
        outln!("{} findings.", run.findings.len());
    }
    for c in &run.coverage {
        for n in &c.notes {
            outln!("  {} ({}): {n}", c.backend, c.level.as_str());
        }
    }
}

pub async fn run(
    ws: &Workspace,
    args: ReviewRunArgs,
    out: &Output,
) -> Result<ExitCode, EngineError> {
    let req = ReviewRequest {
        window_days: args.window,
        backends: args.backends,
        principals: args.principals,
        rules: args.rules,
        as_of: None,
    };
    let run = ws.review_run(&req).await?;
    let format = if out.json {
        "json"
    } else {
        args.format.as_str()
    };
    let out_path = args.out.as_deref();
    match format {
        "json" => write_out(
            out_path,
            &(crate::term::json_line(&run)
                .map_err(|e| EngineError::Internal(format!("printing JSON: {e}")))?
                + "\n"),
        )?,
        "csv" => write_out(out_path, &findings_csv(&run))?,
        "html" => write_out(out_path, &findings_html(&run)?)?,
        _ => match out_path {
            Some(p) => {
                let text: String = run
                    .findings
                    .iter()
                    .map(|f| {
                        format!(
                            "{}\t{}\t{}\t{}\t{}\t{}\n",
                            f.severity.as_str(),
                            f.rule,
                            f.backend,
                            f.principal.name,
                            f.subject.label,
                            f.title
                        )
                    })
                    .collect();
                write_out(Some(p), &text)?;
            }
            None => print_run_table(&run, out),
        },
    }
    if let Some(dir) = &args.evidence {
        let m = ws.export_findings(&run, dir).await?;
        errln!(
            "evidence: {} files and manifest.json in {} (journal head {})",
            m.files.len(),
            dir.display(),
            m.journal_head.as_deref().unwrap_or("none")
        );
    }
    if let Some(min) = args.fail_on {
        let n = run.at_or_above(min);
        if n > 0 {
            errln!("{n} finding(s) at or above {}", min.as_str());
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn rules(ws: &Workspace, out: &Output) -> Result<ExitCode, EngineError> {
    let rules = ws.review_rules().await?;
    if out.json {
        out.json(&rules);
    } else {
        out.table(
            &["RULE", "SEVERITY", "ON", "PARAMETERS", "TITLE"],
            rules
                .iter()
                .map(|r| {
                    vec![
                        r.id.clone(),
                        r.severity.as_str().to_string(),
                        if r.enabled { "yes" } else { "no" }.to_string(),
                        r.params
                            .iter()
                            .map(|p| format!("{}={}", p.name, p.value))
                            .collect::<Vec<_>>()
                            .join(" "),
                        r.title.clone(),
                    ]
                })
                .collect(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn settings(
    ws: &Workspace,
    set_file: Option<&Path>,
    out: &Output,
) -> Result<ExitCode, EngineError> {
    if let Some(path) = set_file {
        let text = std::fs::read_to_string(path).map_err(|source| EngineError::Io {
            what: format!("reading {}", path.display()),
            source,
        })?;
        let settings: ReviewSettings = serde_json::from_str(&text).map_err(|e| {
            EngineError::InvalidInput(format!(
                "{} is not review settings JSON: {e} (print the current ones with `portcullis \
                 review settings`)",
                path.display()
            ))
        })?;
        ws.set_review_settings(&settings).await?;
        if !out.json {
            errln!("review settings saved");
        }
    }
    out.json(&ws.review_settings().await?);
    Ok(ExitCode::SUCCESS)
}

pub async fn campaign(
    ws: &Workspace,
    command: CampaignCommand,
    out: &Output,
) -> Result<ExitCode, EngineError> {
    match command {
        CampaignCommand::Create {
            name,
            backends,
            principals,
            rules,
            window,
            due,
        } => {
            let s = ws
                .campaign_create(&NewCampaign {
                    name,
                    scope: CampaignScope {
                        backends,
                        principals,
                        rules,
                        window_days: window,
                    },
                    due_at: due,
                })
                .await?;
            if out.json {
                out.json(&s);
            } else {
                outln!(
                    "campaign {} \"{}\" created with {} items. Next: portcullis review campaign show {}",
                    s.id, s.name, s.items, s.id
                );
            }
        }
        CampaignCommand::List => {
            let list = ws.campaigns().await?;
            if out.json {
                out.json(&list);
            } else if list.is_empty() {
                outln!("No campaigns yet. Start one: portcullis review campaign create NAME");
            } else {
                out.table(
                    &[
                        "ID", "NAME", "STATUS", "DECIDED", "KEEP", "REVOKE", "REDUCE", "CREATED",
                    ],
                    list.iter()
                        .map(|s| {
                            vec![
                                s.id.to_string(),
                                s.name.clone(),
                                s.status.as_str().to_string(),
                                format!("{}/{}", s.decided, s.items),
                                s.keep.to_string(),
                                s.revoke.to_string(),
                                s.reduce.to_string(),
                                s.created_at.format("%Y-%m-%d %H:%M").to_string(),
                            ]
                        })
                        .collect(),
                );
            }
        }
        CampaignCommand::Show { id, plan, drift } => {
            if plan {
                let p = ws.campaign_plan(id).await?;
                if out.json {
                    out.json(&p);
                } else {
                    out.table(
                        &[
                            "OPERATION",
                            "BACKEND",
                            "PRINCIPAL",
                            "TARGET",
                            "KEEP",
                            "TARGETS",
                        ],
                        p.steps
                            .iter()
                            .map(|s| {
                                vec![
                                    s.operation.clone(),
                                    s.backend.clone(),
                                    s.principal.clone(),
                                    short(&s.target.label, 40),
                                    s.keep.join(", "),
                                    s.targets
                                        .iter()
                                        .map(|t| t.to_string())
                                        .collect::<Vec<_>>()
                                        .join(" "),
                                ]
                            })
                            .collect(),
                    );
                }
                return Ok(ExitCode::SUCCESS);
            }
            if drift {
                out.json(&ws.campaign_drift(id).await?);
                return Ok(ExitCode::SUCCESS);
            }
            let c = ws.campaign(id).await?;
            if out.json {
                out.json(&c);
            } else {
                let s = &c.summary;
                outln!(
                    "campaign {} \"{}\": {}, {}/{} decided (keep {}, revoke {}, reduce {})",
                    s.id,
                    s.name,
                    s.status.as_str(),
                    s.decided,
                    s.items,
                    s.keep,
                    s.revoke,
                    s.reduce
                );
                out.table(
                    &[
                        "#",
                        "SEVERITY",
                        "RULE",
                        "BACKEND",
                        "PRINCIPAL",
                        "SUBJECT",
                        "DECISION",
                    ],
                    c.items
                        .iter()
                        .enumerate()
                        .map(|(i, it)| {
                            vec![
                                (i + 1).to_string(),
                                it.finding.severity.as_str().to_string(),
                                it.finding.rule.clone(),
                                it.finding.backend.clone(),
                                it.finding.principal.name.clone(),
                                short(&it.finding.subject.label, 40),
                                it.decision
                                    .as_ref()
                                    .map(|d| format!("{} ({})", d.verdict.as_str(), d.reviewer))
                                    .unwrap_or_else(|| "-".into()),
                            ]
                        })
                        .collect(),
                );
            }
        }
        CampaignCommand::Decide {
            id,
            items,
            all,
            rules,
            verdict,
            note,
            reviewer,
        } => {
            let c = ws.campaign(id).await?;
            let mut keys: Vec<String> = Vec::new();
            for it in &items {
                let key = match it.parse::<usize>() {
                    Ok(n) if n >= 1 && n <= c.items.len() => c.items[n - 1].finding.key.clone(),
                    Ok(n) => {
                        return Err(EngineError::InvalidInput(format!(
                            "campaign {id} has items 1 to {}, not {n}",
                            c.items.len()
                        )))
                    }
                    Err(_) => it.clone(),
                };
                keys.push(key);
            }
            for it in &c.items {
                let undecided = it.decision.is_none();
                if undecided && (all || rules.contains(&it.finding.rule)) {
                    keys.push(it.finding.key.clone());
                }
            }
            keys.dedup();
            let decisions: Vec<DecisionInput> = keys
                .into_iter()
                .map(|item_key| DecisionInput {
                    item_key,
                    verdict,
                    note: note.clone(),
                })
                .collect();
            let reviewer = reviewer.unwrap_or_else(current_actor);
            let n = decisions.len();
            let s = ws.campaign_decide(id, &reviewer, &decisions).await?;
            if out.json {
                out.json(&s);
            } else {
                outln!(
                    "{n} decision(s) recorded ({}). Campaign {id}: {}/{} decided.",
                    verdict.as_str(),
                    s.decided,
                    s.items
                );
            }
        }
        CampaignCommand::Signoff { id, reviewer } => {
            let reviewer = reviewer.unwrap_or_else(current_actor);
            let s = ws.campaign_sign_off(id, &reviewer).await?;
            if out.json {
                out.json(&s);
            } else {
                outln!(
                    "campaign {id} signed off by {reviewer}. Next: portcullis review campaign export {id} --out DIR"
                );
            }
        }
        CampaignCommand::Export { id, out: dir } => {
            let m = ws.export_campaign(id, &dir).await?;
            if out.json {
                out.json(&m);
            } else {
                outln!(
                    "exported campaign {id}: {} files and manifest.json in {} (journal head {}). \
                     Check it with: {}",
                    m.files.len(),
                    dir.display(),
                    m.journal_head.as_deref().unwrap_or("none"),
                    portcullis_engine::shell::suggestion(&[
                        "portcullis",
                        "evidence",
                        "verify",
                        &dir.to_string_lossy()
                    ])
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn verify(
    ws: &Workspace,
    dir: &Path,
    files_only: bool,
    out: &Output,
) -> Result<ExitCode, EngineError> {
    let v = if files_only {
        verify_evidence(dir)?
    } else {
        ws.verify_evidence_with_journal(dir).await?
    };
    if out.json {
        out.json(&v);
    } else {
        for f in &v.files {
            match &f.problem {
                None => outln!("ok       {}", f.name),
                Some(p) => outln!("MISMATCH {}: {p}", f.name),
            }
        }
        match v.journal_head_found {
            Some(true) => outln!(
                "journal head {} found in this workspace's journal",
                v.journal_head.as_deref().unwrap_or("")
            ),
            Some(false) => outln!(
                "journal head {} is NOT in this workspace's journal",
                v.journal_head.as_deref().unwrap_or("")
            ),
            None => {}
        }
        outln!("{}", v.message);
    }
    Ok(if v.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
