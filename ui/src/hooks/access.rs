//! Access map and review state: each question (explain, neighbourhood, who-can, why, matrix) is a
//! slot that is empty, loading, answered or failed; and one "revoke this target" flow (preview →
//! confirm → outcome) shared by the Access map's path rows and the Reviews page's findings.

use std::future::Future;

use portcullis_model::{
    AccessNode, AccessNodeKind, ExplainQuery, Explanation, Grant, IpcError, MatrixPage,
    MatrixQuery, Neighbourhood, NeighbourhoodQuery, NodeKind, RevocationPlanItem, RevocationTarget,
    WhoCanAnswer, WhoCanQuery, WhyAnswer,
};
use yew::platform::spawn_local;
use yew::prelude::*;

use super::credentials::Revocation;
use super::Remote;
use crate::ipc;

/// An answer slot: `None` until asked.
pub type Slot<T> = UseStateHandle<Option<Remote<T>>>;

/// Sets `slot` loading, then to the answer of `fut`.
pub fn fill<T: 'static>(slot: &Slot<T>, fut: impl Future<Output = Result<T, IpcError>> + 'static) {
    let slot = slot.clone();
    slot.set(Some(Remote::Loading));
    spawn_local(async move { slot.set(Some(Remote::from_result(fut.await))) });
}

/// The matrix page and the engine's heatmap of it.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixView {
    pub page: MatrixPage,
    pub svg: String,
}

#[derive(Clone, PartialEq)]
pub struct AccessHandle {
    pub explanation: Slot<Explanation>,
    pub graph: Slot<Neighbourhood>,
    pub who_can: Slot<WhoCanAnswer>,
    pub why: Slot<WhyAnswer>,
    pub matrix: Slot<MatrixView>,
    /// Explain a principal (name / id) and centre the graph on it.
    pub explain: Callback<String>,
    /// Centre the graph on a node id (expand on click).
    pub expand: Callback<String>,
    pub ask_who_can: Callback<(String, String)>,
    /// (principal node id, permission node id).
    pub ask_why: Callback<(String, String)>,
    pub load_matrix: Callback<MatrixQuery>,
}

/// Hops of the neighbourhood: principal → group → role → permission needs three.
const GRAPH_DEPTH: u32 = 3;

#[hook]
pub fn use_access() -> AccessHandle {
    let explanation = use_state(|| None);
    let graph = use_state(|| None);
    let who_can = use_state(|| None);
    let why = use_state(|| None);
    let matrix = use_state(|| None);
    let expand = {
        let graph = graph.clone();
        Callback::from(move |node: String| {
            let q = NeighbourhoodQuery {
                node,
                depth: Some(GRAPH_DEPTH),
                limit: Some(120),
            };
            fill(&graph, async move { ipc::access_neighbourhood(&q).await });
        })
    };
    let explain = {
        let (explanation, graph) = (explanation.clone(), graph.clone());
        Callback::from(move |subject: String| {
            let q = ExplainQuery {
                subject,
                max_paths: Some(4),
                reach_limit: Some(200),
                ..ExplainQuery::default()
            };
            let (explanation, graph) = (explanation.clone(), graph.clone());
            explanation.set(Some(Remote::Loading));
            spawn_local(async move {
                let answer = ipc::access_explain(&q).await;
                // Centre the graph on the first subject found.
                if let Ok(centre) = answer
                    .as_ref()
                    .map(|a| a.subjects.first().map(|s| s.subject.id.clone()))
                {
                    match centre {
                        Some(node) => {
                            let q = NeighbourhoodQuery {
                                node,
                                depth: Some(GRAPH_DEPTH),
                                limit: Some(120),
                            };
                            graph.set(Some(Remote::Loading));
                            graph.set(Some(Remote::from_result(
                                ipc::access_neighbourhood(&q).await,
                            )));
                        }
                        None => graph.set(None),
                    }
                }
                explanation.set(Some(Remote::from_result(answer)));
            });
        })
    };
    let ask_who_can = {
        let who_can = who_can.clone();
        Callback::from(move |(action, resource): (String, String)| {
            let q = WhoCanQuery {
                action,
                resource,
                ..WhoCanQuery::default()
            };
            fill(&who_can, async move { ipc::access_who_can(&q).await });
        })
    };
    let ask_why = {
        let why = why.clone();
        Callback::from(move |(p, perm): (String, String)| {
            fill(&why, async move { ipc::access_why(&p, &perm).await });
        })
    };
    let load_matrix = {
        let matrix = matrix.clone();
        Callback::from(move |q: MatrixQuery| {
            fill(&matrix, async move {
                let page = ipc::access_matrix(&q).await?;
                let svg = ipc::access_matrix_svg(&q, 560, 360).await?;
                Ok(MatrixView { page, svg })
            });
        })
    };
    AccessHandle {
        explanation,
        graph,
        who_can,
        why,
        matrix,
        explain,
        expand,
        ask_who_can,
        ask_why,
        load_matrix,
    }
}

/// The grant edge between two consecutive hops of a path, as a revocation target; `None` where
/// the hop is not a grant (a credential's link to its principal).
pub fn edge_target(from: &AccessNode, to: &AccessNode) -> Option<RevocationTarget> {
    fn kind(k: AccessNodeKind) -> Option<NodeKind> {
        match k {
            AccessNodeKind::Principal => Some(NodeKind::Principal),
            AccessNodeKind::Role => Some(NodeKind::Role),
            AccessNodeKind::Permission => Some(NodeKind::Permission),
            AccessNodeKind::Credential => None,
        }
    }
    if from.implied || to.implied || from.backend != to.backend {
        return None;
    }
    Some(RevocationTarget::Grant {
        backend: from.backend.clone(),
        grant: Grant {
            from_kind: kind(from.kind)?,
            from_id: from.external_id.clone(),
            to_kind: kind(to.kind)?,
            to_id: to.external_id.clone(),
        },
    })
}

/// One target being revoked: what the person asked for, the engine's preview, the outcome.
#[derive(Clone, PartialEq)]
pub struct TargetRevoke {
    /// The target and how the page names it ("alice → payments-readers").
    pub open: Option<(RevocationTarget, String)>,
    pub preview: Option<Result<RevocationPlanItem, IpcError>>,
    pub state: Option<Revocation>,
}

#[derive(Clone, PartialEq)]
pub struct TargetRevokeHandle {
    pub current: UseStateHandle<TargetRevoke>,
    pub start: Callback<(RevocationTarget, String)>,
    pub confirm: Callback<()>,
    pub close: Callback<()>,
}

#[hook]
pub fn use_target_revoke(on_done: Callback<()>) -> TargetRevokeHandle {
    let current = use_state(|| TargetRevoke {
        open: None,
        preview: None,
        state: None,
    });
    let start = {
        let current = current.clone();
        Callback::from(move |(target, label): (RevocationTarget, String)| {
            current.set(TargetRevoke {
                open: Some((target.clone(), label.clone())),
                preview: None,
                state: None,
            });
            let current = current.clone();
            spawn_local(async move {
                let preview = ipc::preview_target(&target).await;
                current.set(TargetRevoke {
                    open: Some((target, label)),
                    preview: Some(preview),
                    state: None,
                });
            });
        })
    };
    let confirm = {
        let current = current.clone();
        Callback::from(move |()| {
            let Some((target, _)) = current.open.clone() else {
                return;
            };
            let mut running = (*current).clone();
            running.state = Some(Revocation::Running);
            current.set(running.clone());
            let (current, on_done) = (current.clone(), on_done.clone());
            spawn_local(async move {
                let outcome = ipc::revoke_target(&target).await;
                running.state = Some(Revocation::Done(outcome));
                current.set(running);
                on_done.emit(());
            });
        })
    };
    let close = {
        let current = current.clone();
        Callback::from(move |()| {
            current.set(TargetRevoke {
                open: None,
                preview: None,
                state: None,
            })
        })
    };
    TargetRevokeHandle {
        current,
        start,
        confirm,
        close,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(backend: &str, kind: AccessNodeKind, ext: &str, implied: bool) -> AccessNode {
        AccessNode {
            id: format!("{backend}/{}/{ext}", kind.as_str()),
            backend: backend.into(),
            kind,
            external_id: ext.into(),
            label: ext.into(),
            principal_kind: None,
            enabled: None,
            resource: None,
            action: None,
            risk: None,
            implied,
        }
    }

    #[test]
    fn grant_edges_become_targets_and_other_hops_do_not() {
        let alice = node("postgres", AccessNodeKind::Principal, "alice", false);
        let group = node(
            "postgres",
            AccessNodeKind::Principal,
            "payments_readers",
            false,
        );
        let Some(RevocationTarget::Grant { backend, grant }) = edge_target(&alice, &group) else {
            panic!("a membership is a grant edge");
        };
        assert_eq!(backend, "postgres");
        assert_eq!(
            (grant.from_id.as_str(), grant.to_id.as_str()),
            ("alice", "payments_readers")
        );
        assert_eq!(grant.to_kind, NodeKind::Principal);
        let token = node("openbao", AccessNodeKind::Credential, "hmX", false);
        let bao = node("openbao", AccessNodeKind::Principal, "alice", false);
        assert!(
            edge_target(&token, &bao).is_none(),
            "a credential's link is not a grant"
        );
        let public = node("postgres", AccessNodeKind::Principal, "PUBLIC", true);
        assert!(
            edge_target(&alice, &public).is_none(),
            "implied edges cannot be revoked"
        );
        assert!(
            edge_target(&alice, &bao).is_none(),
            "no edge across backends"
        );
    }
}
