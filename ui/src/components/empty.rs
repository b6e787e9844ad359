//! Honest empty states: what this screen is for, and what to do now.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct EmptyProps {
    pub title: AttrValue,
    #[prop_or_default]
    pub children: Html,
    #[prop_or_default]
    pub testid: Option<AttrValue>,
}

#[component]
pub fn EmptyState(props: &EmptyProps) -> Html {
    html! {
        <div class="empty" data-testid={props.testid.clone().unwrap_or_else(|| "empty-state".into())}>
            <h2>{ props.title.clone() }</h2>
            { props.children.clone() }
        </div>
    }
}
