//! Overview data: loaded once per visit, reloadable.

use portcullis_model::Overview;
use yew::platform::spawn_local;
use yew::prelude::*;

use super::Remote;
use crate::ipc;

#[derive(Clone, PartialEq)]
pub struct OverviewHandle {
    pub data: UseStateHandle<Remote<Overview>>,
    pub reload: Callback<()>,
}

#[hook]
pub fn use_overview() -> OverviewHandle {
    let data = use_state(|| Remote::Loading);
    let generation = use_state(|| 0u32);
    {
        let data = data.clone();
        use_effect_with(*generation, move |_| {
            spawn_local(async move { data.set(Remote::from_result(ipc::overview().await)) });
        });
    }
    let reload = {
        let generation = generation.clone();
        Callback::from(move |()| generation.set(generation.wrapping_add(1)))
    };
    OverviewHandle { data, reload }
}
