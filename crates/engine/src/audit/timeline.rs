//! The timeline of a search: events per time bucket and outcome, and the same drawn as an SVG
//! histogram (plotters). Buckets come straight from the time-key ids (`id >> 20` is the epoch
//! millisecond), so no timestamp text is parsed per event.

use chrono::{DateTime, Duration, TimeZone, Utc};
use plotters::prelude::*;
use portcullis_model::{AuditTimeline, Outcome, PlotArea, TimelineBucket};
use portcullis_store::{key_time, time_key};

use crate::{EngineError, Result, Workspace};

/// Bucket widths a timeline picks from, in seconds.
const WIDTHS: [i64; 17] = [
    1, 5, 15, 30, 60, 300, 900, 1_800, 3_600, 10_800, 21_600, 43_200, 86_400, 604_800, 2_592_000,
    7_776_000, 31_536_000,
];

/// The narrowest width giving at most `max_buckets` buckets over `span_ms`.
fn pick_width(span_ms: i64, max_buckets: u32) -> i64 {
    let max = i64::from(max_buckets.max(1));
    WIDTHS
        .iter()
        .copied()
        .find(|w| span_ms / (w * 1000) <= max)
        .unwrap_or(WIDTHS[WIDTHS.len() - 1])
}

fn at_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Dense buckets from `first` to `last` (bucket indexes), zeros where nothing happened.
fn fill(
    counts: &[(i64, Outcome, u64)],
    first: i64,
    last: i64,
    width_ms: i64,
) -> Vec<TimelineBucket> {
    let n = (last - first + 1).clamp(0, 100_000) as usize;
    let mut out: Vec<TimelineBucket> = (0..n)
        .map(|i| TimelineBucket {
            start: at_ms((first + i as i64) * width_ms),
            allow: 0,
            deny: 0,
            error: 0,
        })
        .collect();
    for (b, o, c) in counts {
        if let Some(bucket) = usize::try_from(b - first).ok().and_then(|i| out.get_mut(i)) {
            match o {
                Outcome::Allow => bucket.allow += c,
                Outcome::Deny => bucket.deny += c,
                Outcome::Error => bucket.error += c,
            }
        }
    }
    out
}

impl Workspace {
    /// Events matching `query` per time bucket (at most `max_buckets`, 60 when 0), over the
    /// query's `since:`/`until:` range or else the span of the matching events.
    pub async fn audit_timeline(&self, query: &str, max_buckets: u32) -> Result<AuditTimeline> {
        let max_buckets = if max_buckets == 0 {
            60
        } else {
            max_buckets.min(2_000)
        };
        let r = self.resolve_audit_query(query).await?;
        let range = match (r.query.since, r.query.until) {
            (Some(s), Some(u)) => Some((s, u)),
            (s, u) => self.store.audit_id_range(&r.filter).await?.map(|(lo, hi)| {
                (
                    s.unwrap_or_else(|| key_time(lo)),
                    u.unwrap_or_else(|| key_time(hi) + Duration::milliseconds(1)),
                )
            }),
        };
        let Some((from, to)) = range.filter(|(f, t)| f < t) else {
            let now = Utc::now();
            let (svg, plot_area) = timeline_svg(&[], 0, "no events match this search")?;
            return Ok(AuditTimeline {
                from: now,
                to: now,
                bucket_seconds: 0,
                buckets: Vec::new(),
                svg,
                plot_area,
            });
        };
        let span = (to - from).num_milliseconds().max(1);
        let width_ms = pick_width(span, max_buckets) * 1000;
        let counts = self.store.audit_buckets(&r.filter, width_ms).await?;
        let first = (time_key(from) >> portcullis_store::SEQ_BITS) / width_ms;
        let last = ((time_key(to) >> portcullis_store::SEQ_BITS) - 1).max(0) / width_ms;
        let buckets = fill(&counts, first, last.max(first), width_ms);
        let title = if r.query.terms.is_empty() {
            "All audit events".to_string()
        } else {
            r.query.to_string()
        };
        let (svg, plot_area) = timeline_svg(&buckets, width_ms / 1000, &title)?;
        Ok(AuditTimeline {
            from,
            to,
            bucket_seconds: (width_ms / 1000) as u64,
            buckets,
            svg,
            plot_area,
        })
    }
}

fn label_of(t: DateTime<Utc>, width_s: i64) -> String {
    if width_s >= 86_400 {
        t.format("%Y-%m-%d").to_string()
    } else if width_s >= 60 {
        t.format("%m-%d %H:%M").to_string()
    } else {
        t.format("%H:%M:%S").to_string()
    }
}

/// One stacked segment: its legend, colour and value per bucket.
type Series = (&'static str, RGBColor, fn(&TimelineBucket) -> u64);

/// The timeline image's size in pixels.
const SIZE: (u32, u32) = (720, 220);

/// A stacked histogram (allow / deny / error) as an SVG string, with where its bars are.
pub fn timeline_svg(
    buckets: &[TimelineBucket],
    width_s: i64,
    title: &str,
) -> Result<(String, PlotArea)> {
    let mut svg = String::new();
    let (xs, ys) = {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let area = draw(&root, buckets, width_s, title)
            .map_err(|e| EngineError::Internal(format!("timeline chart: {e}")))?;
        root.present()
            .map_err(|e| EngineError::Internal(format!("timeline chart: {e}")))?;
        area
    };
    let (w, h) = (f64::from(SIZE.0), f64::from(SIZE.1));
    let plot_area = PlotArea {
        left: f64::from(xs.start) / w * 100.0,
        top: f64::from(ys.start) / h * 100.0,
        width: f64::from(xs.end - xs.start) / w * 100.0,
        height: f64::from(ys.end - ys.start) / h * 100.0,
    };
    Ok((svg, plot_area))
}

/// Pixel ranges (x, y) of a drawn chart's plot area.
type PixelArea = (std::ops::Range<i32>, std::ops::Range<i32>);

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    buckets: &[TimelineBucket],
    width_s: i64,
    title: &str,
) -> std::result::Result<PixelArea, DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&TRANSPARENT)?;
    let text = RGBColor(110, 118, 129);
    let max = buckets.iter().map(TimelineBucket::total).max().unwrap_or(0);
    let caption = if title.chars().count() > 90 {
        format!("{}…", title.chars().take(89).collect::<String>())
    } else {
        title.to_string()
    };
    let n = buckets.len().max(1) as u32;
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 14).into_font().color(&text))
        .margin(10)
        .x_label_area_size(28)
        .y_label_area_size(44)
        .build_cartesian_2d(0u32..n, 0u64..(max.max(1) + max.max(1) / 10 + 1))?;
    let labels: Vec<String> = buckets.iter().map(|b| label_of(b.start, width_s)).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(RGBColor(200, 205, 212).mix(0.3))
        .bold_line_style(RGBColor(200, 205, 212).mix(0.6))
        .axis_style(text)
        .label_style(("sans-serif", 11).into_font().color(&text))
        .x_labels(6)
        .x_label_formatter(&|i| labels.get(*i as usize).cloned().unwrap_or_default())
        .draw()?;
    let series: [Series; 3] = [
        ("allow", RGBColor(46, 160, 67), |b| b.allow),
        ("deny", RGBColor(207, 34, 46), |b| b.deny),
        ("error", RGBColor(191, 135, 0), |b| b.error),
    ];
    for (s, (name, color, value)) in series.iter().enumerate() {
        let color = *color;
        let rects = buckets.iter().enumerate().map(move |(i, b)| {
            let below: u64 = series[..s].iter().map(|(_, _, v)| v(b)).sum();
            let top = below + value(b);
            let i = i as u32;
            Rectangle::new([(i, below), (i + 1, top)], color.filled())
        });
        chart
            .draw_series(rects)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 11).into_font().color(&text))
        .background_style(WHITE.mix(0.0))
        .border_style(TRANSPARENT)
        .draw()?;
    Ok(chart.plotting_area().get_pixel_range())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_fit_the_bucket_budget() {
        assert_eq!(pick_width(30_000, 60), 1);
        assert_eq!(pick_width(3_600_000, 60), 60);
        assert_eq!(pick_width(86_400_000, 60), 1_800);
        assert_eq!(pick_width(30 * 86_400_000, 60), 43_200);
    }

    #[test]
    fn buckets_are_dense_and_summed_per_outcome() {
        let b = fill(
            &[
                (10, Outcome::Allow, 3),
                (10, Outcome::Deny, 1),
                (12, Outcome::Error, 2),
            ],
            10,
            12,
            1000,
        );
        assert_eq!(b.len(), 3);
        assert_eq!(
            (b[0].allow, b[0].deny, b[1].total(), b[2].error),
            (3, 1, 0, 2)
        );
        assert_eq!(b[1].start, at_ms(11_000));
    }

    #[test]
    fn svg_has_the_title_and_a_legend() {
        let b = fill(&[(0, Outcome::Deny, 4)], 0, 3, 60_000);
        let (svg, area) = timeline_svg(&b, 60, "outcome:deny").unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("outcome:deny") && svg.contains("deny"));
        // The bars sit right of the y labels and above the x labels, inside the image.
        assert!(area.left > 5.0 && area.top > 5.0, "{area:?}");
        assert!(area.left + area.width <= 100.0 && area.top + area.height <= 100.0);
        assert!(area.width > 80.0 && area.height > 50.0, "{area:?}");
    }
}
