//! Server-side deadlines on the console's PostgreSQL sessions, against the REAL sandbox server
//! (`make test` starts it and exports PORTCULLIS_SANDBOX_DIR; a plain `cargo test` without a
//! sandbox skips this file and says so). A statement that outlives the deadline ends as
//! `timeout`, instead of hanging the way a REVOKE queued behind another session's lock did.

use portcullis_connectors::postgres::Postgres;
use portcullis_connectors::BackendConfig;
use portcullis_model::{BackendKind, ErrorCode};
use secrecy::SecretString;
use std::time::{Duration, Instant};

fn sandbox_postgres() -> Option<(String, String)> {
    let dir = std::env::var_os("PORTCULLIS_SANDBOX_DIR")?;
    let path = std::path::Path::new(&dir).join("sandbox.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} (the sandbox is not up): {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let pg = &v["postgres"];
    Some((
        pg["url"].as_str().unwrap().to_string(),
        pg["password"].as_str().unwrap().to_string(),
    ))
}

#[tokio::test]
async fn a_statement_past_the_deadline_is_a_timeout() {
    let Some((url, password)) = sandbox_postgres() else {
        eprintln!(
            "skipped: PORTCULLIS_SANDBOX_DIR is not set (make test runs this against the sandbox)"
        );
        return;
    };
    let pg = Postgres::new(BackendConfig {
        name: "pg".into(),
        kind: BackendKind::Postgres,
        url,
        secret: Some(SecretString::from(password)),
        timeout: Duration::from_secs(1),
        audit_log: None,
    })
    .unwrap();
    let mut conn = pg.connect().await.unwrap();
    for setting in [
        "statement_timeout",
        "lock_timeout",
        "idle_in_transaction_session_timeout",
    ] {
        let shown: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SHOW {setting}")))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(shown, "1s", "{setting}");
    }
    let started = Instant::now();
    let err = sqlx::query("SELECT pg_sleep(30)")
        .execute(&mut conn)
        .await
        .unwrap_err();
    let err = pg.map_error(err, "a slow statement");
    assert_eq!(err.code(), ErrorCode::Timeout, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
