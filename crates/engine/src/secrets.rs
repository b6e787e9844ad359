//! Where backend credentials live: the OS keychain (Secret Service on Linux) or, for headless
//! use, an environment variable whose *name* is stored. The value is fetched just before a
//! connector is built and held only in a `SecretString`.

use portcullis_model::CredentialRef;
use secrecy::SecretString;

use crate::{EngineError, Result};

/// The keychain service name all Portcullis entries live under.
pub const KEYCHAIN_SERVICE: &str = "portcullis";

pub fn keychain_account(backend: &str) -> String {
    format!("backend/{backend}")
}

fn keychain_error(e: keyring::Error) -> EngineError {
    EngineError::Keychain(e.to_string())
}

/// The keyring crate blocks on D-Bus; keep that off the async runtime's worker threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| EngineError::Internal(format!("keychain task: {e}")))?
}

pub async fn store_in_keychain(account: String, secret: String) -> Result<()> {
    blocking(move || {
        keyring::Entry::new(KEYCHAIN_SERVICE, &account)
            .and_then(|e| e.set_password(&secret))
            .map_err(keychain_error)
    })
    .await
}

pub async fn delete_from_keychain(account: String) -> Result<()> {
    blocking(move || {
        match keyring::Entry::new(KEYCHAIN_SERVICE, &account).and_then(|e| e.delete_credential()) {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keychain_error(e)),
        }
    })
    .await
}

/// Resolves a credential reference to the secret, or says precisely what is missing.
pub async fn resolve(backend: &str, cred: &CredentialRef) -> Result<Option<SecretString>> {
    match cred {
        CredentialRef::None => Ok(None),
        CredentialRef::Env { var } => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Some(SecretString::from(v))),
            _ => Err(EngineError::MissingCredential {
                backend: backend.to_string(),
                hint: format!("the environment variable ${var} is not set; export it before starting Portcullis"),
            }),
        },
        CredentialRef::Keychain { account } => {
            let account = account.clone();
            let name = backend.to_string();
            blocking(move || {
                match keyring::Entry::new(KEYCHAIN_SERVICE, &account).and_then(|e| e.get_password()) {
                    Ok(v) => Ok(Some(SecretString::from(v))),
                    Err(keyring::Error::NoEntry) => Err(EngineError::MissingCredential {
                        backend: name,
                        hint: format!(
                            "the keychain has no entry `{KEYCHAIN_SERVICE}` / `{account}`; remove and re-add the backend with its credential"
                        ),
                    }),
                    Err(e) => Err(keychain_error(e)),
                }
            })
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_model::ErrorCode;
    use secrecy::ExposeSecret;

    #[tokio::test]
    async fn env_credentials_resolve_by_name() {
        let var = "PORTCULLIS_TEST_SECRET_RESOLVE";
        std::env::set_var(var, "hunter2");
        let s = resolve("b", &CredentialRef::Env { var: var.into() })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.expose_secret(), "hunter2");
        std::env::remove_var(var);
        let err = resolve("b", &CredentialRef::Env { var: var.into() })
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::MissingCredential);
        assert!(err.to_string().contains(var));
    }
}
