//! Reviews state: a findings run over a window, the campaigns, the open campaign, and the actions
//! on it (create, decide singly or in bulk, sign off, export). Each action reloads what it changed.

use portcullis_model::{
    Campaign, CampaignSummary, DecisionInput, EvidenceExport, FindingsRun, IpcError, NewCampaign,
    ReviewRequest,
};
use yew::platform::spawn_local;
use yew::prelude::*;

use super::access::{fill, Slot};
use super::Remote;
use crate::ipc;

/// Which action failed: its error is shown beside that action's control, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignAction {
    Create,
    Decide,
    SignOff,
}

#[derive(Clone, PartialEq)]
pub struct ReviewsHandle {
    pub findings: Slot<FindingsRun>,
    pub campaigns: Slot<Vec<CampaignSummary>>,
    pub campaign: Slot<Campaign>,
    pub export: Slot<EvidenceExport>,
    /// The last action's failure and which action it was, shown until the next action.
    pub action_error: UseStateHandle<Option<(CampaignAction, IpcError)>>,
    /// Runs the rules over a window of N days.
    pub run: Callback<u32>,
    pub open: Callback<i64>,
    pub create: Callback<NewCampaign>,
    /// (campaign, reviewer, decisions).
    pub decide: Callback<(i64, String, Vec<DecisionInput>)>,
    pub sign_off: Callback<(i64, String)>,
    pub export_evidence: Callback<i64>,
}

#[hook]
pub fn use_reviews(window_days: u32) -> ReviewsHandle {
    let findings = use_state(|| None);
    let campaigns = use_state(|| None);
    let campaign = use_state(|| None);
    let export = use_state(|| None);
    let action_error = use_state(|| None::<(CampaignAction, IpcError)>);
    let run = {
        let findings = findings.clone();
        Callback::from(move |days: u32| {
            let req = ReviewRequest {
                window_days: Some(days),
                ..ReviewRequest::default()
            };
            fill(&findings, async move { ipc::review_run(&req).await });
        })
    };
    {
        let (run, campaigns) = (run.clone(), campaigns.clone());
        use_effect_with(window_days, move |days| {
            run.emit(*days);
            fill(&campaigns, ipc::list_campaigns());
        });
    }
    let open = {
        let (campaign, export) = (campaign.clone(), export.clone());
        Callback::from(move |id: i64| {
            export.set(None);
            fill(&campaign, ipc::get_campaign(id));
        })
    };
    // After an action: show its error, or reload the list and the campaign it touched.
    let after = {
        let (campaigns, campaign, action_error) =
            (campaigns.clone(), campaign.clone(), action_error.clone());
        Callback::from(
            move |(action, r): (CampaignAction, Result<i64, IpcError>)| match r {
                Err(e) => action_error.set(Some((action, e))),
                Ok(id) => {
                    action_error.set(None);
                    fill(&campaigns, ipc::list_campaigns());
                    let campaign = campaign.clone();
                    spawn_local(async move {
                        campaign.set(Some(Remote::from_result(ipc::get_campaign(id).await)))
                    });
                }
            },
        )
    };
    let create = {
        let after = after.clone();
        Callback::from(move |new: NewCampaign| {
            let after = after.clone();
            spawn_local(async move {
                let r = ipc::create_campaign(&new).await.map(|s| s.id);
                after.emit((CampaignAction::Create, r));
            });
        })
    };
    let decide = {
        let after = after.clone();
        Callback::from(
            move |(id, reviewer, decisions): (i64, String, Vec<DecisionInput>)| {
                let after = after.clone();
                spawn_local(async move {
                    let r = ipc::decide_campaign(id, &reviewer, &decisions).await;
                    after.emit((CampaignAction::Decide, r.map(|s| s.id)));
                });
            },
        )
    };
    let sign_off = {
        let after = after.clone();
        Callback::from(move |(id, reviewer): (i64, String)| {
            let after = after.clone();
            spawn_local(async move {
                let r = ipc::sign_off_campaign(id, &reviewer).await.map(|s| s.id);
                after.emit((CampaignAction::SignOff, r));
            });
        })
    };
    let export_evidence = {
        let export = export.clone();
        Callback::from(move |id: i64| fill(&export, ipc::export_campaign(id)))
    };
    ReviewsHandle {
        findings,
        campaigns,
        campaign,
        export,
        action_error,
        run,
        open,
        create,
        decide,
        sign_off,
        export_evidence,
    }
}
