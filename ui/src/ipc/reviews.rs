//! Reviews: findings runs and campaigns.
//!
//! Findings cite audit events by id, and those ids are time keys (~1.9e18) beyond the 2^53 a
//! JavaScript number holds exactly: the web view has already rounded them before Rust sees them,
//! so they would no longer decode as i64. The page never links by them (evidence is shown in
//! place), so [`zero_event_ids`] sets them to 0 rather than failing the whole answer, until the
//! model carries them as strings.

use portcullis_model::{
    Campaign, CampaignSummary, DecisionInput, ErrorCode, EvidenceExport, FindingsRun, IpcError,
    NewCampaign, ReviewRequest,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;

use super::{args, invoke};

/// Replaces every `event_id` that is not an exact integer by 0, anywhere in the answer.
fn zero_event_ids(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if k == "event_id" && val.is_number() && !val.is_i64() {
                    *val = serde_json::Value::from(0);
                } else {
                    zero_event_ids(val);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(zero_event_ids),
        _ => {}
    }
}

async fn invoke_with_events<T: DeserializeOwned>(cmd: &str, a: JsValue) -> Result<T, IpcError> {
    let mut v: serde_json::Value = invoke(cmd, a).await?;
    zero_event_ids(&mut v);
    serde_json::from_value(v).map_err(|e| {
        IpcError::new(
            ErrorCode::Internal,
            format!("the answer to `{cmd}` could not be read: {e}"),
        )
    })
}

#[derive(Serialize)]
struct ReqArg<'a> {
    req: &'a ReviewRequest,
}

#[derive(Serialize)]
struct IdArg {
    id: i64,
}

#[derive(Serialize)]
struct NewArg<'a> {
    new: &'a NewCampaign,
}

#[derive(Serialize)]
struct DecideArgs<'a> {
    id: i64,
    reviewer: &'a str,
    decisions: &'a [DecisionInput],
}

#[derive(Serialize)]
struct SignArgs<'a> {
    id: i64,
    reviewer: &'a str,
}

pub async fn review_run(req: &ReviewRequest) -> Result<FindingsRun, IpcError> {
    invoke_with_events("review_run", args(&ReqArg { req })?).await
}

pub async fn list_campaigns() -> Result<Vec<CampaignSummary>, IpcError> {
    invoke("list_campaigns", JsValue::UNDEFINED).await
}

pub async fn get_campaign(id: i64) -> Result<Campaign, IpcError> {
    invoke_with_events("get_campaign", args(&IdArg { id })?).await
}

pub async fn create_campaign(new: &NewCampaign) -> Result<CampaignSummary, IpcError> {
    invoke("create_campaign", args(&NewArg { new })?).await
}

pub async fn decide_campaign(
    id: i64,
    reviewer: &str,
    decisions: &[DecisionInput],
) -> Result<CampaignSummary, IpcError> {
    let a = args(&DecideArgs {
        id,
        reviewer,
        decisions,
    })?;
    invoke("decide_campaign", a).await
}

pub async fn sign_off_campaign(id: i64, reviewer: &str) -> Result<CampaignSummary, IpcError> {
    invoke("sign_off_campaign", args(&SignArgs { id, reviewer })?).await
}

pub async fn export_campaign(id: i64) -> Result<EvidenceExport, IpcError> {
    invoke("export_campaign", args(&IdArg { id })?).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounded_event_ids_are_zeroed_and_exact_ones_kept() {
        let mut v = serde_json::json!({
            "findings": [{"evidence": {"events": [{"event_id": 1.9e18}, {"event_id": 42}]}}]
        });
        zero_event_ids(&mut v);
        assert_eq!(v["findings"][0]["evidence"]["events"][0]["event_id"], 0);
        assert_eq!(v["findings"][0]["evidence"]["events"][1]["event_id"], 42);
    }
}
