//! The principals × permissions matrix: filtered, sorted, paged, and squeezed into bins for the
//! heatmap, so 5,000 × 2,000 answers a filter change in milliseconds and never as one item per cell.
//!
//! A filter change is one pass over the precomputed effective permissions (with their last use)
//! of the rows in scope; nothing is read from SQLite.

use chrono::{DateTime, Duration, Utc};
use plotters::prelude::*;
use portcullis_model::{
    Action, CellCounts, CellState, MatrixCell, MatrixColumn, MatrixOverview, MatrixPage,
    MatrixQuery, MatrixRow, MatrixSort, PrincipalKind, Risk,
};

use super::graph::NodeId;
use super::index::AccessIndex;
use crate::EngineError;

const NONE: u32 = u32::MAX;

struct RowStat {
    node: NodeId,
    granted: u32,
    used: u32,
    high: u32,
    medium: u32,
}

impl AccessIndex {
    pub fn matrix(&self, q: &MatrixQuery, now: DateTime<Utc>) -> Result<MatrixPage, EngineError> {
        let g = &self.graph;
        let mut backends = vec![q.backends.is_empty(); g.backends.len()];
        for name in &q.backends {
            let i = g
                .backends
                .iter()
                .position(|b| &b.name == name)
                .ok_or_else(|| {
                    EngineError::Store(portcullis_store::StoreError::NotFound {
                        what: "backend",
                        name: name.clone(),
                    })
                })?;
            backends[i] = true;
        }
        let window_days = q.window_days.unwrap_or(90);
        let window_start = now - Duration::days(i64::from(window_days));
        let since = window_start.timestamp_millis();
        let perm_search = q.permission_search.as_ref().map(|s| s.to_lowercase());
        let principal_search = q.principal_search.as_ref().map(|s| s.to_lowercase());

        // Columns in scope: a mask over node ids.
        let mut in_cols = vec![false; g.nodes.len()];
        let mut cols: Vec<NodeId> = Vec::new();
        for (bi, perms) in self.permissions.iter().enumerate() {
            if !backends[bi] {
                continue;
            }
            for &p in perms {
                let node = &g.nodes[p as usize];
                let Some(m) = &node.perm else { continue };
                let action_ok = if q.actions.is_empty() {
                    m.action != Action::Deny
                } else {
                    q.actions.contains(&m.action)
                };
                let risk_ok = q.risks.is_empty() || q.risks.contains(&m.risk);
                let search_ok = perm_search.as_ref().is_none_or(|s| {
                    node.external_id.to_lowercase().contains(s)
                        || node.label.to_lowercase().contains(s)
                        || m.resource.to_lowercase().contains(s)
                });
                if action_ok && risk_ok && search_ok {
                    in_cols[p as usize] = true;
                    cols.push(p);
                }
            }
        }

        // Rows and per-column counts in one pass over effective permissions.
        let mut holders = vec![0u32; g.nodes.len()];
        let mut used_by = vec![0u32; g.nodes.len()];
        let mut rows: Vec<RowStat> = Vec::new();
        let mut without = 0u32;
        for (bi, principals) in self.principals.iter().enumerate() {
            if !backends[bi] {
                continue;
            }
            for &pr in principals {
                let node = &g.nodes[pr as usize];
                if !q.include_groups && node.principal_kind == Some(PrincipalKind::Group) {
                    continue;
                }
                if let Some(s) = &principal_search {
                    if !node.label.to_lowercase().contains(s)
                        && !node.external_id.to_lowercase().contains(s)
                    {
                        continue;
                    }
                }
                let mut st = RowStat {
                    node: pr,
                    granted: 0,
                    used: 0,
                    high: 0,
                    medium: 0,
                };
                let eff = &self.eff[pr as usize];
                let last = &self.eff_last[pr as usize];
                for (i, &p) in eff.iter().enumerate() {
                    if !in_cols[p as usize] {
                        continue;
                    }
                    st.granted += 1;
                    holders[p as usize] += 1;
                    if last[i] >= since {
                        st.used += 1;
                        used_by[p as usize] += 1;
                    }
                    match g.perm(p).map(|m| m.risk) {
                        Some(Risk::High) => st.high += 1,
                        Some(Risk::Medium) => st.medium += 1,
                        _ => {}
                    }
                }
                if st.granted > 0 {
                    rows.push(st);
                } else {
                    without += 1;
                }
            }
        }

        let label = |n: NodeId| &g.nodes[n as usize].label;
        let backend = |n: NodeId| g.nodes[n as usize].backend;
        match q.sort {
            MatrixSort::Name => rows.sort_by(|a, b| {
                (backend(a.node), label(a.node), a.node).cmp(&(
                    backend(b.node),
                    label(b.node),
                    b.node,
                ))
            }),
            MatrixSort::Granted => rows.sort_by(|a, b| {
                (b.granted, backend(a.node), label(a.node), a.node).cmp(&(
                    a.granted,
                    backend(b.node),
                    label(b.node),
                    b.node,
                ))
            }),
            MatrixSort::Unused => rows.sort_by(|a, b| {
                (b.granted - b.used, backend(a.node), label(a.node), a.node).cmp(&(
                    a.granted - a.used,
                    backend(b.node),
                    label(b.node),
                    b.node,
                ))
            }),
            MatrixSort::Risk => rows.sort_by(|a, b| {
                (b.high, b.medium, backend(a.node), label(a.node), a.node).cmp(&(
                    a.high,
                    a.medium,
                    backend(b.node),
                    label(b.node),
                    b.node,
                ))
            }),
        }
        // Permissions nobody in scope holds add only empty columns.
        cols.retain(|&p| holders[p as usize] > 0);
        cols.sort_by(|&a, &b| {
            (
                backend(a),
                std::cmp::Reverse(holders[a as usize]),
                label(a),
                a,
            )
                .cmp(&(
                    backend(b),
                    std::cmp::Reverse(holders[b as usize]),
                    label(b),
                    b,
                ))
        });
        let mut col_pos = vec![NONE; g.nodes.len()];
        for (i, &p) in cols.iter().enumerate() {
            col_pos[p as usize] = i as u32;
        }

        let total_rows = rows.len() as u32;
        let total_cols = cols.len() as u32;
        let page = |off: Option<u32>, lim: Option<u32>, total: u32| {
            let off = off.unwrap_or(0).min(total);
            let lim = lim.unwrap_or(50).clamp(1, 500);
            (off, (off + lim).min(total))
        };
        let (r0, r1) = page(q.row_offset, q.row_limit, total_rows);
        let (c0, c1) = page(q.col_offset, q.col_limit, total_cols);

        // Overview bins over the whole filtered matrix.
        let want_r = q.overview_rows.unwrap_or(40).clamp(1, 200);
        let want_c = q.overview_cols.unwrap_or(40).clamp(1, 200);
        let rpb = total_rows.div_ceil(want_r).max(1);
        let cpb = total_cols.div_ceil(want_c).max(1);
        let br = total_rows.div_ceil(rpb);
        let bc = total_cols.div_ceil(cpb);
        let mut bins = vec![CellCounts::default(); (br * bc) as usize];
        let mut cells = Vec::new();
        let mut totals = CellCounts::default();
        for (ri, st) in rows.iter().enumerate() {
            let ri = ri as u32;
            let eff = &self.eff[st.node as usize];
            let last = &self.eff_last[st.node as usize];
            for (i, &p) in eff.iter().enumerate() {
                let cp = col_pos[p as usize];
                if cp == NONE {
                    continue;
                }
                let used = last[i] >= since;
                let bin = &mut bins[((ri / rpb) * bc + cp / cpb) as usize];
                if used {
                    bin.granted_used += 1;
                    totals.granted_used += 1;
                } else {
                    bin.granted_unused += 1;
                    totals.granted_unused += 1;
                }
                if (r0..r1).contains(&ri) && (c0..c1).contains(&cp) {
                    cells.push(MatrixCell {
                        row: ri - r0,
                        col: cp - c0,
                        state: if used {
                            CellState::GrantedUsed
                        } else {
                            CellState::GrantedUnused
                        },
                    });
                }
            }
        }
        for (i, bin) in bins.iter_mut().enumerate() {
            let (r, c) = (i as u32 / bc, i as u32 % bc);
            let rows_in = (total_rows - r * rpb).min(rpb) as u64;
            let cols_in = (total_cols - c * cpb).min(cpb) as u64;
            bin.not_granted = rows_in * cols_in - bin.granted_used - bin.granted_unused;
        }
        totals.not_granted = u64::from(total_rows) * u64::from(total_cols)
            - totals.granted_used
            - totals.granted_unused;
        cells.sort_by_key(|c| (c.row, c.col));

        let hint = if g.backends.is_empty() {
            Some("no backends in the cache yet: add one (portcullis backend add) and sync".into())
        } else if rows.is_empty() {
            Some(format!(
                "no principal holds a permission matching this filter{}; widen the filter (backends, actions, risks, search) or include groups",
                if without > 0 { format!(" ({without} principals in scope hold none)") } else { String::new() }
            ))
        } else {
            None
        };
        Ok(MatrixPage {
            rows: rows[r0 as usize..r1 as usize]
                .iter()
                .map(|st| MatrixRow {
                    principal: g.view(st.node),
                    granted: st.granted,
                    used: st.used,
                    unused: st.granted - st.used,
                })
                .collect(),
            columns: cols[c0 as usize..c1 as usize]
                .iter()
                .map(|&p| MatrixColumn {
                    permission: g.view(p),
                    holders: holders[p as usize],
                    used_by: used_by[p as usize],
                })
                .collect(),
            cells,
            total_rows,
            total_columns: total_cols,
            totals,
            overview: MatrixOverview {
                rows: br,
                cols: bc,
                rows_per_bin: rpb,
                cols_per_bin: cpb,
                bins,
            },
            window_start,
            hint,
        })
    }
}

const USED: RGBColor = RGBColor(46, 160, 67);
const UNUSED: RGBColor = RGBColor(219, 109, 40);
const EMPTY: RGBColor = RGBColor(225, 228, 232);
const TEXT: RGBColor = RGBColor(110, 118, 129);

fn mix(a: RGBColor, b: RGBColor, t: f64) -> RGBColor {
    let l = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * t).round() as u8;
    RGBColor(l(a.0, b.0), l(a.1, b.1), l(a.2, b.2))
}

/// The colour of one bin: grey when nothing is granted; otherwise from unused (orange) to used
/// (green) by the share used, from pale to strong by how much of the bin is granted.
fn bin_color(c: &CellCounts) -> RGBColor {
    let granted = c.granted_used + c.granted_unused;
    let all = granted + c.not_granted;
    if granted == 0 || all == 0 {
        return EMPTY;
    }
    let hue = mix(UNUSED, USED, c.granted_used as f64 / granted as f64);
    let density = granted as f64 / all as f64;
    mix(EMPTY, hue, 0.35 + 0.65 * density)
}

/// The heatmap of a matrix page's overview as an SVG string (principals down, permissions
/// across), with a legend. Row labels are drawn when each bin is one principal and they fit.
pub fn matrix_svg(page: &MatrixPage, size: (u32, u32)) -> Result<String, EngineError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw(&root, page).map_err(|e| EngineError::Internal(format!("matrix chart: {e}")))?;
        root.present()
            .map_err(|e| EngineError::Internal(format!("matrix chart: {e}")))?;
    }
    Ok(svg)
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    page: &MatrixPage,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&TRANSPARENT)?;
    let ov = &page.overview;
    let caption = if page.total_rows == 0 {
        "Access matrix — nothing matches this filter".to_string()
    } else {
        format!(
            "Access matrix — {} principals × {} permissions ({} granted: {} used, {} unused since {})",
            page.total_rows,
            page.total_columns,
            page.totals.granted_used + page.totals.granted_unused,
            page.totals.granted_used,
            page.totals.granted_unused,
            page.window_start.format("%Y-%m-%d")
        )
    };
    let labels = ov.rows_per_bin == 1 && ov.rows <= 60 && ov.rows == page.rows.len() as u32;
    let row_label = |i: u32| -> String {
        if labels {
            page.rows
                .get(i as usize)
                .map(|r| r.principal.label.chars().take(18).collect())
                .unwrap_or_default()
        } else {
            format!("{}", i * ov.rows_per_bin + 1)
        }
    };
    let (_, h) = root.dim_in_pixel();
    let (chart_area, legend_area) = root.split_vertically(h.saturating_sub(28));
    let mut chart = ChartBuilder::on(&chart_area)
        .caption(caption, ("sans-serif", 14).into_font().color(&TEXT))
        .margin(8)
        .x_label_area_size(24)
        .y_label_area_size(if labels { 120 } else { 48 })
        .build_cartesian_2d(
            0u32..ov.cols.max(1),
            (0u32..ov.rows.max(1)).into_segmented(),
        )?;
    chart
        .configure_mesh()
        .disable_mesh()
        .axis_style(TEXT)
        .label_style(("sans-serif", 11).into_font().color(&TEXT))
        .y_labels(if labels { ov.rows as usize } else { 10 })
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                row_label(ov.rows.saturating_sub(1).saturating_sub(*i))
            }
            SegmentValue::Last => String::new(),
        })
        .x_desc("permissions (by backend, most held first)")
        .x_label_formatter(&|v| format!("{}", v * ov.cols_per_bin + 1))
        .draw()?;
    let flip = |r: u32| ov.rows.saturating_sub(1) - r;
    chart.draw_series(ov.bins.iter().enumerate().map(|(i, c)| {
        let (r, col) = (i as u32 / ov.cols.max(1), i as u32 % ov.cols.max(1));
        let y = flip(r);
        Rectangle::new(
            [
                (col, SegmentValue::Exact(y)),
                (col + 1, SegmentValue::Exact(y + 1)),
            ],
            bin_color(c).filled(),
        )
    }))?;
    let items = [
        (USED, "granted and used"),
        (UNUSED, "granted, unused in the window"),
        (EMPTY, "not granted"),
    ];
    let mut x = 12i32;
    for (color, text) in items {
        legend_area.draw(&Rectangle::new([(x, 8), (x + 12, 20)], color.filled()))?;
        legend_area.draw(&Text::new(
            text,
            (x + 18, 8),
            ("sans-serif", 12).into_font().color(&TEXT),
        ))?;
        x += 30 + 7 * text.len() as i32;
    }
    Ok(())
}
