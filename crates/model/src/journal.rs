//! The journal: every state-changing action, written before it is sent and updated after, as an
//! append-only hash chain a reviewer or auditor can verify.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalState {
    Planned,
    Sent,
    Confirmed,
    Verified,
    Failed,
}

impl JournalState {
    pub fn as_str(self) -> &'static str {
        match self {
            JournalState::Planned => "planned",
            JournalState::Sent => "sent",
            JournalState::Confirmed => "confirmed",
            JournalState::Verified => "verified",
            JournalState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<JournalState> {
        [
            JournalState::Planned,
            JournalState::Sent,
            JournalState::Confirmed,
            JournalState::Verified,
            JournalState::Failed,
        ]
        .into_iter()
        .find(|j| j.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub state: JournalState,
    /// The seq of the action's `planned` entry (None for that entry itself).
    pub action_seq: Option<i64>,
    pub detail: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The result of checking the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalVerification {
    pub entries: u64,
    pub ok: bool,
    /// Hash of the last entry: what an evidence manifest pins.
    pub head: Option<String>,
    /// The first entry whose hash or link does not hold.
    pub broken_at: Option<i64>,
    pub message: String,
    /// Entries sealed with the journal key (an HMAC a copy of the cache alone cannot forge).
    #[serde(default)]
    pub sealed: u64,
}
