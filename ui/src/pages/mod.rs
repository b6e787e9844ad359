//! One module per route. Pages take data from hooks and lay out components.

pub mod about;
pub mod access_map;
pub mod audit;
pub mod backends;
pub mod credentials;
pub mod incident;
pub mod journal;
pub mod overview;
pub mod reviews;
pub mod triage;
pub mod welcome;

use yew::prelude::*;

/// The page header every page shares.
#[derive(Properties, PartialEq)]
pub struct HeadProps {
    pub title: AttrValue,
    #[prop_or_default]
    pub subtitle: Option<AttrValue>,
    #[prop_or_default]
    pub children: Html,
}

#[component]
pub fn PageHead(props: &HeadProps) -> Html {
    html! {
        <header class="page-head">
            <div>
                <h1>{ props.title.clone() }</h1>
                if let Some(s) = &props.subtitle { <p class="sub">{ s.clone() }</p> }
            </div>
            <div class="actions">{ props.children.clone() }</div>
        </header>
    }
}
