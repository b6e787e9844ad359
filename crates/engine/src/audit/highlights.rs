//! Highlights: detectors over the audit trail, each a saved view (a named query the reviewer can
//! open, plus what the detector found, each finding with its own query).
//!
//! - denial bursts: at least [`Thresholds::burst_count`] denials of one actor within
//!   [`Thresholds::burst_window`];
//! - use after revocation: allowed events of a credential after the journal's `verified`
//!   revocation of it, or after its expiry (a revoked credential without a known time cannot be
//!   checked and is left out);
//! - new source address: a credential used from an address it did not use during its first
//!   [`Thresholds::learning`] of activity;
//! - dormant principals: an actor active again after [`Thresholds::dormancy`] of silence.

use chrono::{DateTime, Duration, Utc};
use portcullis_model::{AuditField, HighlightItem, HighlightKind, SavedView};
use portcullis_store::{key_time, parse_ts, time_key};
use std::collections::{BTreeMap, HashMap};

use crate::{Result, Workspace};

/// One source address of a credential: (address, events, first id, last id).
type Source = (String, u64, i64, i64);

/// Detector thresholds.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub burst_count: usize,
    pub burst_window: Duration,
    pub learning: Duration,
    pub dormancy: Duration,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            burst_count: 5,
            burst_window: Duration::minutes(5),
            learning: Duration::days(1),
            dormancy: Duration::days(30),
        }
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `since:first until:last+1ms`: the range of a finding, for its query.
fn range(first: DateTime<Utc>, last: DateTime<Utc>) -> String {
    format!(
        "since:{} until:{}",
        ts(first),
        ts(last + Duration::milliseconds(1))
    )
}

/// Runs of at least `count` ids (time keys, sorted) where each window of `count` consecutive
/// ones spans at most `window`; overlapping windows merge into one burst. Returns index ranges.
pub fn bursts(ids: &[i64], count: usize, window: Duration) -> Vec<(usize, usize)> {
    let count = count.max(2);
    let window_key = time_key(DateTime::<Utc>::UNIX_EPOCH + window);
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i + count <= ids.len() {
        let j = i + count - 1;
        if ids[j] - ids[i] <= window_key {
            match out.last_mut() {
                Some((_, end)) if *end >= i => *end = j,
                _ => out.push((i, j)),
            }
        }
        i += 1;
    }
    out
}

impl Workspace {
    /// Every detector with default thresholds.
    pub async fn audit_highlights(&self) -> Result<Vec<SavedView>> {
        let t = Thresholds::default();
        let mut views = Vec::new();
        for kind in HighlightKind::ALL {
            views.push(self.audit_highlight(kind, &t).await?);
        }
        Ok(views)
    }

    /// One detector.
    pub async fn audit_highlight(&self, kind: HighlightKind, t: &Thresholds) -> Result<SavedView> {
        let names: HashMap<i64, String> = self
            .store
            .backend_names()
            .await?
            .into_iter()
            .map(|(id, n, _)| (id, n))
            .collect();
        let name = |id: i64| names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
        let mut items = Vec::new();
        let view = match kind {
            HighlightKind::DenialBurst => {
                let rows = self.store.audit_denials(None).await?;
                let mut groups: BTreeMap<(i64, String), Vec<i64>> = BTreeMap::new();
                for (id, backend, actor) in rows {
                    groups.entry((backend, actor)).or_default().push(id);
                }
                for ((backend, actor), ids) in groups {
                    for (a, b) in bursts(&ids, t.burst_count, t.burst_window) {
                        let (first, last) = (key_time(ids[a]), key_time(ids[b]));
                        let n = (b - a + 1) as u64;
                        items.push(HighlightItem {
                            backend: name(backend),
                            subject: actor.clone(),
                            summary: format!(
                                "{n} denials for {actor} within {} s",
                                (last - first).num_seconds()
                            ),
                            count: n,
                            first_at: first,
                            last_at: last,
                            query: format!(
                                "{} {} outcome:deny {}",
                                AuditField::Backend.term(&name(backend)),
                                AuditField::Actor.term(&actor),
                                range(first, last)
                            ),
                        });
                    }
                }
                SavedView {
                    kind,
                    title: "Bursts of denials".into(),
                    description: format!(
                        "{} or more denials of one actor within {} minutes: probing, a broken deployment, or a revoked credential still in use.",
                        t.burst_count,
                        t.burst_window.num_minutes()
                    ),
                    query: "outcome:deny".into(),
                    items,
                }
            }
            HighlightKind::UsedAfterRevocation => {
                for (backend, backend_name, cred, principal, status, since) in
                    self.store.dead_credentials().await?
                {
                    let Some(since) = since.as_deref().and_then(parse_ts) else {
                        continue;
                    };
                    let (n, lo, hi) = self
                        .store
                        .allowed_uses_since(backend, &cred, time_key(since))
                        .await?;
                    let (Some(lo), Some(hi)) = (lo, hi) else {
                        continue;
                    };
                    let who = principal.unwrap_or_else(|| "unknown principal".into());
                    items.push(HighlightItem {
                        backend: backend_name.clone(),
                        subject: cred.clone(),
                        summary: format!(
                            "{status} credential of {who} allowed {n} time(s) after {}",
                            ts(since)
                        ),
                        count: n,
                        first_at: key_time(lo),
                        last_at: key_time(hi),
                        query: format!(
                            "{} {} outcome:allow since:{}",
                            AuditField::Backend.term(&backend_name),
                            AuditField::Credential.term(&cred),
                            ts(since)
                        ),
                    });
                }
                SavedView {
                    kind,
                    title: "Used after revocation".into(),
                    description: "Allowed events of a credential after its verified revocation (journal) or its expiry. A backend that still accepts a revoked credential needs attention now.".into(),
                    query: "outcome:allow".into(),
                    items,
                }
            }
            HighlightKind::NewSourceAddress => {
                let mut per_cred: BTreeMap<(i64, String), Vec<Source>> = BTreeMap::new();
                for (backend, cred, ip, n, lo, hi) in self.store.credential_sources().await? {
                    per_cred
                        .entry((backend, cred))
                        .or_default()
                        .push((ip, n, lo, hi));
                }
                let learning = time_key(DateTime::<Utc>::UNIX_EPOCH + t.learning);
                for ((backend, cred), mut sources) in per_cred {
                    if sources.len() < 2 {
                        continue;
                    }
                    sources.sort_by_key(|s| s.2);
                    let start = sources[0].2;
                    let known: Vec<String> = sources
                        .iter()
                        .filter(|s| s.2 - start <= learning)
                        .map(|s| s.0.clone())
                        .collect();
                    for (ip, n, lo, hi) in sources.iter().filter(|s| s.2 - start > learning) {
                        items.push(HighlightItem {
                            backend: name(backend),
                            subject: cred.clone(),
                            summary: format!(
                                "first use from {ip} (known before: {})",
                                known.join(", ")
                            ),
                            count: *n,
                            first_at: key_time(*lo),
                            last_at: key_time(*hi),
                            query: format!(
                                "{} {} {}",
                                AuditField::Backend.term(&name(backend)),
                                AuditField::Credential.term(&cred),
                                AuditField::Source.term(ip)
                            ),
                        });
                    }
                }
                SavedView {
                    kind,
                    title: "Credential used from a new address".into(),
                    description: format!(
                        "Allowed use of a credential from an address it did not use in its first {} hours of activity: a leaked token is often used from elsewhere.",
                        t.learning.num_hours()
                    ),
                    query: "outcome:allow".into(),
                    items,
                }
            }
            HighlightKind::DormantPrincipal => {
                for (actor, id, prev, backend) in self
                    .store
                    .actor_returns(t.dormancy.num_milliseconds())
                    .await?
                {
                    let (n, last) = self.store.actor_events_since(&actor, id).await?;
                    let back = key_time(id);
                    items.push(HighlightItem {
                        backend: name(backend),
                        subject: actor.clone(),
                        summary: format!(
                            "{actor} active again after {} days of silence (last seen {})",
                            (back - key_time(prev)).num_days(),
                            key_time(prev).format("%Y-%m-%d")
                        ),
                        count: n,
                        first_at: back,
                        last_at: key_time(last),
                        query: format!("{} since:{}", AuditField::Actor.term(&actor), ts(back)),
                    });
                }
                SavedView {
                    kind,
                    title: "Dormant principals active again".into(),
                    description: format!(
                        "An actor with no event for {} days or more that acts again: a forgotten account back in use deserves a look.",
                        t.dormancy.num_days()
                    ),
                    query: String::new(),
                    items,
                }
            }
        };
        let mut view = view;
        view.items
            .sort_by(|a, b| b.last_at.cmp(&a.last_at).then(a.subject.cmp(&b.subject)));
        Ok(view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key(secs: i64) -> i64 {
        time_key(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::seconds(secs))
    }

    #[test]
    fn bursts_merge_overlapping_windows_and_ignore_slow_trickles() {
        // 6 denials within 50 s, then one every 10 minutes, then 5 within a minute.
        let mut ids: Vec<i64> = (0..6).map(|i| key(i * 10)).collect();
        ids.extend((1..5).map(|i| key(1000 + i * 600)));
        ids.extend((0..5).map(|i| key(10_000 + i * 12)));
        let b = bursts(&ids, 5, Duration::minutes(5));
        assert_eq!(b, vec![(0, 5), (10, 14)]);
        assert!(bursts(&ids[..4], 5, Duration::minutes(5)).is_empty());
    }
}
