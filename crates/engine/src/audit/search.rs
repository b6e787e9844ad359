//! Search: a parsed query becomes a store filter; pages come back newest first with an opaque
//! keyset cursor and a total that is exact up to a cap and extrapolated beyond it.

use chrono::{DateTime, Utc};
use portcullis_model::{
    AuditEventDetail, AuditEventView, AuditField, AuditPage, BackendKind, Pivot, TotalEstimate,
};
use portcullis_store::{
    time_key, AuditColumn, AuditFilter, AuditRow, ColumnCond, ConsoleFilter, ValueMatch,
};
use std::collections::HashMap;

use super::query::{parse, ConsoleTraffic, Query, Term, Value};
use crate::{EngineError, Result, Workspace};

/// Largest page a search returns.
pub const MAX_PAGE: u32 = 1_000;
/// A backend filter over at most this many events walks the backend's rows and sorts them.
const SMALL_BACKEND: u32 = 5_000;
/// Events counted exactly before the total is extrapolated. High enough that a page's number
/// is the CLI's number for any search a person reads through (a total of "about 254" for 589
/// matches was a wrong count, not an estimate anyone could use); counting that many on an index
/// takes milliseconds.
pub const COUNT_CAP: u32 = portcullis_model::AUDIT_EXACT_COUNT;

/// A query resolved against the workspace: the filter the store runs, plus names for rows.
pub(crate) struct Resolved {
    pub query: Query,
    pub filter: AuditFilter,
    pub backends: HashMap<i64, (String, BackendKind)>,
}

impl Resolved {
    pub fn name(&self, backend_id: i64) -> String {
        self.backends
            .get(&backend_id)
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| format!("#{backend_id}"))
    }

    pub fn view(&self, row: AuditRow) -> AuditEventView {
        let name = self.name(row.backend_id);
        row.into_view(name)
    }
}

fn invalid(e: super::query::QueryError) -> EngineError {
    EngineError::InvalidInput(format!("audit query: {e}"))
}

/// Escapes GLOB's special characters so they match themselves.
fn glob_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '*' => out.push_str("[*]"),
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            c => out.push(c),
        }
    }
    out
}

fn value_match(field: AuditField, v: &Value) -> ValueMatch {
    if v.quoted && v.text.is_empty() {
        return ValueMatch::Empty;
    }
    if v.prefix {
        let base = if v.wildcard {
            v.text
                .split('*')
                .map(glob_literal)
                .collect::<Vec<_>>()
                .join("*")
        } else {
            glob_literal(&v.text)
        };
        return ValueMatch::Glob(format!("{base}*"));
    }
    if v.wildcard {
        return ValueMatch::Glob(
            v.text
                .split('*')
                .map(glob_literal)
                .collect::<Vec<_>>()
                .join("*"),
        );
    }
    match field {
        AuditField::Action => ValueMatch::ExactNoCase(v.text.clone()),
        _ => ValueMatch::Exact(v.text.clone()),
    }
}

/// One FTS5 string: the text as a phrase (FTS5 tokenises inside the quotes), `*` for a prefix.
fn fts_phrase(v: &Value) -> String {
    let mut s = String::with_capacity(v.text.len() + 3);
    s.push('"');
    s.push_str(&v.text.replace('"', "\"\""));
    s.push('"');
    if v.prefix {
        s.push('*');
    }
    s
}

/// Builds the store filter of a parsed query. `backends` maps names to ids.
pub(crate) fn to_filter(q: &Query, backends: &HashMap<String, i64>) -> Result<AuditFilter> {
    let mut f = AuditFilter::default();
    let mut positive: HashMap<AuditField, Vec<ValueMatch>> = HashMap::new();
    let mut fts_pos = Vec::new();
    let mut fts_neg = Vec::new();
    for t in &q.terms {
        match t {
            Term::Text { value, negated } => {
                if *negated {
                    fts_neg.push(fts_phrase(value));
                } else {
                    fts_pos.push(fts_phrase(value));
                }
            }
            Term::Field {
                field: AuditField::Backend,
                value,
                negated,
            } => {
                let ids: Vec<i64> = if value.prefix || value.wildcard {
                    let pattern = value.text.replace('*', "");
                    backends
                        .iter()
                        .filter(|(n, _)| {
                            if value.prefix {
                                n.starts_with(&pattern)
                            } else {
                                n.contains(&pattern)
                            }
                        })
                        .map(|(_, id)| *id)
                        .collect()
                } else {
                    match backends.get(&value.text) {
                        Some(id) => vec![*id],
                        None => {
                            let mut known: Vec<&str> =
                                backends.keys().map(String::as_str).collect();
                            known.sort();
                            return Err(EngineError::InvalidInput(format!(
                                "audit query: no backend named `{}` (known: {}); see `portcullis backend list`",
                                value.text,
                                if known.is_empty() { "none yet".to_string() } else { known.join(", ") }
                            )));
                        }
                    }
                };
                if *negated {
                    f.not_backend_ids.extend(ids);
                } else if ids.is_empty() {
                    // A pattern that names no backend matches nothing.
                    f.backend_ids.push(-1);
                } else {
                    f.backend_ids.extend(ids);
                }
            }
            Term::Field {
                field,
                value,
                negated,
            } => {
                let column = match field {
                    AuditField::Actor => AuditColumn::Actor,
                    AuditField::Credential => AuditColumn::Credential,
                    AuditField::Action => AuditColumn::Action,
                    AuditField::Resource => AuditColumn::Resource,
                    AuditField::Outcome => AuditColumn::Outcome,
                    AuditField::Source => AuditColumn::SourceIp,
                    AuditField::Backend
                    | AuditField::Since
                    | AuditField::Until
                    | AuditField::Console => continue,
                };
                let m = value_match(*field, value);
                if *negated {
                    f.conds.push(ColumnCond {
                        column,
                        values: vec![m],
                        negated: true,
                    });
                } else {
                    positive.entry(*field).or_default().push(m);
                }
            }
        }
    }
    // Fixed order, so the same query always gives the same SQL (and statement cache hits).
    let mut positives = Vec::new();
    for field in AuditField::ALL {
        if let Some(values) = positive.remove(&field) {
            let column = match field {
                AuditField::Actor => AuditColumn::Actor,
                AuditField::Credential => AuditColumn::Credential,
                AuditField::Action => AuditColumn::Action,
                AuditField::Resource => AuditColumn::Resource,
                AuditField::Outcome => AuditColumn::Outcome,
                AuditField::Source => AuditColumn::SourceIp,
                _ => continue,
            };
            positives.push(ColumnCond {
                column,
                values,
                negated: false,
            });
        }
    }
    positives.append(&mut f.conds);
    f.conds = positives;
    // With free text, exact values of indexed text columns join the full-text expression as
    // column filters (`actor : "alice"`): FTS5 then intersects the doclists, in time order,
    // instead of probing the index once per candidate row. The SQL equality still decides
    // (the full-text match is case-insensitive and by tokens, a superset).
    if !fts_pos.is_empty() {
        for c in &f.conds {
            let column = match c.column {
                AuditColumn::Actor => "actor",
                AuditColumn::Credential => "credential",
                AuditColumn::Action => "action",
                AuditColumn::Resource => "resource",
                AuditColumn::SourceIp => "source_ip",
                AuditColumn::Outcome => continue,
            };
            if c.negated {
                continue;
            }
            let mut alternatives = Vec::new();
            for v in &c.values {
                match v {
                    ValueMatch::Exact(s) | ValueMatch::ExactNoCase(s)
                        if s.chars().any(char::is_alphanumeric) =>
                    {
                        alternatives.push(format!("{column} : \"{}\"", s.replace('"', "\"\"")))
                    }
                    // A value without a token, an empty or a wildcard one: no pre-filter.
                    _ => {
                        alternatives.clear();
                        break;
                    }
                }
            }
            match alternatives.len() {
                0 => {}
                1 => fts_pos.push(alternatives.remove(0)),
                _ => fts_pos.push(format!("({})", alternatives.join(" OR "))),
            }
        }
    }
    f.fts = match (fts_pos.is_empty(), fts_neg.is_empty()) {
        (true, _) => None,
        (false, true) => Some(fts_pos.join(" AND ")),
        (false, false) => Some(format!(
            "({}) NOT ({})",
            fts_pos.join(" AND "),
            fts_neg.join(" OR ")
        )),
    };
    if fts_pos.is_empty() && !fts_neg.is_empty() {
        f.fts_exclude = Some(fts_neg.join(" OR "));
    }
    f.min_id = q.since.map(time_key);
    f.max_id = q.until.map(time_key);
    f.console = match q.console.unwrap_or(ConsoleTraffic::Hide) {
        ConsoleTraffic::Hide => ConsoleFilter::Hide,
        ConsoleTraffic::Show => ConsoleFilter::Any,
        ConsoleTraffic::Only => ConsoleFilter::Only,
    };
    Ok(f)
}

/// Cursor format: `v1.<id>`; the next page holds events with smaller ids.
fn encode_cursor(id: i64) -> String {
    format!("v1.{id}")
}

fn decode_cursor(c: &str) -> Result<i64> {
    c.strip_prefix("v1.")
        .and_then(|n| n.parse::<i64>().ok())
        .ok_or_else(|| {
            EngineError::InvalidInput(format!(
                "`{c}` is not a page cursor of an audit search; start again from the first page"
            ))
        })
}

/// Extrapolates a capped count from the time span the counted (newest) events cover.
fn estimate(counted: u64, oldest_counted: Option<i64>, lo: i64, hi: i64) -> TotalEstimate {
    match oldest_counted {
        Some(oldest) if counted >= u64::from(COUNT_CAP) && hi > oldest && oldest > lo => {
            let share = (hi - oldest) as f64 / (hi - lo) as f64;
            TotalEstimate {
                count: ((counted as f64) / share).round() as u64,
                exact: false,
            }
        }
        _ => TotalEstimate {
            count: counted,
            exact: counted < u64::from(COUNT_CAP),
        },
    }
}

impl Workspace {
    pub(crate) async fn resolve_audit_query(&self, query: &str) -> Result<Resolved> {
        let parsed = parse(query, Utc::now()).map_err(invalid)?;
        let list = self.store.backend_names().await?;
        let by_name: HashMap<String, i64> =
            list.iter().map(|(id, n, _)| (n.clone(), *id)).collect();
        let mut filter = to_filter(&parsed, &by_name)?;
        filter.few_in_backends = self
            .store
            .audit_backends_hold_few(&filter.backend_ids, SMALL_BACKEND)
            .await?;
        Ok(Resolved {
            query: parsed,
            filter,
            backends: list.into_iter().map(|(id, n, k)| (id, (n, k))).collect(),
        })
    }

    /// One page of events matching `query`, newest first. `cursor` is the `next_cursor` of the
    /// previous page (None: the first page); `limit` is capped at [`MAX_PAGE`].
    pub async fn audit_search(
        &self,
        query: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<AuditPage> {
        let r = self.resolve_audit_query(query).await?;
        let before = cursor.map(decode_cursor).transpose()?;
        let limit = limit.clamp(1, MAX_PAGE);
        // One row more than asked tells whether there is a next page.
        let mut rows = self.store.audit_page(&r.filter, before, limit + 1).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|row| encode_cursor(row.id))
        } else {
            None
        };
        // A first page that holds every match is its own exact count.
        let (counted, oldest) = if before.is_none() && !more {
            (rows.len() as u64, rows.last().map(|row| row.id))
        } else {
            self.store.audit_count_capped(&r.filter, COUNT_CAP).await?
        };
        let total = if counted < u64::from(COUNT_CAP) {
            estimate(counted, oldest, 0, 0)
        } else {
            let bounds = self.store.audit_bounds().await?.unwrap_or((0, 0));
            let lo = r.filter.min_id.unwrap_or(bounds.0).max(bounds.0);
            let hi = r.filter.max_id.unwrap_or(bounds.1 + 1).min(bounds.1 + 1);
            estimate(counted, oldest, lo, hi)
        };
        let events = rows.into_iter().map(|row| r.view(row)).collect();
        Ok(AuditPage {
            events,
            next_cursor,
            total,
            query: r.query.to_string(),
        })
    }

    /// One event with the record its backend delivered, and searches around it.
    pub async fn audit_event(&self, id: i64) -> Result<AuditEventDetail> {
        let rec = self.store.audit_record(id).await?;
        let raw = serde_json::from_str(&rec.raw).unwrap_or(serde_json::Value::String(rec.raw));
        let mut pivots = Vec::new();
        let backend = AuditField::Backend.term(&rec.backend);
        let row = &rec.row;
        if let Some(a) = &row.actor {
            pivots.push(Pivot {
                label: format!("everything {a} did"),
                query: format!("{backend} {}", AuditField::Actor.term(a)),
            });
        }
        if let Some(c) = &row.credential {
            pivots.push(Pivot {
                label: "everything this credential did".into(),
                query: portcullis_model::credential_events_query(&rec.backend, c),
            });
        }
        if let Some(res) = &row.resource {
            pivots.push(Pivot {
                label: format!("everyone on {res}"),
                query: format!("{backend} {}", AuditField::Resource.term(res)),
            });
        }
        if let Some(ip) = &row.source_ip {
            pivots.push(Pivot {
                label: format!("everything from {ip}"),
                query: AuditField::Source.term(ip),
            });
        }
        let credential = match &row.credential {
            Some(c) => {
                self.store
                    .credential_by_external_id(&rec.backend, c)
                    .await?
            }
            None => None,
        };
        Ok(AuditEventDetail {
            event: rec.row.into_view(rec.backend),
            backend_kind: rec.backend_kind,
            dedup_key: rec.dedup_key,
            raw,
            pivots,
            credential,
        })
    }

    /// The query restricted to `[from, to)` (a range selected on the timeline), normalised.
    pub fn audit_query_with_range(
        &self,
        query: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<String> {
        let q = parse(query, Utc::now()).map_err(invalid)?;
        Ok(q.with_range(from, to).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn filter(q: &str) -> AuditFilter {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        let names = HashMap::from([("bao".to_string(), 1), ("pg".to_string(), 2)]);
        to_filter(&parse(q, now).unwrap(), &names).unwrap()
    }

    #[test]
    fn repeated_fields_are_alternatives_and_text_goes_to_fts() {
        let f = filter(r#"outcome:deny outcome:error billing "permission denied" -health"#);
        assert_eq!(f.conds.len(), 1);
        assert_eq!(
            f.conds[0].values,
            vec![
                ValueMatch::Exact("deny".into()),
                ValueMatch::Exact("error".into())
            ]
        );
        assert_eq!(
            f.fts.as_deref(),
            Some(r#"("billing" AND "permission denied") NOT ("health")"#)
        );
        assert_eq!(f.fts_exclude, None);
    }

    #[test]
    fn prefixes_and_wildcards_become_escaped_globs() {
        let f = filter("resource:secret/[x]/* resource:a*b?");
        assert_eq!(
            f.conds[0].values,
            vec![
                ValueMatch::Glob("secret/[[]x]/*".into()),
                ValueMatch::Glob("a*b[?]".into())
            ]
        );
        let f = filter(r#"actor:"" -source:"""#);
        assert_eq!(f.conds.len(), 2);
        assert!(f
            .conds
            .iter()
            .any(|c| c.negated && c.values == [ValueMatch::Empty]));
    }

    #[test]
    fn backends_resolve_by_name_and_unknown_ones_are_errors() {
        assert_eq!(filter("backend:pg").backend_ids, vec![2]);
        assert_eq!(filter("-backend:bao").not_backend_ids, vec![1]);
        let now = Utc::now();
        let err = to_filter(&parse("backend:nope", now).unwrap(), &HashMap::new()).unwrap_err();
        assert!(err.to_string().contains("no backend named `nope`"), "{err}");
        assert_eq!(filter("backend:zz*").backend_ids, vec![-1]);
    }

    #[test]
    fn exact_fields_become_column_filters_of_the_full_text_search() {
        let f = filter(r#"denied actor:alice action:read -actor:bob outcome:deny resource:x*"#);
        assert_eq!(
            f.fts.as_deref(),
            Some(r#""denied" AND actor : "alice" AND action : "read""#)
        );
        // Without free text, fields stay SQL-only.
        assert_eq!(filter("actor:alice").fts, None);
    }

    #[test]
    fn negative_only_text_excludes_and_times_become_id_bounds() {
        let f = filter("-healthcheck since:-1h until:now");
        assert_eq!(f.fts, None);
        assert_eq!(f.fts_exclude.as_deref(), Some(r#""healthcheck""#));
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        assert_eq!(f.max_id, Some(time_key(now)));
        assert_eq!(f.min_id, Some(time_key(now - chrono::Duration::hours(1))));
    }

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        assert_eq!(decode_cursor(&encode_cursor(42)).unwrap(), 42);
        assert!(decode_cursor("42").is_err());
        assert!(decode_cursor("v1.x").is_err());
    }

    #[test]
    fn totals_are_exact_below_the_cap_and_extrapolated_above() {
        assert_eq!(
            estimate(10, Some(5), 0, 100),
            TotalEstimate {
                count: 10,
                exact: true
            }
        );
        // The newest COUNT_CAP cover the last quarter of the span: about 4 × COUNT_CAP in all.
        let t = estimate(u64::from(COUNT_CAP), Some(750), 0, 1000);
        assert!(!t.exact);
        assert_eq!(t.count, 4 * u64::from(COUNT_CAP));
    }
}
