//! One module per route. Pages take data from hooks and lay out components.

pub mod access_map;
pub mod audit;
pub mod backends;
pub mod credentials;
pub mod incident;
pub mod journal;
pub mod overview;
pub mod reviews;

use yew::prelude::*;

use crate::components::EmptyState;

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

/// A page this version does not have yet: says what it will do and what to do meanwhile.
#[derive(Properties, PartialEq)]
pub struct PlannedProps {
    pub title: AttrValue,
    pub subtitle: AttrValue,
    /// What the page will let the reviewer do, one item per line.
    pub will: Vec<&'static str>,
    /// What the reviewer can do now.
    pub now: AttrValue,
}

#[component]
pub fn Planned(props: &PlannedProps) -> Html {
    html! {
        <>
            <PageHead title={props.title.clone()} subtitle={props.subtitle.clone()} />
            <EmptyState title="Not available in this version yet" testid="planned">
                <p>{ "When it arrives, this page will let you:" }</p>
                <ul>{ for props.will.iter().map(|w| html! { <li>{ *w }</li> }) }</ul>
                <p class="next"><strong>{ "What to do now: " }</strong>{ props.now.clone() }</p>
                <a class="button primary" href="#/backends">{ "Go to Backends" }</a>
            </EmptyState>
        </>
    }
}
