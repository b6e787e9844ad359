//! Journal page state: every entry (read in chunks, oldest first, then shown newest first), the
//! filters kept in the URL, and the result of the last chain verification.

use portcullis_model::{IpcError, JournalEntry, JournalState, JournalVerification};
use yew::platform::spawn_local;
use yew::prelude::*;

use super::Remote;
use crate::ipc;
use crate::route::{href_with, Page};

/// Entries per page.
pub const PAGE_SIZE: usize = 100;
/// Entries per call to the shell while reading the whole journal.
const CHUNK: i64 = 500;

pub const STATES: [JournalState; 5] = [
    JournalState::Planned,
    JournalState::Sent,
    JournalState::Confirmed,
    JournalState::Verified,
    JournalState::Failed,
];

/// What the page shows, as the URL says it (`#/journal?q=alice&state=failed&seq=12`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JournalQuery {
    pub text: String,
    pub state: Option<JournalState>,
    /// The entry to show highlighted (a link to an action's first entry).
    pub seq: Option<i64>,
    /// 1-based; None: the page holding `seq`, else the first.
    pub page: Option<usize>,
}

impl JournalQuery {
    pub fn from_params(params: &[(String, String)]) -> Self {
        let mut q = JournalQuery::default();
        for (k, v) in params {
            match k.as_str() {
                "q" => q.text = v.clone(),
                "state" => q.state = JournalState::parse(v),
                "seq" => q.seq = v.parse().ok(),
                "page" => q.page = v.parse().ok().filter(|p| *p >= 1),
                _ => {}
            }
        }
        q
    }

    pub fn href(&self) -> String {
        href_with(
            Page::Journal,
            &[
                ("q", self.text.clone()),
                (
                    "state",
                    self.state
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                ),
                ("seq", self.seq.map(|s| s.to_string()).unwrap_or_default()),
                ("page", self.page.map(|p| p.to_string()).unwrap_or_default()),
            ],
        )
    }

    /// The link to one entry: no filter that could hide it, on whatever page holds it.
    pub fn entry(seq: i64) -> Self {
        JournalQuery {
            seq: Some(seq),
            ..Default::default()
        }
    }
}

/// Whether an entry passes the filters. The text matches the seq, actor, action, target, state,
/// hash prefix or anything in the detail (an error code, evidence, a caveat).
pub fn matches(e: &JournalEntry, text: &str, state: Option<JournalState>) -> bool {
    if state.is_some_and(|s| s != e.state) {
        return false;
    }
    let t = text.trim().to_lowercase();
    if t.is_empty() {
        return true;
    }
    let t = t.trim_start_matches('#');
    e.seq.to_string() == t
        || e.actor.to_lowercase().contains(t)
        || e.action.to_lowercase().contains(t)
        || e.target.to_lowercase().contains(t)
        || e.state.as_str() == t
        || e.hash.starts_with(t)
        || e.detail.to_string().to_lowercase().contains(t)
}

/// The entries the filters keep, newest first.
pub fn visible<'a>(entries: &'a [JournalEntry], q: &JournalQuery) -> Vec<&'a JournalEntry> {
    entries
        .iter()
        .rev()
        .filter(|e| matches(e, &q.text, q.state))
        .collect()
}

/// The page to show: the asked one, else the one holding the highlighted entry, else the first;
/// never past the last.
pub fn page_of(visible: &[&JournalEntry], q: &JournalQuery) -> usize {
    let pages = visible.len().div_ceil(PAGE_SIZE).max(1);
    let page = q.page.unwrap_or_else(|| {
        q.seq
            .and_then(|s| visible.iter().position(|e| e.seq == s))
            .map(|i| i / PAGE_SIZE + 1)
            .unwrap_or(1)
    });
    page.clamp(1, pages)
}

/// The last state of each action, by the seq of its first entry.
pub fn final_states(entries: &[JournalEntry]) -> std::collections::HashMap<i64, JournalState> {
    let mut out = std::collections::HashMap::new();
    for e in entries {
        out.insert(e.action_seq.unwrap_or(e.seq), e.state);
    }
    out
}

#[derive(Clone, PartialEq)]
pub struct JournalHandle {
    pub entries: UseStateHandle<Remote<Vec<JournalEntry>>>,
    /// None until the reviewer asks; Loading while the chain is checked.
    pub verification: UseStateHandle<Option<Remote<JournalVerification>>>,
    pub reload: Callback<()>,
    pub verify: Callback<()>,
}

async fn read_all() -> Result<Vec<JournalEntry>, IpcError> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let chunk = ipc::journal_entries(after, CHUNK).await?;
        let full = chunk.len() as i64 == CHUNK;
        match chunk.last() {
            Some(last) => after = last.seq,
            None => break,
        }
        all.extend(chunk);
        if !full {
            break;
        }
    }
    Ok(all)
}

/// The whole journal, reloaded when `revision` changes (something was revoked elsewhere).
#[hook]
pub fn use_journal(revision: u32) -> JournalHandle {
    let entries = use_state(|| Remote::Loading);
    let verification = use_state(|| None);
    let generation = use_state(|| 0u32);
    {
        let entries = entries.clone();
        use_effect_with((revision, *generation), move |_| {
            spawn_local(async move { entries.set(Remote::from_result(read_all().await)) });
        });
    }
    let reload = {
        let generation = generation.clone();
        Callback::from(move |()| generation.set(generation.wrapping_add(1)))
    };
    let verify = {
        let (verification, generation) = (verification.clone(), generation.clone());
        Callback::from(move |()| {
            let (verification, generation) = (verification.clone(), generation.clone());
            verification.set(Some(Remote::Loading));
            spawn_local(async move {
                verification.set(Some(Remote::from_result(ipc::verify_journal().await)));
                // Show the entries the verification covered.
                generation.set(generation.wrapping_add(1));
            });
        })
    };
    JournalHandle {
        entries,
        verification,
        reload,
        verify,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::json;

    fn entry(seq: i64, state: JournalState, action_seq: Option<i64>) -> JournalEntry {
        JournalEntry {
            seq,
            at: Utc::now(),
            actor: "ivan".into(),
            action: "revoke".into(),
            target: format!("openbao accessor acc{seq}"),
            state,
            action_seq,
            detail: json!({ "evidence": "lookup-accessor answered 400" }),
            prev_hash: "0".repeat(64),
            hash: format!("{seq:02}ab{}", "0".repeat(60)),
        }
    }

    #[test]
    fn filters_match_text_anywhere_and_state_exactly() {
        let e = entry(7, JournalState::Verified, Some(5));
        assert!(matches(&e, "", None));
        assert!(matches(&e, "#7", None));
        assert!(matches(&e, "ACC7", None));
        assert!(matches(&e, "answered 400", None));
        assert!(matches(&e, "07ab", None), "hash prefix");
        assert!(matches(&e, "ivan", Some(JournalState::Verified)));
        assert!(!matches(&e, "", Some(JournalState::Failed)));
        assert!(!matches(&e, "alice", None));
    }

    #[test]
    fn newest_first_and_the_linked_entry_picks_its_page() {
        let entries: Vec<JournalEntry> = (1..=250)
            .map(|s| entry(s, JournalState::Planned, None))
            .collect();
        let q = JournalQuery::default();
        let v = visible(&entries, &q);
        assert_eq!(v[0].seq, 250);
        assert_eq!(page_of(&v, &q), 1);
        let q = JournalQuery::entry(10);
        assert_eq!(page_of(&v, &q), 3, "seq 10 is the 241st newest");
        let q = JournalQuery {
            page: Some(99),
            ..JournalQuery::default()
        };
        assert_eq!(page_of(&v, &q), 3, "clamped to the last page");
        assert_eq!(page_of(&[], &JournalQuery::default()), 1);
    }

    #[test]
    fn url_round_trip_and_final_states() {
        let q = JournalQuery {
            text: "svc billing".into(),
            state: Some(JournalState::Failed),
            seq: Some(12),
            page: Some(2),
        };
        assert_eq!(
            JournalQuery::from_params(&crate::route::params(&q.href())),
            q
        );
        let entries = vec![
            entry(1, JournalState::Planned, None),
            entry(2, JournalState::Sent, Some(1)),
            entry(3, JournalState::Planned, None),
            entry(4, JournalState::Verified, Some(1)),
        ];
        let f = final_states(&entries);
        assert_eq!(f[&1], JournalState::Verified);
        assert_eq!(f[&3], JournalState::Planned);
    }
}
