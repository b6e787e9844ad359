//! Charts drawn with plotters into SVG strings, so the desktop UI, the HTML reports and the CLI
//! share one rendering and the UI needs no canvas code.

use plotters::prelude::*;

use crate::{EngineError, Result};

/// One stacked bar: a label and the size of each segment, in the order of `segments`.
pub struct StackedBar {
    pub label: String,
    pub values: Vec<u64>,
}

/// A stacked bar chart. With no data it still draws the axes and says so in the caption, rather
/// than inventing anything.
pub fn stacked_bars(
    title: &str,
    segments: &[(&str, RGBColor)],
    bars: &[StackedBar],
    size: (u32, u32),
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw(&root, title, segments, bars)
            .map_err(|e| EngineError::Internal(format!("chart: {e}")))?;
        root.present()
            .map_err(|e| EngineError::Internal(format!("chart: {e}")))?;
    }
    Ok(svg)
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    segments: &[(&str, RGBColor)],
    bars: &[StackedBar],
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&TRANSPARENT)?;
    let max = bars
        .iter()
        .map(|b| b.values.iter().sum::<u64>())
        .max()
        .unwrap_or(0);
    let caption = if max == 0 {
        format!("{title} — nothing cached yet: sync a backend")
    } else {
        title.to_string()
    };
    let n = bars.len().max(1) as u32;
    let y_max = (max.max(1) as f64 * 1.15).ceil() as u64;
    let text = RGBColor(110, 118, 129);
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 16).into_font().color(&text))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(48)
        .build_cartesian_2d((0u32..n).into_segmented(), 0u64..y_max)?;
    let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(RGBColor(200, 205, 212).mix(0.3))
        .bold_line_style(RGBColor(200, 205, 212).mix(0.6))
        .axis_style(text)
        .label_style(("sans-serif", 12).into_font().color(&text))
        .x_labels(bars.len().max(1))
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .draw()?;
    for (s, (name, color)) in segments.iter().enumerate() {
        let color = *color;
        let rects = bars.iter().enumerate().map(move |(i, bar)| {
            let below: u64 = bar.values.iter().take(s).sum();
            let top = below + bar.values.get(s).copied().unwrap_or(0);
            let i = i as u32;
            let mut r = Rectangle::new(
                [
                    (SegmentValue::Exact(i), below),
                    (SegmentValue::Exact(i + 1), top),
                ],
                color.filled(),
            );
            r.set_margin(0, 0, 14, 14);
            r
        });
        chart
            .draw_series(rects)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 12).into_font().color(&text))
        .background_style(WHITE.mix(0.0))
        .border_style(TRANSPARENT)
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_svg_with_labels() {
        let svg = stacked_bars(
            "Credentials per backend",
            &[
                ("active", RGBColor(0, 128, 0)),
                ("revoked", RGBColor(128, 0, 0)),
            ],
            &[
                StackedBar {
                    label: "bao".into(),
                    values: vec![3, 1],
                },
                StackedBar {
                    label: "pg".into(),
                    values: vec![0, 2],
                },
            ],
            (480, 260),
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        assert!(svg.contains("bao") && svg.contains("pg"));
        assert!(svg.contains("Credentials per backend"));
    }

    /// The UI puts engine SVG into the page as markup (`Html::from_html_unchecked`), and labels
    /// are backend names: a hostile one must arrive as text, never as an element.
    #[test]
    fn hostile_labels_are_escaped_text() {
        let evil = "<img src=x onerror=alert(1)>&\"";
        let svg = stacked_bars(
            evil,
            &[(evil, RGBColor(0, 0, 0))],
            &[StackedBar {
                label: evil.into(),
                values: vec![1],
            }],
            (480, 260),
        )
        .unwrap();
        assert!(!svg.contains("<img"), "{svg}");
        assert!(svg.contains("&lt;img src=x onerror=alert(1)&gt;"), "{svg}");
    }

    #[test]
    fn empty_data_says_so() {
        let svg = stacked_bars(
            "Credentials",
            &[("active", RGBColor(0, 0, 0))],
            &[],
            (300, 200),
        )
        .unwrap();
        assert!(svg.contains("nothing cached yet"));
    }
}
