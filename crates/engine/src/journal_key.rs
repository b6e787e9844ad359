//! Where the journal's seal lives outside the cache (see `store/src/journal_seal.rs` for what it
//! proves): the 32-byte key and the last recorded head, both in the OS keychain under the
//! journal's own id (`journal-key/<id>`, `journal-head/<id>`). A headless host without a
//! keychain gives the key in `PORTCULLIS_JOURNAL_KEY` (64 hex digits); it then has no recorded
//! head, and only evidence manifests pin one.
//!
//! Fetched once per process, lazily (the first journal write or check, never a plain search), and
//! bounded in time: a keychain that does not answer leaves the journal unsealed for this process
//! rather than hold up a revocation, and verification then says the entries are not sealed.

use portcullis_store::{JournalSeal, RecordedHead, JOURNAL_KEY_BYTES};
use std::time::Duration;

use crate::secrets::{blocking, KEYCHAIN_SERVICE};
use crate::{EngineError, Result, Workspace};

/// The environment variable that gives the journal key on a host without a keychain.
pub const JOURNAL_KEY_ENV: &str = "PORTCULLIS_JOURNAL_KEY";
/// The most a journal write waits for the keychain, once per process.
const KEYCHAIN_WAIT: Duration = Duration::from_secs(3);

type Key = [u8; JOURNAL_KEY_BYTES];

fn key_account(id: &str) -> String {
    format!("journal-key/{id}")
}

fn head_account(id: &str) -> String {
    format!("journal-head/{id}")
}

fn decode_key(hex_text: &str) -> Option<Key> {
    hex::decode(hex_text.trim()).ok()?.try_into().ok()
}

/// Reads a keychain entry: `Ok(None)` when there is none.
async fn read(account: String) -> Result<Option<String>> {
    let read = blocking(move || {
        match keyring::Entry::new(KEYCHAIN_SERVICE, &account).and_then(|e| e.get_password()) {
            Ok(v) => Ok(Some(v)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(EngineError::Keychain(e.to_string())),
        }
    });
    tokio::time::timeout(KEYCHAIN_WAIT, read)
        .await
        .map_err(|_| EngineError::Keychain("it did not answer within 3 s".into()))?
}

async fn write(account: String, value: String) -> Result<()> {
    let write = crate::secrets::store_in_keychain(account, value);
    tokio::time::timeout(KEYCHAIN_WAIT, write)
        .await
        .map_err(|_| EngineError::Keychain("it did not answer within 3 s".into()))?
}

impl Workspace {
    /// Gives the store the journal key and recorded head, once per process. Never fails: without
    /// a key the journal is written unsealed, and its verification says so.
    pub(crate) async fn ensure_journal_seal(&self) {
        self.journal_seal
            .get_or_init(|| async {
                let seal = self.load_journal_seal().await.unwrap_or_else(|e| {
                    tracing::warn!("the journal is not sealed in this run: {e}");
                    JournalSeal::default()
                });
                self.store.set_journal_seal(seal);
            })
            .await;
    }

    async fn load_journal_seal(&self) -> Result<JournalSeal> {
        // This crate's unit tests seal with a fixed key: they must not leave keys in the keychain
        // of the developer who runs them.
        if cfg!(test) {
            return Ok(JournalSeal::new(Some([0x5e; JOURNAL_KEY_BYTES]), None));
        }
        let id = self.store.journal_id().await?;
        if let Ok(text) = std::env::var(JOURNAL_KEY_ENV) {
            let key = decode_key(&text).ok_or_else(|| {
                EngineError::InvalidInput(format!(
                    "${JOURNAL_KEY_ENV} is not {JOURNAL_KEY_BYTES} bytes of hex"
                ))
            })?;
            return Ok(JournalSeal::new(Some(key), None));
        }
        let head = read(head_account(&id))
            .await?
            .and_then(|h| RecordedHead::decode(&h));
        let key = match read(key_account(&id)).await? {
            Some(text) => Some(decode_key(&text).ok_or_else(|| {
                EngineError::Keychain(format!(
                    "the entry {} is not a journal key",
                    key_account(&id)
                ))
            })?),
            None => self.make_journal_key(&id).await?,
        };
        Ok(JournalSeal::new(key, head))
    }

    /// A new key, kept in the keychain — only for a journal with no sealed entry yet: a new key
    /// could not check the old seals, and making one would hide that the old key is gone.
    async fn make_journal_key(&self, id: &str) -> Result<Option<Key>> {
        if self.store.journal_has_sealed_entries().await? {
            tracing::warn!(
                "the journal's key {} is missing from the keychain: new entries are not sealed",
                key_account(id)
            );
            return Ok(None);
        }
        let mut key: Key = [0; JOURNAL_KEY_BYTES];
        getrandom::getrandom(&mut key).map_err(|e| {
            EngineError::Internal(format!("no randomness for the journal key: {e}"))
        })?;
        write(key_account(id), hex::encode(key)).await?;
        Ok(Some(key))
    }

    /// Fetches the journal's key now, so the first revocation does not wait for the keychain
    /// (the desktop app calls this in the background as it opens).
    pub async fn prepare_journal_seal(&self) {
        self.ensure_journal_seal().await;
    }

    /// Records the journal's head outside the cache, after a run or a decision. A failure is
    /// logged, never returned: the work it follows is done and journalled.
    pub(crate) async fn record_journal_head(&self) {
        if self.store.journal_seal().key().is_none() || std::env::var_os(JOURNAL_KEY_ENV).is_some()
        {
            return;
        }
        let recorded = async {
            let Some(head) = self.store.journal_head_to_record().await? else {
                return Ok(());
            };
            let id = self.store.journal_id().await?;
            write(head_account(&id), head.encode()).await
        };
        if let Err(e) = recorded.await {
            tracing::warn!("cannot record the journal head outside the cache: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_exactly_32_bytes_of_hex() {
        assert_eq!(decode_key(&"ab".repeat(32)), Some([0xab; 32]));
        assert_eq!(
            decode_key(&format!(" {}\n", "01".repeat(32))),
            Some([1; 32])
        );
        assert!(decode_key(&"ab".repeat(31)).is_none());
        assert!(decode_key("not hex").is_none());
    }

    #[test]
    fn accounts_are_named_by_the_journal_id() {
        assert_eq!(key_account("0f0f"), "journal-key/0f0f");
        assert_eq!(head_account("0f0f"), "journal-head/0f0f");
    }
}
