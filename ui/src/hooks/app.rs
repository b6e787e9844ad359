//! The shell's facts about itself (version, workspace, whether it is a demo), and switching to
//! and from the demo organisation.

use portcullis_model::{AppInfo, IpcError};
use yew::platform::spawn_local;
use yew::prelude::*;

use super::Remote;
use crate::ipc;

#[hook]
pub fn use_app_info() -> UseStateHandle<Remote<AppInfo>> {
    let data = use_state(|| Remote::Loading);
    {
        let data = data.clone();
        use_effect_with((), move |_| {
            spawn_local(async move { data.set(Remote::from_result(ipc::app_info().await)) });
        });
    }
    data
}

/// Every page's data belongs to the workspace served: after a switch the UI starts afresh on the
/// Overview rather than showing one workspace's numbers under the other's label.
fn restart_on_overview() {
    if let Some(location) = web_sys::window().map(|w| w.location()) {
        let _ = location.set_hash("#/overview");
        let _ = location.reload();
    }
}

#[derive(Clone, PartialEq)]
pub enum DemoSwitch {
    Idle,
    Busy,
    Failed(IpcError),
}

#[derive(Clone, PartialEq)]
pub struct DemoHandle {
    pub state: UseStateHandle<DemoSwitch>,
    pub open: Callback<()>,
    pub leave: Callback<()>,
}

#[hook]
pub fn use_demo() -> DemoHandle {
    let state = use_state(|| DemoSwitch::Idle);
    let switch = |to_demo: bool| {
        let state = state.clone();
        Callback::from(move |()| {
            if *state == DemoSwitch::Busy {
                return;
            }
            state.set(DemoSwitch::Busy);
            let state = state.clone();
            spawn_local(async move {
                let result = if to_demo {
                    ipc::open_demo().await
                } else {
                    ipc::leave_demo().await
                };
                match result {
                    Ok(_) => restart_on_overview(),
                    Err(e) => state.set(DemoSwitch::Failed(e)),
                }
            });
        })
    };
    DemoHandle {
        open: switch(true),
        leave: switch(false),
        state,
    }
}
