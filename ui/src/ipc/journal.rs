//! The journal: read its entries, verify its hash chain.

use portcullis_model::{IpcError, JournalEntry, JournalVerification};
use serde::Serialize;
use wasm_bindgen::JsValue;

use super::{args, invoke};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageArgs {
    after_seq: i64,
    limit: i64,
}

/// Up to `limit` entries with a sequence number above `after_seq`, oldest first.
pub async fn journal_entries(after_seq: i64, limit: i64) -> Result<Vec<JournalEntry>, IpcError> {
    invoke("journal_entries", args(&PageArgs { after_seq, limit })?).await
}

pub async fn verify_journal() -> Result<JournalVerification, IpcError> {
    invoke("verify_journal", JsValue::UNDEFINED).await
}
