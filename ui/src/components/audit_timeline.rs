//! The timeline of the current search: the engine's plotters histogram, with a transparent strip
//! of bucket targets laid over its plot area so the reviewer can pick a time range by dragging
//! across bars or clicking two of them.

use portcullis_model::AuditTimeline;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct TimelineProps {
    pub timeline: AuditTimeline,
    /// `(since, until)` in RFC 3339 for the picked buckets.
    pub on_range: Callback<(String, String)>,
}

#[component]
pub fn AuditTimelineChart(props: &TimelineProps) -> Html {
    let t = &props.timeline;
    // First bucket of a pick in progress (mouse down, or the first of two clicks), and the hover.
    let anchor = use_state(|| None::<usize>);
    let hover = use_state(|| None::<usize>);
    let n = t.buckets.len();
    let range_of = {
        let t = t.clone();
        move |a: usize, b: usize| {
            let (lo, hi) = (a.min(b), a.max(b));
            let step = chrono::Duration::seconds(t.bucket_seconds as i64);
            let since = t.buckets[lo].start;
            let until = t.buckets[hi].start + step;
            let fmt = |d: chrono::DateTime<chrono::Utc>| {
                d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            };
            (fmt(since), fmt(until))
        }
    };
    let cell = |i: usize| {
        let b = &t.buckets[i];
        let picked = match (*anchor, *hover) {
            (Some(a), Some(h)) => i >= a.min(h) && i <= a.max(h),
            (Some(a), None) => i == a,
            _ => false,
        };
        let on_down = {
            let (anchor, hover, on_range, range_of) = (
                anchor.clone(),
                hover.clone(),
                props.on_range.clone(),
                range_of.clone(),
            );
            Callback::from(move |e: MouseEvent| {
                e.prevent_default();
                match *anchor {
                    // The second of two clicks.
                    Some(a) if a != i => {
                        on_range.emit(range_of(a, i));
                        anchor.set(None);
                        hover.set(None);
                    }
                    _ => {
                        anchor.set(Some(i));
                        hover.set(Some(i));
                    }
                }
            })
        };
        let on_enter = {
            let (anchor, hover) = (anchor.clone(), hover.clone());
            Callback::from(move |e: MouseEvent| {
                // Dragging: the left button is held.
                if anchor.is_some() && e.buttons() & 1 == 1 {
                    hover.set(Some(i));
                }
            })
        };
        let on_up = {
            let (anchor, hover, on_range, range_of) = (
                anchor.clone(),
                hover.clone(),
                props.on_range.clone(),
                range_of.clone(),
            );
            Callback::from(move |_: MouseEvent| {
                // A drag that ended on another bucket picks the range at once; a plain click
                // leaves the anchor for a second click.
                if let Some(a) = *anchor {
                    if a != i {
                        on_range.emit(range_of(a, i));
                        anchor.set(None);
                        hover.set(None);
                    }
                }
            })
        };
        let title = format!("{} allowed, {} denied, {} errors", b.allow, b.deny, b.error);
        html! {
            <div class={classes!("tl-bucket", picked.then_some("picked"))} data-testid="timeline-bucket"
                 data-index={i.to_string()} data-total={b.total().to_string()} title={title}
                 onmousedown={on_down} onmouseenter={on_enter} onmouseup={on_up} />
        }
    };
    let hint = match *anchor {
        Some(_) => "Now click another bar to end the range.",
        None => "Drag across bars, or click two of them, to narrow the search to that time range.",
    };
    // The engine says where it drew the bars, in percent of its image.
    let a = t.plot_area;
    let overlay_style = format!(
        "left:{:.3}%;width:{:.3}%;top:{:.3}%;height:{:.3}%;",
        a.left, a.width, a.top, a.height
    );
    html! {
        <div class="audit-timeline" data-testid="audit-timeline" data-buckets={n.to_string()}>
            <div class="tl-frame">
                <div class="chart tl-chart">{ Html::from_html_unchecked(t.svg.clone().into()) }</div>
                if n > 0 {
                    <div class="tl-overlay" style={overlay_style}>{ for (0..n).map(cell) }</div>
                }
            </div>
            <p class="muted tl-hint">{ hint }</p>
        </div>
    }
}
