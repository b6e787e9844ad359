//! Reading the server's jsonlog over SQL (`pg_read_file(pg_current_logfile('jsonlog'))`), for
//! deployments where the console cannot see the log directory. The cursor names the file and the
//! byte offset after the last complete line; when the server has moved on to a new file, the rest
//! of the old one is read first, so rotation loses nothing.

use serde::{Deserialize, Serialize};

use super::{audit, Postgres};
use crate::jsonl::{LineOutcome, BATCH};
use crate::{AuditSink, ConnectorError, Cursor};

const CHUNK: i64 = 4 * 1024 * 1024;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct LogCursor {
    file: String,
    offset: i64,
    line: u64,
}

impl Postgres {
    pub(crate) async fn read_log_over_sql(
        &self,
        since: Option<Cursor>,
        sink: &mut dyn AuditSink,
    ) -> Result<Cursor, ConnectorError> {
        let mut conn = self.connect().await?;
        let current: Option<String> = self
            .bounded(
                "EXECUTE on pg_current_logfile(text)",
                sqlx::query_scalar("SELECT pg_current_logfile('jsonlog')").fetch_one(&mut conn),
            )
            .await?;
        let Some(current) = current else {
            return Err(ConnectorError::Unsupported(
                "the server writes no jsonlog (log_destination lacks jsonlog, or logging_collector is off)".into(),
            ));
        };
        let mut cur: LogCursor = since
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default();
        let mut files = Vec::new();
        if !cur.file.is_empty() && cur.file != current {
            files.push(cur.file.clone());
        }
        files.push(current.clone());
        for file in files {
            if cur.file != file {
                cur = LogCursor {
                    file: file.clone(),
                    offset: 0,
                    line: 0,
                };
            }
            self.read_file(&mut conn, &mut cur, sink).await?;
        }
        Ok(serde_json::to_string(&cur).unwrap_or_default())
    }

    async fn read_file(
        &self,
        conn: &mut sqlx::postgres::PgConnection,
        cur: &mut LogCursor,
        sink: &mut dyn AuditSink,
    ) -> Result<(), ConnectorError> {
        loop {
            let chunk = self.read_chunk(conn, &cur.file, cur.offset).await?;
            let Some(end) = chunk.rfind('\n') else {
                return Ok(());
            };
            let mut batch = Vec::new();
            for line in chunk[..end].split('\n') {
                cur.line += 1;
                if line.trim().is_empty() {
                    continue;
                }
                match audit::parse_line(line, cur.line) {
                    Ok(LineOutcome::Event(e)) => batch.push(*e),
                    Ok(LineOutcome::Skip) => {}
                    Err(reason) => {
                        tracing::warn!(file = %cur.file, line = cur.line, %reason, "jsonlog line rejected")
                    }
                }
                if batch.len() >= BATCH {
                    let next = LogCursor {
                        offset: cur.offset,
                        ..cur.clone()
                    };
                    // Mid-chunk batches resume from the chunk start; dedup keys absorb the repeat.
                    sink.batch(
                        std::mem::take(&mut batch),
                        serde_json::to_string(&next).unwrap_or_default(),
                    )
                    .await?;
                }
            }
            cur.offset += end as i64 + 1;
            sink.batch(batch, serde_json::to_string(&cur).unwrap_or_default())
                .await?;
            if (end as i64) + 1 < CHUNK / 2 {
                return Ok(());
            }
        }
    }

    /// Reads up to CHUNK bytes; a chunk that would split a multibyte character is shortened.
    async fn read_chunk(
        &self,
        conn: &mut sqlx::postgres::PgConnection,
        file: &str,
        offset: i64,
    ) -> Result<String, ConnectorError> {
        let mut len = CHUNK;
        loop {
            let read = sqlx::query_scalar("SELECT pg_read_file($1, $2, $3)")
                .bind(file)
                .bind(offset)
                .bind(len)
                .fetch_one(&mut *conn);
            let r: Result<Option<String>, sqlx::Error> = self.deadline(read).await?;
            match r {
                Ok(text) => return Ok(text.unwrap_or_default()),
                Err(sqlx::Error::Database(db))
                    if db.code().as_deref() == Some("22021") && len > CHUNK - 4 =>
                {
                    len -= 1;
                }
                Err(e) => {
                    return Err(self.map_error(e, "EXECUTE on pg_read_file(text, bigint, bigint)"))
                }
            }
        }
    }
}
