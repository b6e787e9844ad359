//! The Overview: counts from the cache, per backend and in total, with a chart.

use plotters::style::RGBColor;
use portcullis_model::{BackendCounts, Overview};

use crate::chart::{stacked_bars, StackedBar};
use crate::{Result, Workspace};

impl Workspace {
    pub async fn overview(&self) -> Result<Overview> {
        let mut backends = Vec::new();
        for row in self.store.list_backends().await? {
            let counts = self.store.counts(Some(row.id)).await?;
            let last_sync = self.store.last_sync_run(row.id).await?;
            backends.push(BackendCounts {
                backend: row.name,
                kind: row.kind,
                counts,
                last_check: row.last_check,
                last_sync,
            });
        }
        let totals = self.store.counts(None).await?;
        let chart_svg = if backends.is_empty() {
            String::new()
        } else {
            let bars: Vec<StackedBar> = backends
                .iter()
                .map(|b| {
                    let c = &b.counts;
                    let expiring = c
                        .active_credentials
                        .saturating_sub(c.never_expiring_credentials);
                    StackedBar {
                        label: b.backend.clone(),
                        values: vec![
                            expiring,
                            c.never_expiring_credentials,
                            c.credentials.saturating_sub(c.active_credentials),
                        ],
                    }
                })
                .collect();
            stacked_bars(
                "Credentials per backend",
                &[
                    ("active, expiring", RGBColor(46, 160, 67)),
                    ("active, never expires", RGBColor(219, 109, 40)),
                    ("revoked / expired / unknown", RGBColor(139, 148, 158)),
                ],
                &bars,
                (640, 280),
            )?
        };
        Ok(Overview {
            totals,
            backends,
            chart_svg,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_model::{BackendKind, NewBackend, NewCredential};

    #[tokio::test]
    async fn empty_workspace_has_no_chart_and_zero_counts() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path()).await.unwrap();
        let o = ws.overview().await.unwrap();
        assert!(o.backends.is_empty());
        assert!(o.chart_svg.is_empty());
        assert_eq!(o.totals.principals, 0);
    }

    #[tokio::test]
    async fn one_backend_gets_a_row_and_a_chart() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path()).await.unwrap();
        ws.add_backend(NewBackend {
            name: "pg".into(),
            kind: BackendKind::Postgres,
            url: "postgres://portcullis@127.0.0.1:5432/acme".into(),
            credential: NewCredential::Env {
                var: "PG_PW".into(),
            },
            audit_log: None,
        })
        .await
        .unwrap();
        let o = ws.overview().await.unwrap();
        assert_eq!(o.backends.len(), 1);
        assert_eq!(o.backends[0].backend, "pg");
        assert!(o.chart_svg.contains("<svg"));
    }
}
