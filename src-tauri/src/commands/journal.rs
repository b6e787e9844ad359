//! Journal page: the append-only, hash-chained record of every change, and its verification.

use portcullis_model::{IpcError, JournalEntry, JournalVerification};

use super::Ws;

/// Up to `limit` entries after `after_seq`, oldest first (the page reads them in chunks).
#[tauri::command]
pub async fn journal_entries(
    ws: Ws<'_>,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<JournalEntry>, IpcError> {
    Ok(ws.get()?.journal(after_seq, limit).await?)
}

#[tauri::command]
pub async fn verify_journal(ws: Ws<'_>) -> Result<JournalVerification, IpcError> {
    Ok(ws.get()?.journal_verify().await?)
}
