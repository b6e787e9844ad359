//! The neighbourhood of a node as inline SVG, in layers a reviewer reads left to right:
//! credentials → people and services → groups → roles → permissions. No graph library: the layout
//! is a column per layer, nodes sorted by name, so the same question always draws the same picture.
//! Clicking a node asks the page to centre on it (expand); a path passed in is highlighted.

use std::collections::{HashMap, HashSet};

use portcullis_model::{AccessNode, AccessNodeKind, Neighbourhood, PrincipalKind};
use yew::prelude::*;

use super::copy::short;

const COL_W: f64 = 210.0;
const ROW_H: f64 = 28.0;
const NODE_W: f64 = 170.0;
const NODE_H: f64 = 20.0;
const TOP: f64 = 30.0;
/// Most nodes drawn per layer; the rest are counted under the column.
const PER_LAYER: usize = 24;

const LAYERS: [&str; 5] = [
    "Credentials",
    "Principals",
    "Groups",
    "Roles",
    "Permissions",
];

pub fn layer(n: &AccessNode) -> usize {
    match n.kind {
        AccessNodeKind::Credential => 0,
        AccessNodeKind::Principal if n.principal_kind == Some(PrincipalKind::Group) => 2,
        AccessNodeKind::Principal => 1,
        AccessNodeKind::Role => 3,
        AccessNodeKind::Permission => 4,
    }
}

#[derive(Properties, PartialEq)]
pub struct GraphProps {
    pub graph: Neighbourhood,
    /// Node ids of the path to highlight, in order.
    #[prop_or_default]
    pub highlight: Vec<String>,
    pub on_select: Callback<String>,
}

#[component]
pub fn AccessGraph(props: &GraphProps) -> Html {
    let g = &props.graph;
    let mut columns: [Vec<&AccessNode>; 5] = Default::default();
    for n in &g.nodes {
        columns[layer(&n.node)].push(&n.node);
    }
    for c in columns.iter_mut() {
        c.sort_by(|a, b| {
            (a.id != g.centre)
                .cmp(&(b.id != g.centre))
                .then(a.label.cmp(&b.label))
        });
    }
    let used: Vec<usize> = (0..5).filter(|i| !columns[*i].is_empty()).collect();
    let mut pos: HashMap<&str, (f64, f64)> = HashMap::new();
    let mut hidden = Vec::new();
    for (x_i, &l) in used.iter().enumerate() {
        for (y_i, n) in columns[l].iter().take(PER_LAYER).enumerate() {
            pos.insert(
                n.id.as_str(),
                (10.0 + x_i as f64 * COL_W, TOP + y_i as f64 * ROW_H),
            );
        }
        hidden.push((x_i, columns[l].len().saturating_sub(PER_LAYER)));
    }
    let rows = used
        .iter()
        .map(|l| columns[*l].len().min(PER_LAYER))
        .max()
        .unwrap_or(0);
    let width = (used.len().max(1) as f64) * COL_W;
    let height = TOP + (rows as f64 + 1.0) * ROW_H;
    let path_edges: HashSet<(&str, &str)> = props
        .highlight
        .windows(2)
        .map(|w| (w[0].as_str(), w[1].as_str()))
        .collect();
    let on_path: HashSet<&str> = props.highlight.iter().map(String::as_str).collect();
    let edges = g.edges.iter().filter_map(|e| {
        let (&(x1, y1), &(x2, y2)) = (pos.get(e.from.as_str())?, pos.get(e.to.as_str())?);
        let hot = path_edges.contains(&(e.from.as_str(), e.to.as_str()))
            || path_edges.contains(&(e.to.as_str(), e.from.as_str()));
        // Left to right whichever way the edge points, from a box's side to the other's.
        let ((ax, ay), (bx, by)) = if x1 <= x2 {
            ((x1 + NODE_W, y1), (x2, y2))
        } else {
            ((x2 + NODE_W, y2), (x1, y1))
        };
        let (ay, by) = (ay + NODE_H / 2.0, by + NODE_H / 2.0);
        let mid = (ax + bx) / 2.0;
        let d = if (ax - bx).abs() < 1.0 || bx < ax {
            format!("M{ax},{ay} C{},{ay} {},{by} {bx},{by}", ax + 30.0, bx + 30.0)
        } else {
            format!("M{ax},{ay} C{mid},{ay} {mid},{by} {bx},{by}")
        };
        Some(html! {
            <path d={d} class={classes!("g-edge", hot.then_some("hot"))} data-kind={e.kind.as_str()}>
                <title>{ format!("{} {} {}", e.from, e.kind.as_str().replace('_', " "), e.to) }</title>
            </path>
        })
    });
    let degree: HashMap<&str, u32> = g
        .nodes
        .iter()
        .map(|n| (n.node.id.as_str(), n.out_degree + n.in_degree))
        .collect();
    let nodes = g.nodes.iter().filter_map(|gn| {
        let n = &gn.node;
        let &(x, y) = pos.get(n.id.as_str())?;
        let id = n.id.clone();
        let onclick = props.on_select.reform(move |_: MouseEvent| id.clone());
        let class = classes!(
            "g-node",
            format!("k-{}", n.kind.as_str()),
            (n.id == g.centre).then_some("centre"),
            on_path.contains(n.id.as_str()).then_some("hot"),
            (n.enabled == Some(false)).then_some("disabled"),
            n.implied.then_some("implied"),
        );
        let more = degree.get(n.id.as_str()).copied().unwrap_or(0) > 1 && n.id != g.centre;
        let label = format!("{}{}", short(&n.label, 24), if more { " ⊕" } else { "" });
        Some(html! {
            <g class={class} transform={format!("translate({x},{y})")} onclick={onclick}
               data-testid="graph-node" data-node={n.id.clone()} data-kind={n.kind.as_str()}>
                <title>{ format!("{} ({}, {}) — click to centre the map here", n.label, n.kind.as_str(), n.backend) }</title>
                <rect width={NODE_W.to_string()} height={NODE_H.to_string()} rx="4" />
                <text x="6" y="14">{ label }</text>
            </g>
        })
    });
    let heads = used.iter().enumerate().map(|(x_i, l)| {
        html! { <text class="g-head" x={(10.0 + x_i as f64 * COL_W).to_string()} y="16">{ LAYERS[*l] }</text> }
    });
    let more = hidden.iter().filter(|(_, n)| *n > 0).map(|(x_i, n)| {
        html! {
            <text class="g-more" x={(10.0 + *x_i as f64 * COL_W).to_string()}
                  y={(TOP + PER_LAYER as f64 * ROW_H + 14.0).to_string()}>
                { format!("+{n} more (centre on a node to see its own)") }
            </text>
        }
    });
    html! {
        <div class="access-graph" data-testid="access-graph">
            <svg width={width.to_string()} height={height.max(80.0).to_string()}
                 viewBox={format!("0 0 {width} {}", height.max(80.0))} role="img"
                 aria-label={format!("Access graph around {}", g.centre)}>
                { for edges }
                { for nodes }
                { for heads }
                { for more }
            </svg>
            if g.truncated {
                <p class="muted">{ "Only the nearest nodes are drawn: click a node to centre on it." }</p>
            }
        </div>
    }
}
