//! Lists and detail panels over the cache: credentials, principals, and why a credential's
//! principal holds each of its permissions.

use portcullis_model::{
    CredentialDetail, CredentialFilter, CredentialStatus, CredentialView, GrantPath, JournalEntry,
    JournalState, JournalledRevocation, PrincipalView,
};
use std::collections::{HashMap, HashSet, VecDeque};

use crate::{Result, Workspace};

impl Workspace {
    pub async fn credentials(&self, filter: &CredentialFilter) -> Result<Vec<CredentialView>> {
        Ok(self.store.list_credentials(filter).await?)
    }

    pub async fn principals(
        &self,
        backend: Option<&str>,
        search: Option<&str>,
    ) -> Result<Vec<PrincipalView>> {
        Ok(self.store.list_principals(backend, search).await?)
    }

    /// One credential with the grant paths of its principal and its recent events.
    pub async fn credential_detail(&self, id: i64) -> Result<CredentialDetail> {
        let credential = self.store.credential_by_id(id).await?;
        let row = self.store.backend_by_name(&credential.backend).await?;
        let edges = self.store.grant_edges(row.id).await?;
        let paths = match &credential.principal {
            Some(p) => grant_paths(p, &edges),
            None => Vec::new(),
        };
        let recent_events = self
            .store
            .events_for_credential(row.id, &credential.external_id, 50)
            .await?;
        // Only an ended credential has an ending to tell; a live one's journal is its history,
        // on the Journal page.
        let ended_by = if credential.status == CredentialStatus::Active {
            None
        } else {
            self.journalled_revocation(Some(credential.id), &[]).await?
        };
        Ok(CredentialDetail {
            credential,
            paths,
            recent_events,
            ended_by,
        })
    }

    /// The newest journalled revocation of cached credential `credential_id` or of a token
    /// journalled under one of `keys`, summed up for a person: its first entry, its last state,
    /// who, when, and what the backend was asked.
    pub async fn journalled_revocation(
        &self,
        credential_id: Option<i64>,
        keys: &[String],
    ) -> Result<Option<JournalledRevocation>> {
        let entries = self
            .store
            .journal_revocation_of(credential_id, keys)
            .await?;
        Ok(summarise_revocation(&entries))
    }
}

/// One action's journal entries (first = planned) as a [`JournalledRevocation`].
fn summarise_revocation(entries: &[JournalEntry]) -> Option<JournalledRevocation> {
    let (first, last) = (entries.first()?, entries.last()?);
    let receipt = entries
        .iter()
        .find(|e| e.state == JournalState::Confirmed)
        .and_then(|e| e.detail.get("action"))
        .and_then(|a| a.as_str())
        .map(str::to_string);
    let reason = first
        .detail
        .get("reason")
        .and_then(|r| r.as_str())
        .filter(|r| !r.trim().is_empty())
        .map(str::to_string);
    Some(JournalledRevocation {
        journal_seq: first.seq,
        state: last.state,
        at: last.at,
        actor: first.actor.clone(),
        receipt,
        reason,
    })
}

/// Breadth-first from a principal over grant edges: the shortest path to every permission it
/// reaches. Cycles (composite roles that contain each other) end because a node is visited once.
pub fn grant_paths(principal: &str, edges: &[(String, String, String, String)]) -> Vec<GrantPath> {
    let mut out_edges: HashMap<(&str, &str), Vec<(&str, &str)>> = HashMap::new();
    for (fk, fi, tk, ti) in edges {
        out_edges
            .entry((fk.as_str(), fi.as_str()))
            .or_default()
            .push((tk.as_str(), ti.as_str()));
    }
    let start = ("principal", principal);
    let mut seen: HashSet<(&str, &str)> = HashSet::from([start]);
    let mut queue = VecDeque::from([(start, vec![format!("principal {principal}")])]);
    let mut paths = Vec::new();
    while let Some((node, hops)) = queue.pop_front() {
        for next in out_edges.get(&node).into_iter().flatten() {
            if !seen.insert(*next) {
                continue;
            }
            let mut h = hops.clone();
            h.push(format!("{} {}", next.0, next.1));
            if next.0 == "permission" {
                paths.push(GrantPath {
                    permission: next.1.to_string(),
                    hops: h,
                });
            } else {
                queue.push_back((*next, h));
            }
        }
    }
    paths.sort_by(|a, b| a.permission.cmp(&b.permission));
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(a: &str, b: &str, c: &str, d: &str) -> (String, String, String, String) {
        (a.into(), b.into(), c.into(), d.into())
    }

    #[test]
    fn paths_go_through_groups_and_roles_and_survive_cycles() {
        let edges = vec![
            e("principal", "alice", "principal", "admins"),
            e("principal", "admins", "role", "ops"),
            e("role", "ops", "role", "base"),
            e("role", "base", "role", "ops"),
            e("role", "base", "permission", "read:x"),
            e("principal", "alice", "permission", "write:y"),
        ];
        let paths = grant_paths("alice", &edges);
        assert_eq!(paths.len(), 2);
        assert_eq!(
            paths[0].hops,
            vec![
                "principal alice",
                "principal admins",
                "role ops",
                "role base",
                "permission read:x"
            ]
        );
        assert_eq!(paths[1].hops, vec!["principal alice", "permission write:y"]);
    }
}
