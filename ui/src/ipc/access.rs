//! The access map: explain, who-can, why, neighbourhood, matrix (+ the engine's heatmap SVG), and
//! revoking one named target (a grant edge from a path, or a finding's credential) after a preview.

use portcullis_model::{
    ExplainQuery, Explanation, IpcError, MatrixPage, MatrixQuery, Neighbourhood,
    NeighbourhoodQuery, RevocationOutcome, RevocationPlanItem, RevocationTarget, WhoCanAnswer,
    WhoCanQuery, WhyAnswer,
};
use serde::Serialize;

use super::{args, invoke};

#[derive(Serialize)]
struct Q<'a, T> {
    q: &'a T,
}

#[derive(Serialize)]
struct SvgArgs<'a> {
    q: &'a MatrixQuery,
    width: u32,
    height: u32,
}

#[derive(Serialize)]
struct WhyArgs<'a> {
    principal: &'a str,
    permission: &'a str,
}

#[derive(Serialize)]
struct TargetArg<'a> {
    target: &'a RevocationTarget,
}

pub async fn access_explain(q: &ExplainQuery) -> Result<Explanation, IpcError> {
    invoke("access_explain", args(&Q { q })?).await
}

pub async fn access_who_can(q: &WhoCanQuery) -> Result<WhoCanAnswer, IpcError> {
    invoke("access_who_can", args(&Q { q })?).await
}

pub async fn access_why(principal: &str, permission: &str) -> Result<WhyAnswer, IpcError> {
    invoke(
        "access_why",
        args(&WhyArgs {
            principal,
            permission,
        })?,
    )
    .await
}

pub async fn access_neighbourhood(q: &NeighbourhoodQuery) -> Result<Neighbourhood, IpcError> {
    invoke("access_neighbourhood", args(&Q { q })?).await
}

pub async fn access_matrix(q: &MatrixQuery) -> Result<MatrixPage, IpcError> {
    invoke("access_matrix", args(&Q { q })?).await
}

/// The heatmap the engine draws with plotters, as an SVG string.
pub async fn access_matrix_svg(
    q: &MatrixQuery,
    width: u32,
    height: u32,
) -> Result<String, IpcError> {
    invoke("access_matrix_svg", args(&SvgArgs { q, width, height })?).await
}

/// What revoking `target` will and will not do; nothing is sent.
pub async fn preview_target(target: &RevocationTarget) -> Result<RevocationPlanItem, IpcError> {
    invoke("preview_target", args(&TargetArg { target })?).await
}

/// Revokes `target`, then asks the backend to prove it gone.
pub async fn revoke_target(target: &RevocationTarget) -> Result<RevocationOutcome, IpcError> {
    invoke("revoke_target", args(&TargetArg { target })?).await
}
