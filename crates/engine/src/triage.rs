//! Token triage: a responder pastes a token (or imports a file of them) and learns which backend
//! recognises it, what it is and what it can do. Only the fingerprint and metadata are kept; the
//! value lives in a `SecretString` for the duration of the call.

use futures::future::join_all;
use portcullis_model::{Credential, CredentialStatus, IpcError, SeenToken, TriageResult};
use secrecy::SecretString;

use crate::{EngineError, Result, Workspace};

/// How long triage waits to cache what a backend recognised. An import or a sync may hold the
/// cache's write lock for long; the responder's answer (and "Revoke now", which needs the held
/// token, not the cache) must not wait for it.
const TRIAGE_CACHE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl Workspace {
    /// Records a triaged credential in the cache if that can be done within
    /// [`TRIAGE_CACHE_WAIT`]; otherwise says so in the log and goes on (a cache, not a record: the
    /// next triage or sync finds it again).
    async fn cache_triaged(&self, backend_id: i64, backend: &str, credential: &Credential) {
        let write = self.store.upsert_triaged_credential(backend_id, credential);
        match tokio::time::timeout(TRIAGE_CACHE_WAIT, write).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(backend, "the triaged token was not cached: {e}");
            }
            Err(_) => tracing::warn!(
                backend,
                "the triaged token was not cached: the cache is busy (an import or a sync); its answer stands"
            ),
        }
    }

    /// Asks every backend that can look tokens up (or only `backend`) about `token`, and records
    /// what a backend recognises as a triaged credential.
    pub async fn triage_token(
        &self,
        token: &SecretString,
        backend: Option<&str>,
    ) -> Result<Vec<TriageResult>> {
        use secrecy::ExposeSecret;
        if token.expose_secret().trim().is_empty() {
            return Err(EngineError::InvalidInput("the token is empty".into()));
        }
        let rows = match backend {
            Some(name) => vec![self.store.backend_by_name(name).await?],
            None => self
                .store
                .list_backends()
                .await?
                .into_iter()
                .filter(|b| portcullis_connectors::capabilities_of(b.kind).token_lookup)
                .collect(),
        };
        if rows.is_empty() {
            return Err(EngineError::InvalidInput(
                "no backend can look tokens up: add an OAuth 2.0, Vault/OpenBao or Keycloak backend first".into(),
            ));
        }
        let fingerprint = portcullis_connectors::fingerprint(token.expose_secret());
        let lookups = rows.iter().map(|row| async move {
            let result = async {
                let connector = self.connector(row).await?;
                Ok::<_, EngineError>(connector.lookup_token(token).await?)
            }
            .await;
            (row, result)
        });
        let mut out = Vec::new();
        for (row, result) in join_all(lookups).await {
            match result {
                Ok(Some(mut info)) => {
                    info.backend = row.name.clone();
                    let credential = Credential {
                        external_id: info.cache_id().to_owned(),
                        kind: info.kind,
                        principal_external_id: info.subject.clone(),
                        client: info.client.clone(),
                        scopes: info.scopes.clone(),
                        issued_at: info.issued_at,
                        expires_at: info.expires_at,
                        last_used_at: None,
                        status: if info.active {
                            CredentialStatus::Active
                        } else {
                            CredentialStatus::Revoked
                        },
                        attrs: serde_json::json!({ "fingerprint": info.fingerprint, "source": "triage", "details": info.attrs }),
                    };
                    self.cache_triaged(row.id, &row.name, &credential).await;
                    let seen = if info.active {
                        None
                    } else {
                        self.seen_token(&row.name, &fingerprint).await
                    };
                    out.push(TriageResult {
                        backend: row.name.clone(),
                        backend_kind: row.kind,
                        token: Some(info),
                        error: None,
                        seen,
                    });
                }
                Ok(None) => out.push(TriageResult {
                    backend: row.name.clone(),
                    backend_kind: row.kind,
                    token: None,
                    error: None,
                    seen: self.seen_token(&row.name, &fingerprint).await,
                }),
                Err(e) => out.push(TriageResult {
                    backend: row.name.clone(),
                    backend_kind: row.kind,
                    token: None,
                    error: Some(IpcError::from(e)),
                    seen: self.seen_token(&row.name, &fingerprint).await,
                }),
            }
        }
        Ok(out)
    }

    /// What the cache and the journal remember of a token `backend` no longer knows as live: the
    /// credential recorded with its fingerprint and the revocation that ended it. A failure to
    /// read them costs the responder this history, never the backend's answer.
    pub async fn seen_token(&self, backend: &str, fingerprint: &str) -> Option<SeenToken> {
        let found = async {
            let Some(c) = self
                .store
                .credential_by_fingerprint(backend, fingerprint)
                .await?
            else {
                return Ok::<_, EngineError>(None);
            };
            let key = format!("{backend}:token:{fingerprint}");
            let revocation = self.journalled_revocation(Some(c.id), &[key]).await?;
            Ok(Some(SeenToken {
                credential_id: c.id,
                external_id: c.external_id,
                status: c.status,
                revocation,
            }))
        };
        match found.await {
            Ok(seen) => seen,
            Err(e) => {
                tracing::warn!(
                    backend,
                    "triage could not read what the cache knows of the token: {e}"
                );
                None
            }
        }
    }
}
