//! The journal's seal: what makes a rewritten or shortened journal detectable by someone who holds
//! only the cache files.
//!
//! A plain hash chain proves order, not authorship: whoever can write the file can edit an entry
//! and recompute every hash after it, or delete the tail. So each entry written while the journal
//! key is at hand is *sealed*: its hash is an HMAC-SHA-256 under a 32-byte key kept outside the
//! cache (the OS keychain, or `PORTCULLIS_JOURNAL_KEY` on a headless host; the engine fetches it),
//! and the head of the journal (seq and hash) is recorded outside the cache too, after every run.
//! Verification then fails when
//! - a sealed entry's HMAC does not match (edited, even with the chain recomputed);
//! - an entry after a sealed one is not sealed (rewritten without the key);
//! - the recorded head is not in the chain (entries removed from the end, or rewritten);
//! - a sealed entry is met and the key is not at hand (nothing can be vouched for).
//!
//! Entries written before sealing existed (or before the key was first made) stay plain SHA-256
//! links; the first sealed entry links to the last of them.

use hmac::{Hmac, Mac};
use portcullis_model::{JournalEntry, JournalVerification};
use sha2::{Digest, Sha256};
use std::sync::Arc;

use crate::{ts, Result, StoreError};

/// Length of the journal key.
pub const KEY_BYTES: usize = 32;

/// The last entry as recorded outside the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedHead {
    pub seq: i64,
    pub hash: String,
}

impl RecordedHead {
    /// `"<seq> <hash>"`, how it is kept in the keychain.
    pub fn encode(&self) -> String {
        format!("{} {}", self.seq, self.hash)
    }

    pub fn decode(s: &str) -> Option<RecordedHead> {
        let (seq, hash) = s.trim().split_once(' ')?;
        Some(RecordedHead {
            seq: seq.parse().ok()?,
            hash: hash.to_string(),
        })
    }
}

/// The key (if at hand) and the head recorded outside the cache (if any).
#[derive(Clone, Default)]
pub struct JournalSeal {
    key: Option<Arc<[u8; KEY_BYTES]>>,
    recorded_head: Option<RecordedHead>,
}

impl std::fmt::Debug for JournalSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalSeal")
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("recorded_head", &self.recorded_head)
            .finish()
    }
}

impl JournalSeal {
    pub fn new(key: Option<[u8; KEY_BYTES]>, recorded_head: Option<RecordedHead>) -> Self {
        JournalSeal {
            key: key.map(Arc::new),
            recorded_head,
        }
    }

    pub fn key(&self) -> Option<&[u8; KEY_BYTES]> {
        self.key.as_deref()
    }

    pub fn recorded_head(&self) -> Option<&RecordedHead> {
        self.recorded_head.as_ref()
    }

    pub(crate) fn set_recorded_head(&mut self, head: RecordedHead) {
        self.recorded_head = Some(head);
    }
}

/// What an entry's hash covers, in order.
pub(crate) struct Fields<'a> {
    pub prev: &'a str,
    pub seq: i64,
    pub at: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub state: &'a str,
    pub action_seq: Option<i64>,
    pub detail: &'a str,
}

/// SHA-256 of the fields (an unsealed entry), or HMAC-SHA-256 under `key` (a sealed one). Each
/// field ends with a NUL so that moving text from one field to the next changes the digest.
pub(crate) fn digest(key: Option<&[u8; KEY_BYTES]>, f: &Fields<'_>) -> Result<String> {
    let seq = f.seq.to_string();
    let action_seq = f.action_seq.map(|s| s.to_string()).unwrap_or_default();
    let parts = [
        f.prev,
        &seq,
        f.at,
        f.actor,
        f.action,
        f.target,
        f.state,
        &action_seq,
        f.detail,
    ];
    Ok(match key {
        None => {
            let mut h = Sha256::new();
            for p in parts {
                h.update(p.as_bytes());
                h.update([0u8]);
            }
            hex::encode(h.finalize())
        }
        Some(key) => {
            let mut m = Hmac::<Sha256>::new_from_slice(key).map_err(|e| StoreError::Corrupt {
                what: "journal key",
                detail: e.to_string(),
            })?;
            for p in parts {
                m.update(p.as_bytes());
                m.update(&[0u8]);
            }
            hex::encode(m.finalize().into_bytes())
        }
    })
}

/// Walks the journal in order and finds the first thing that does not hold.
pub(crate) struct ChainCheck<'a> {
    seal: &'a JournalSeal,
    prev: String,
    next_seq: i64,
    entries: u64,
    sealed: u64,
    head_seen: bool,
}

impl<'a> ChainCheck<'a> {
    pub fn new(seal: &'a JournalSeal) -> Self {
        ChainCheck {
            seal,
            prev: String::new(),
            next_seq: 1,
            entries: 0,
            sealed: 0,
            head_seen: false,
        }
    }

    /// Checks the next entry; `Some(problem)` ends the walk.
    pub fn entry(&mut self, e: &JournalEntry, sealed: bool) -> Result<Option<String>> {
        self.entries += 1;
        let detail = e.detail.to_string();
        let at = ts(e.at);
        let fields = Fields {
            prev: &self.prev,
            seq: e.seq,
            at: &at,
            actor: &e.actor,
            action: &e.action,
            target: &e.target,
            state: e.state.as_str(),
            action_seq: e.action_seq,
            detail: &detail,
        };
        let n = e.seq;
        let problem = if n != self.next_seq {
            Some(format!(
                "entry {n} follows {} (a gap: entries were removed)",
                self.next_seq - 1
            ))
        } else if e.prev_hash != self.prev {
            Some(format!("entry {n} does not link to the entry before it"))
        } else if sealed {
            match self.seal.key() {
                None => Some(format!(
                    "entry {n} is sealed, and the journal key is not at hand to check it (unlock the OS keychain, or set PORTCULLIS_JOURNAL_KEY)"
                )),
                Some(key) if digest(Some(key), &fields)? != e.hash => {
                    Some(format!("entry {n} was altered after it was written (its seal does not match)"))
                }
                Some(_) => None,
            }
        } else if self.sealed > 0 {
            Some(format!(
                "entry {n} is not sealed though entries before it are: it was written or rewritten without the journal key"
            ))
        } else if digest(None, &fields)? != e.hash {
            Some(format!("entry {n} was altered after it was written"))
        } else {
            None
        };
        if problem.is_none() {
            self.sealed += u64::from(sealed);
            self.head_seen |= self
                .seal
                .recorded_head()
                .is_some_and(|h| h.seq == n && h.hash == e.hash);
            self.prev = e.hash.clone();
            self.next_seq += 1;
        }
        Ok(problem)
    }

    /// The verdict once every entry passed, or at the first problem.
    pub fn finish(self, problem: Option<(i64, String)>) -> JournalVerification {
        let last = self.next_seq - 1;
        let problem = problem.or_else(|| self.head_problem(last));
        match problem {
            Some((at, message)) => JournalVerification {
                entries: self.entries,
                ok: false,
                head: None,
                broken_at: Some(at),
                message,
                sealed: self.sealed,
            },
            None => JournalVerification {
                entries: self.entries,
                ok: true,
                message: self.summary(),
                head: (!self.prev.is_empty()).then_some(self.prev),
                broken_at: None,
                sealed: self.sealed,
            },
        }
    }

    fn head_problem(&self, last: i64) -> Option<(i64, String)> {
        let head = self.seal.recorded_head()?;
        if self.head_seen {
            return None;
        }
        Some(if head.seq > last {
            (
                last + 1,
                format!(
                    "the journal ends at entry {last}, but entry {} was recorded outside the cache: entries were removed from its end",
                    head.seq
                ),
            )
        } else {
            (
                head.seq,
                format!(
                    "entry {} is not the one recorded outside the cache: the journal was rewritten",
                    head.seq
                ),
            )
        })
    }

    fn summary(&self) -> String {
        let (n, s) = (self.entries, self.sealed);
        if n == 0 {
            "the journal is empty".into()
        } else if s == n {
            format!("{n} entries, chain intact, all sealed")
        } else if s > 0 {
            format!(
                "{n} entries, chain intact; {s} sealed (the {} before them were written before the journal was sealed)",
                n - s
            )
        } else if self.seal.key().is_none() {
            format!("{n} entries, chain intact; not sealed: the journal key is not at hand (OS keychain unavailable; set PORTCULLIS_JOURNAL_KEY on a headless host)")
        } else {
            format!("{n} entries, chain intact; written before the journal was sealed")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewJournalEntry, Store};
    use portcullis_model::JournalState;

    const KEY: [u8; KEY_BYTES] = [7; KEY_BYTES];

    fn planned(target: &'static str) -> NewJournalEntry<'static> {
        NewJournalEntry {
            actor: "responder",
            action: "revoke",
            target,
            state: JournalState::Planned,
            action_seq: None,
            detail: serde_json::json!({"why": "incident 7"}),
        }
    }

    async fn sealed_store(n: usize) -> Store {
        let s = Store::in_memory().await.unwrap();
        s.set_journal_seal(JournalSeal::new(Some(KEY), None));
        for _ in 0..n {
            s.journal_append(planned("bao accessor a1")).await.unwrap();
        }
        s
    }

    async fn raw(s: &Store, sql: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&s.journal_pool)
            .await
            .unwrap();
    }

    /// What someone with the files but not the key can do: edit an entry and recompute every
    /// plain SHA-256 link after it, as the chain was before sealing.
    async fn rewrite_without_key(s: &Store, seq: i64, target: &str, mark_sealed: bool) {
        raw(s, "DROP TRIGGER journal_no_update").await;
        let entries = s.journal_entries(0, 1000).await.unwrap();
        let mut prev = entries
            .iter()
            .find(|e| e.seq == seq - 1)
            .map(|e| e.hash.clone())
            .unwrap_or_default();
        for e in entries.iter().filter(|e| e.seq >= seq) {
            let t = if e.seq == seq { target } else { &e.target };
            let (at, detail) = (ts(e.at), e.detail.to_string());
            let fields = Fields {
                prev: &prev,
                seq: e.seq,
                at: &at,
                actor: &e.actor,
                action: &e.action,
                target: t,
                state: e.state.as_str(),
                action_seq: e.action_seq,
                detail: &detail,
            };
            let hash = digest(None, &fields).unwrap();
            sqlx::query(
                "UPDATE journal SET target = ?, prev_hash = ?, hash = ?, sealed = ? WHERE seq = ?",
            )
            .bind(t)
            .bind(&prev)
            .bind(&hash)
            .bind(mark_sealed)
            .bind(e.seq)
            .execute(&s.journal_pool)
            .await
            .unwrap();
            prev = hash;
        }
    }

    #[tokio::test]
    async fn a_sealed_journal_verifies_with_its_key() {
        let s = sealed_store(3).await;
        let v = s.journal_verify().await.unwrap();
        assert!(v.ok, "{}", v.message);
        assert_eq!((v.entries, v.sealed), (3, 3));
        assert!(v.message.contains("all sealed"), "{}", v.message);
    }

    #[tokio::test]
    async fn a_rewrite_with_recomputed_hashes_is_caught() {
        for mark_sealed in [false, true] {
            let s = sealed_store(4).await;
            rewrite_without_key(&s, 2, "bao accessor innocent", mark_sealed).await;
            let v = s.journal_verify().await.unwrap();
            assert!(
                !v.ok,
                "a recomputed chain passed (sealed flag {mark_sealed})"
            );
            assert_eq!(v.broken_at, Some(2), "{}", v.message);
        }
    }

    #[tokio::test]
    async fn a_shortened_journal_is_caught_by_the_recorded_head() {
        let s = sealed_store(3).await;
        let head = s.journal_head_to_record().await.unwrap().unwrap();
        assert_eq!(head.seq, 3);
        raw(
            &s,
            "DROP TRIGGER journal_no_delete; DELETE FROM journal WHERE seq = 3",
        )
        .await;
        let v = s.journal_verify().await.unwrap();
        assert!(!v.ok);
        assert!(v.message.contains("removed from its end"), "{}", v.message);
        // A fresh process knows the head only from outside the cache: same verdict.
        s.set_journal_seal(JournalSeal::new(
            Some(KEY),
            RecordedHead::decode(&head.encode()),
        ));
        assert!(!s.journal_verify().await.unwrap().ok);
    }

    #[tokio::test]
    async fn sealed_entries_without_the_key_are_not_vouched_for() {
        let s = sealed_store(2).await;
        s.set_journal_seal(JournalSeal::new(None, None));
        let v = s.journal_verify().await.unwrap();
        assert!(!v.ok);
        assert!(v.message.contains("not at hand"), "{}", v.message);
        // And with the wrong key, the seals do not match.
        s.set_journal_seal(JournalSeal::new(Some([8; KEY_BYTES]), None));
        assert!(!s.journal_verify().await.unwrap().ok);
    }

    #[tokio::test]
    async fn entries_from_before_sealing_stay_plain_links() {
        let s = Store::in_memory().await.unwrap();
        s.journal_append(planned("old")).await.unwrap();
        s.set_journal_seal(JournalSeal::new(Some(KEY), None));
        s.journal_append(planned("new")).await.unwrap();
        let v = s.journal_verify().await.unwrap();
        assert!(v.ok, "{}", v.message);
        assert_eq!((v.entries, v.sealed), (2, 1));
        // An unsealed entry after a sealed one is not accepted.
        s.set_journal_seal(JournalSeal::new(None, None));
        s.journal_append(planned("keyless")).await.unwrap();
        s.set_journal_seal(JournalSeal::new(Some(KEY), None));
        let v = s.journal_verify().await.unwrap();
        assert_eq!((v.ok, v.broken_at), (false, Some(3)), "{}", v.message);
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let seal = JournalSeal::new(Some([0xAB; KEY_BYTES]), None);
        let text = format!("{seal:?}");
        assert!(
            !text.contains("171") && !text.to_lowercase().contains("ab, "),
            "{text}"
        );
        assert!(text.contains("redacted"), "{text}");
    }
}
