//! Registering, checking and removing backends.

use chrono::Utc;
use portcullis_connectors::{self as connectors, BackendConfig, DEFAULT_TIMEOUT};
use portcullis_model::{
    BackendInfo, CheckReport, CredentialRef, IpcError, NewBackend, NewCredential, Progress,
};
use portcullis_store::{BackendRow, CheckRecord};

use crate::secrets::{self, keychain_account};
use crate::{EngineError, Result, Workspace};

/// Backend names appear in commands and keychain entries: keep them short and shell-safe.
fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(EngineError::InvalidInput(format!(
            "backend name `{name}` must be 1–64 letters, digits, `-`, `_` or `.`, starting with a letter or digit"
        )))
    }
}

fn validate_env_var(var: &str) -> Result<()> {
    let ok = !var.is_empty()
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !var.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(EngineError::InvalidInput(format!(
            "`{var}` is not an environment variable name (letters, digits and `_`)"
        )))
    }
}

impl Workspace {
    async fn to_info(&self, row: BackendRow) -> Result<BackendInfo> {
        let last_sync = self.store.last_sync_run(row.id).await?;
        Ok(BackendInfo {
            id: row.id,
            capabilities: connectors::capabilities_of(row.kind),
            name: row.name,
            kind: row.kind,
            url: row.url,
            audit_log: row
                .config
                .get("audit_log")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            credential: row.credential_ref,
            created_at: row.created_at,
            last_check: row.last_check,
            last_sync,
        })
    }

    pub async fn list_backends(&self) -> Result<Vec<BackendInfo>> {
        let mut out = Vec::new();
        for row in self.store.list_backends().await? {
            out.push(self.to_info(row).await?);
        }
        Ok(out)
    }

    pub async fn backend(&self, name: &str) -> Result<BackendInfo> {
        let row = self.store.backend_by_name(name).await?;
        self.to_info(row).await
    }

    /// Registers a backend. A keychain secret is written to the keychain first and removed again
    /// if the backend cannot be recorded, so a failed add leaves nothing behind.
    pub async fn add_backend(&self, req: NewBackend) -> Result<BackendInfo> {
        validate_name(&req.name)?;
        let url = req.url.trim().to_string();
        // Building the connector validates the URL the way that kind needs it.
        connectors::build(BackendConfig {
            name: req.name.clone(),
            kind: req.kind,
            url: url.clone(),
            secret: None,
            timeout: DEFAULT_TIMEOUT,
            audit_log: None,
        })?;
        let credential_ref = match &req.credential {
            NewCredential::None => CredentialRef::None,
            NewCredential::Env { var } => {
                validate_env_var(var)?;
                CredentialRef::Env { var: var.clone() }
            }
            NewCredential::Keychain { secret } => {
                if secret.is_empty() {
                    return Err(EngineError::InvalidInput(
                        "the credential is empty; paste the secret or choose an environment variable".into(),
                    ));
                }
                if self.store.backend_by_name(&req.name).await.is_ok() {
                    return Err(portcullis_store::StoreError::Conflict {
                        what: "backend",
                        name: req.name.clone(),
                    }
                    .into());
                }
                let account = keychain_account(&req.name);
                secrets::store_in_keychain(account.clone(), secret.clone()).await?;
                CredentialRef::Keychain { account }
            }
        };
        let inserted = self
            .store
            .insert_backend(
                &req.name,
                req.kind,
                &url,
                &credential_ref,
                &serde_json::json!({ "audit_log": req.audit_log.as_deref().map(str::trim).filter(|p| !p.is_empty()) }),
            )
            .await;
        match inserted {
            Ok(row) => {
                tracing::info!(backend = %row.name, kind = %row.kind, "backend added");
                self.to_info(row).await
            }
            Err(e) => {
                if let CredentialRef::Keychain { account } = credential_ref {
                    let _ = secrets::delete_from_keychain(account).await;
                }
                Err(e.into())
            }
        }
    }

    /// Removes a backend, its cached data and its keychain entry.
    pub async fn remove_backend(&self, name: &str) -> Result<()> {
        let row = self.store.backend_by_name(name).await?;
        self.store.delete_backend(name).await?;
        if let CredentialRef::Keychain { account } = row.credential_ref {
            secrets::delete_from_keychain(account).await?;
        }
        tracing::info!(backend = %name, "backend removed");
        Ok(())
    }

    /// Checks reachability, identity and rights. Backend failures come back inside the report
    /// (`ok: false` with a coded error) so screens can show them in place; only a missing backend
    /// or a broken cache is an `Err`.
    pub async fn check_backend(&self, name: &str) -> Result<CheckReport> {
        let row = self.store.backend_by_name(name).await?;
        let outcome = self.run_check(&row).await;
        let mut report = match outcome {
            Ok(mut report) => {
                report.backend = row.name.clone();
                report
            }
            Err(e) => CheckReport {
                backend: row.name.clone(),
                ok: false,
                identity: None,
                server: None,
                credential_expires_at: None,
                rights: Vec::new(),
                latency_ms: 0,
                error: Some(IpcError::from(e)),
            },
        };
        let missing: Vec<String> = report
            .rights
            .iter()
            .filter(|r| !r.granted && !r.optional)
            .map(|r| r.right.clone())
            .collect();
        // A backend the console reaches but cannot read is not a passing check.
        report.ok &= missing.is_empty();
        let message = match (&report.error, missing.is_empty()) {
            (Some(e), _) => e.message.clone(),
            (None, true) => report
                .identity
                .clone()
                .unwrap_or_else(|| "reachable".into()),
            (None, false) => format!("reachable; missing rights: {}", missing.join(", ")),
        };
        self.store
            .record_check(
                row.id,
                &CheckRecord {
                    at: Utc::now(),
                    ok: report.ok,
                    message,
                },
            )
            .await?;
        Ok(report)
    }

    async fn run_check(&self, row: &BackendRow) -> Result<CheckReport> {
        Ok(self.connector(row).await?.check().await?)
    }

    /// Builds the connector of a registered backend, fetching its secret just in time.
    pub(crate) async fn connector(
        &self,
        row: &BackendRow,
    ) -> Result<Box<dyn connectors::Connector>> {
        let secret = secrets::resolve(&row.name, &row.credential_ref).await?;
        Ok(connectors::build(BackendConfig {
            name: row.name.clone(),
            kind: row.kind,
            url: row.url.clone(),
            secret,
            timeout: DEFAULT_TIMEOUT,
            audit_log: row
                .config
                .get("audit_log")
                .and_then(|v| v.as_str())
                .map(std::path::PathBuf::from),
        })?)
    }

    /// Checks every backend, reporting progress after each.
    pub async fn check_all(
        &self,
        on_progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Vec<CheckReport>> {
        let rows = self.store.list_backends().await?;
        let total = rows.len() as u64;
        let task = "check backends".to_string();
        on_progress(Progress::Started {
            task: task.clone(),
            total: Some(total),
        });
        let mut reports = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            on_progress(Progress::Advanced {
                task: task.clone(),
                done: i as u64,
                total: Some(total),
                message: format!("checking {}", row.name),
            });
            reports.push(self.check_backend(&row.name).await?);
        }
        let failed = reports.iter().filter(|r| !r.ok).count();
        on_progress(Progress::Finished {
            task,
            ok: failed == 0,
            message: format!("{} checked, {failed} failed", reports.len()),
        });
        Ok(reports)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_model::{BackendKind, ErrorCode};
    use std::sync::Mutex;

    async fn workspace() -> (tempfile::TempDir, Workspace) {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path()).await.unwrap();
        (dir, ws)
    }

    fn env_backend(name: &str, url: &str, var: &str) -> NewBackend {
        NewBackend {
            name: name.into(),
            kind: BackendKind::Vault,
            url: url.into(),
            credential: NewCredential::Env { var: var.into() },
            audit_log: None,
        }
    }

    #[tokio::test]
    async fn names_and_urls_are_validated() {
        let (_d, ws) = workspace().await;
        for bad in ["", "has space", "-dash", "a/b"] {
            let err = ws
                .add_backend(env_backend(bad, "http://127.0.0.1:1", "X"))
                .await
                .unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidInput, "{bad}");
        }
        let err = ws
            .add_backend(env_backend("ok", "not a url", "X"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        let err = ws
            .add_backend(env_backend("ok", "http://127.0.0.1:1", "1BAD"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        assert!(ws.list_backends().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn unreachable_backend_is_recorded_as_a_failed_check() {
        let (_d, ws) = workspace().await;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let var = "PORTCULLIS_TEST_UNREACHABLE_TOKEN";
        std::env::set_var(var, "t");
        ws.add_backend(env_backend("bao", &format!("http://127.0.0.1:{port}"), var))
            .await
            .unwrap();
        let seen = Mutex::new(Vec::new());
        let reports = ws
            .check_all(&|p| seen.lock().unwrap().push(p))
            .await
            .unwrap();
        assert_eq!(reports.len(), 1);
        assert!(!reports[0].ok);
        assert_eq!(
            reports[0].error.as_ref().map(|e| e.code),
            Some(ErrorCode::Unreachable)
        );
        let listed = ws.list_backends().await.unwrap();
        let check = listed[0].last_check.as_ref().unwrap();
        assert!(!check.ok);
        assert!(check.message.contains("unreachable"), "{}", check.message);
        let seen = seen.into_inner().unwrap();
        assert!(matches!(
            seen.first(),
            Some(Progress::Started { total: Some(1), .. })
        ));
        assert!(matches!(
            seen.last(),
            Some(Progress::Finished { ok: false, .. })
        ));
    }

    #[tokio::test]
    async fn missing_env_credential_is_reported_with_its_name() {
        let (_d, ws) = workspace().await;
        ws.add_backend(env_backend(
            "bao",
            "http://127.0.0.1:8200",
            "PORTCULLIS_TEST_NEVER_SET",
        ))
        .await
        .unwrap();
        let report = ws.check_backend("bao").await.unwrap();
        let err = report.error.unwrap();
        assert_eq!(err.code, ErrorCode::MissingCredential);
        assert!(err.message.contains("PORTCULLIS_TEST_NEVER_SET"));
    }

    #[tokio::test]
    async fn duplicate_and_unknown_names() {
        let (_d, ws) = workspace().await;
        ws.add_backend(env_backend("bao", "http://127.0.0.1:8200", "V"))
            .await
            .unwrap();
        let err = ws
            .add_backend(env_backend("bao", "http://127.0.0.1:8200", "V"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Conflict);
        assert_eq!(
            ws.remove_backend("nope").await.unwrap_err().code(),
            ErrorCode::NotFound
        );
        ws.remove_backend("bao").await.unwrap();
        assert!(ws.list_backends().await.unwrap().is_empty());
    }
}
