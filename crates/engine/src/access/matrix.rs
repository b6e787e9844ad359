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

/// The columns in scope (a mask over node ids and the list), before dropping those nobody holds.
struct Columns {
    mask: Vec<bool>,
    list: Vec<NodeId>,
}

/// The rows in scope with their counts, and per-column holder and user counts.
struct Rows {
    rows: Vec<RowStat>,
    holders: Vec<u32>,
    used_by: Vec<u32>,
    /// Principals in scope holding no permission in scope.
    without: u32,
}

/// One page's cells and the overview bins over the whole filtered matrix.
struct Cells {
    cells: Vec<MatrixCell>,
    bins: Vec<CellCounts>,
    totals: CellCounts,
    overview: (u32, u32, u32, u32),
}

impl AccessIndex {
    /// One page of the matrix under `q`: scope, columns, rows, order, page, bins, in that order.
    pub fn matrix(&self, q: &MatrixQuery, now: DateTime<Utc>) -> Result<MatrixPage, EngineError> {
        let g = &self.graph;
        let backends = self.backends_in_scope(q)?;
        let window_start = now - Duration::days(i64::from(q.window_days.unwrap_or(90)));
        let since = window_start.timestamp_millis();
        let mut cols = self.columns(q, &backends);
        let Rows {
            mut rows,
            holders,
            used_by,
            without,
        } = self.rows(q, &backends, &cols.mask, since);
        self.sort_rows(&mut rows, q.sort);
        // Permissions nobody in scope holds add only empty columns.
        cols.list.retain(|&p| holders[p as usize] > 0);
        self.sort_columns(&mut cols.list, &holders);
        let total_rows = rows.len() as u32;
        let total_cols = cols.list.len() as u32;
        let (r0, r1) = page(q.row_offset, q.row_limit, total_rows);
        let (c0, c1) = page(q.col_offset, q.col_limit, total_cols);
        let c = self.cells(q, &rows, &cols.list, since, (r0, r1), (c0, c1));
        let (br, bc, rpb, cpb) = c.overview;
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
            columns: cols.list[c0 as usize..c1 as usize]
                .iter()
                .map(|&p| MatrixColumn {
                    permission: g.view(p),
                    holders: holders[p as usize],
                    used_by: used_by[p as usize],
                })
                .collect(),
            cells: c.cells,
            total_rows,
            total_columns: total_cols,
            totals: c.totals,
            overview: MatrixOverview {
                rows: br,
                cols: bc,
                rows_per_bin: rpb,
                cols_per_bin: cpb,
                bins: c.bins,
            },
            window_start,
            hint: self.matrix_hint(rows.is_empty(), without),
        })
    }

    /// Which backends the query covers (all when it names none); a name not in the cache is an
    /// error, not an empty matrix.
    fn backends_in_scope(&self, q: &MatrixQuery) -> Result<Vec<bool>, EngineError> {
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
        Ok(backends)
    }

    /// Permissions of the backends in scope that pass the action, risk and search filters (deny
    /// rules only when asked for).
    fn columns(&self, q: &MatrixQuery, backends: &[bool]) -> Columns {
        let g = &self.graph;
        let search = q.permission_search.as_ref().map(|s| s.to_lowercase());
        let mut cols = Columns {
            mask: vec![false; g.nodes.len()],
            list: Vec::new(),
        };
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
                let search_ok = search.as_ref().is_none_or(|s| {
                    node.external_id.to_lowercase().contains(s)
                        || node.label.to_lowercase().contains(s)
                        || m.resource.to_lowercase().contains(s)
                });
                if action_ok && risk_ok && search_ok {
                    cols.mask[p as usize] = true;
                    cols.list.push(p);
                }
            }
        }
        cols
    }

    /// Rows and per-column counts in one pass over the effective permissions of the principals
    /// in scope (groups only when asked for).
    fn rows(&self, q: &MatrixQuery, backends: &[bool], in_cols: &[bool], since: i64) -> Rows {
        let g = &self.graph;
        let search = q.principal_search.as_ref().map(|s| s.to_lowercase());
        let mut out = Rows {
            rows: Vec::new(),
            holders: vec![0; g.nodes.len()],
            used_by: vec![0; g.nodes.len()],
            without: 0,
        };
        for (bi, principals) in self.principals.iter().enumerate() {
            if !backends[bi] {
                continue;
            }
            for &pr in principals {
                let node = &g.nodes[pr as usize];
                let group = node.principal_kind == Some(PrincipalKind::Group);
                let found = search.as_ref().is_none_or(|s| {
                    node.label.to_lowercase().contains(s)
                        || node.external_id.to_lowercase().contains(s)
                });
                if (group && !q.include_groups) || !found {
                    continue;
                }
                let st = self.row_stat(pr, in_cols, since, &mut out);
                if st.granted > 0 {
                    out.rows.push(st);
                } else {
                    out.without += 1;
                }
            }
        }
        out
    }

    fn row_stat(&self, pr: NodeId, in_cols: &[bool], since: i64, out: &mut Rows) -> RowStat {
        let mut st = RowStat {
            node: pr,
            granted: 0,
            used: 0,
            high: 0,
            medium: 0,
        };
        let last = &self.eff_last[pr as usize];
        for (i, &p) in self.eff[pr as usize].iter().enumerate() {
            if !in_cols[p as usize] {
                continue;
            }
            st.granted += 1;
            out.holders[p as usize] += 1;
            if last[i] >= since {
                st.used += 1;
                out.used_by[p as usize] += 1;
            }
            match self.graph.perm(p).map(|m| m.risk) {
                Some(Risk::High) => st.high += 1,
                Some(Risk::Medium) => st.medium += 1,
                _ => {}
            }
        }
        st
    }

    /// Rows by the query's order, ties by backend, name and node (stable across calls).
    fn sort_rows(&self, rows: &mut [RowStat], sort: MatrixSort) {
        let g = &self.graph;
        let tie = |st: &RowStat| {
            let n = &g.nodes[st.node as usize];
            (n.backend, n.label.clone(), st.node)
        };
        let key = |st: &RowStat| -> (std::cmp::Reverse<(u32, u32)>, (u16, String, NodeId)) {
            let primary = match sort {
                MatrixSort::Name => (0, 0),
                MatrixSort::Granted => (st.granted, 0),
                MatrixSort::Unused => (st.granted - st.used, 0),
                MatrixSort::Risk => (st.high, st.medium),
            };
            (std::cmp::Reverse(primary), tie(st))
        };
        rows.sort_by_cached_key(key);
    }

    /// Columns by backend, most held first, then name.
    fn sort_columns(&self, cols: &mut [NodeId], holders: &[u32]) {
        let g = &self.graph;
        cols.sort_by(|&a, &b| {
            let k = |p: NodeId| {
                let n = &g.nodes[p as usize];
                (
                    n.backend,
                    std::cmp::Reverse(holders[p as usize]),
                    &n.label,
                    p,
                )
            };
            k(a).cmp(&k(b))
        });
    }

    /// The cells of one page, and bins of at most `overview_rows` × `overview_cols` over the
    /// whole filtered matrix with the totals.
    fn cells(
        &self,
        q: &MatrixQuery,
        rows: &[RowStat],
        cols: &[NodeId],
        since: i64,
        (r0, r1): (u32, u32),
        (c0, c1): (u32, u32),
    ) -> Cells {
        let mut col_pos = vec![NONE; self.graph.nodes.len()];
        for (i, &p) in cols.iter().enumerate() {
            col_pos[p as usize] = i as u32;
        }
        let (total_rows, total_cols) = (rows.len() as u32, cols.len() as u32);
        let want_r = q.overview_rows.unwrap_or(40).clamp(1, 200);
        let want_c = q.overview_cols.unwrap_or(40).clamp(1, 200);
        let rpb = total_rows.div_ceil(want_r).max(1);
        let cpb = total_cols.div_ceil(want_c).max(1);
        let (br, bc) = (total_rows.div_ceil(rpb), total_cols.div_ceil(cpb));
        let mut out = Cells {
            cells: Vec::new(),
            bins: vec![CellCounts::default(); (br * bc) as usize],
            totals: CellCounts::default(),
            overview: (br, bc, rpb, cpb),
        };
        for (ri, st) in rows.iter().enumerate() {
            let ri = ri as u32;
            let last = &self.eff_last[st.node as usize];
            for (i, &p) in self.eff[st.node as usize].iter().enumerate() {
                let cp = col_pos[p as usize];
                if cp == NONE {
                    continue;
                }
                let used = last[i] >= since;
                let bin = &mut out.bins[((ri / rpb) * bc + cp / cpb) as usize];
                for counts in [bin, &mut out.totals] {
                    if used {
                        counts.granted_used += 1;
                    } else {
                        counts.granted_unused += 1;
                    }
                }
                if (r0..r1).contains(&ri) && (c0..c1).contains(&cp) {
                    let state = if used {
                        CellState::GrantedUsed
                    } else {
                        CellState::GrantedUnused
                    };
                    out.cells.push(MatrixCell {
                        row: ri - r0,
                        col: cp - c0,
                        state,
                    });
                }
            }
        }
        for (i, bin) in out.bins.iter_mut().enumerate() {
            let (r, c) = (i as u32 / bc, i as u32 % bc);
            let rows_in = (total_rows - r * rpb).min(rpb) as u64;
            let cols_in = (total_cols - c * cpb).min(cpb) as u64;
            bin.not_granted = rows_in * cols_in - bin.granted_used - bin.granted_unused;
        }
        out.totals.not_granted = u64::from(total_rows) * u64::from(total_cols)
            - out.totals.granted_used
            - out.totals.granted_unused;
        out.cells.sort_by_key(|c| (c.row, c.col));
        out
    }

    /// What to do next when the matrix is empty.
    fn matrix_hint(&self, empty: bool, without: u32) -> Option<String> {
        if self.graph.backends.is_empty() {
            Some("no backends in the cache yet: add one (portcullis backend add) and sync".into())
        } else if empty {
            let none = if without > 0 {
                format!(" ({without} principals in scope hold none)")
            } else {
                String::new()
            };
            Some(format!(
                "no principal holds a permission matching this filter{none}; widen the filter \
                 (backends, actions, risks, search) or include groups"
            ))
        } else {
            None
        }
    }
}

/// (first, end) of a page of `total` items: offset default 0, limit default 50, at most 500.
fn page(off: Option<u32>, lim: Option<u32>, total: u32) -> (u32, u32) {
    let off = off.unwrap_or(0).min(total);
    let lim = lim.unwrap_or(50).clamp(1, 500);
    (off, (off + lim).min(total))
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
