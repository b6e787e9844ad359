//! Proof of death for many tokens at once.
//!
//! Verifying one revoked token is a `lookup-accessor` that must answer 400. After a bulk
//! revocation that is one request per token, and on OpenBao a lookup costs about as much server
//! time as listing forty accessors (measured on OpenBao 2.x with a file audit device: ~0.4 ms per
//! lookup, ~10 µs per listed key). So when enough tokens are to be verified for the backend's size,
//! one `LIST auth/token/accessors` answers for all of them: an accessor missing from the live list
//! belongs to a token the backend no longer holds (revoked, or expired meanwhile). The listing is
//! taken after every revocation in the batch was confirmed, so it cannot predate one.

use chrono::Utc;
use futures::{FutureExt, StreamExt};
use portcullis_model::Verification;
use std::collections::HashSet;

use super::Vault;
use crate::{Connector, ConnectorError, RevokeTarget, VerifyHint};

/// How many accessors cost as much to list as one lookup costs to answer.
const KEYS_PER_LOOKUP: usize = 40;
/// Below this many tokens, lookups are cheap enough whatever the backend's size.
const MIN_FOR_LISTING: usize = 16;
/// When the backend's size is unknown, list only for a batch this large: a listing of a very big
/// backend could cost more than the lookups it saves.
const MIN_FOR_BLIND_LISTING: usize = 256;

/// Whether one listing is cheaper than `tokens` lookups on a backend holding `live` tokens.
pub(crate) fn listing_pays(tokens: usize, live: Option<usize>) -> bool {
    if tokens < MIN_FOR_LISTING {
        return false;
    }
    match live {
        Some(live) => tokens.saturating_mul(KEYS_PER_LOOKUP) >= live,
        None => tokens >= MIN_FOR_BLIND_LISTING,
    }
}

/// The verdict on one accessor from the live listing.
pub(crate) fn verdict(accessor: &str, live: &HashSet<String>) -> Verification {
    let listed = live.len();
    if live.contains(accessor) {
        Verification {
            dead: false,
            evidence: format!(
                "auth/token/accessors still lists {accessor} among {listed} live tokens"
            ),
            at: Utc::now(),
        }
    } else {
        Verification {
            dead: true,
            evidence: format!(
                "auth/token/accessors no longer lists {accessor} (listed {listed} live tokens after the revocation)"
            ),
            at: Utc::now(),
        }
    }
}

impl Vault {
    pub(crate) async fn verify_many(
        &self,
        targets: &[RevokeTarget],
        hint: VerifyHint,
    ) -> Vec<Result<Verification, ConnectorError>> {
        let by_accessor = targets
            .iter()
            .filter(|t| matches!(t, RevokeTarget::Credential { .. }))
            .count();
        let live = if listing_pays(by_accessor, hint.live_credentials) {
            match self
                .list("auth/token/accessors", "list+sudo on auth/token/accessors")
                .await
            {
                // The console's own token is alive while it asks, so a true listing is never
                // empty; an empty one (a 404, a proxy in the way) proves nothing.
                Ok(keys) if !keys.is_empty() => Some(keys.into_iter().collect::<HashSet<String>>()),
                Ok(_) => {
                    tracing::debug!("the accessor listing came back empty; verifying one by one");
                    None
                }
                Err(e) => {
                    // Lookups prove the same thing one by one; only slower.
                    tracing::debug!("listing accessors failed, verifying one by one: {e}");
                    None
                }
            }
        } else {
            None
        };
        let live = live.as_ref();
        // Collected first: see the default `Connector::verify_revoked_many`.
        let answers: Vec<_> = targets
            .iter()
            .map(|t| {
                async move {
                    match (t, live) {
                        (RevokeTarget::Credential { external_id, .. }, Some(live)) => {
                            Ok(verdict(external_id, live))
                        }
                        _ => self.verify_revoked(t).await,
                    }
                }
                .boxed()
            })
            .collect();
        futures::stream::iter(answers)
            .buffered(hint.concurrency.max(1))
            .collect()
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_is_used_only_when_it_is_cheaper() {
        assert!(!listing_pays(10, Some(10)), "a few lookups are always fine");
        assert!(listing_pays(1_000, Some(3_000)));
        assert!(
            !listing_pays(32, Some(100_000)),
            "32 lookups beat a 100k listing"
        );
        assert!(listing_pays(3_000, Some(100_000)));
        assert!(!listing_pays(100, None));
        assert!(listing_pays(500, None));
    }

    #[test]
    fn an_accessor_missing_from_the_listing_is_dead() {
        let live: HashSet<String> = ["a1".to_string(), "a2".to_string()].into();
        assert!(!verdict("a1", &live).dead);
        let v = verdict("gone", &live);
        assert!(v.dead);
        assert!(
            v.evidence.contains("no longer lists gone"),
            "{}",
            v.evidence
        );
    }
}
