//! Audit: the realm's saved user events (`GET /events`) and admin events (`GET /admin-events`),
//! read incrementally by time.
//!
//! The cursor is a JSON string holding, for each of the two streams, the time (ms) of the last
//! imported event and the keys of the events already imported at that very millisecond (several
//! events share a millisecond). Keycloak lists events newest first and, before version 24 or so,
//! accepts `dateFrom` only as a day (`yyyy-MM-dd`, in the server's time zone), so the connector
//! asks from the day before the cursor's day, pages to the end with `first`/`max`, then keeps the
//! events after the cursor, oldest first, and hands them to the sink in batches, each with the
//! cursor that follows it.
//!
//! An event's key is `event:ID` / `admin-event:ID` when Keycloak sends an id (recent versions),
//! otherwise a SHA-256 of its JSON. When the realm saves neither kind of event, nothing is read
//! and the cursor is returned unchanged (`None` on a first sync): `check` reports it.
//!
//! Raw events are stored redacted by [`crate::redact`] (passwords, secrets, tokens, private keys,
//! credentials), including inside an admin event's `representation`.

use chrono::{DateTime, Days, Utc};
use portcullis_model::{AuditEvent, Outcome};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;

use super::map::{client_principal_id, session_id};
use super::reps::{AdminEventRep, EventRep, EventsConfigRep, Keyed};
use super::{need, needs, Keycloak};
use crate::{AuditSink, ConnectorError, Cursor};

/// Events per sink batch.
const BATCH: usize = 500;

/// Where one event stream was left.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Position {
    /// Milliseconds since the epoch of the newest imported event.
    time: i64,
    /// Keys of the events imported at exactly `time`.
    keys: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct AuditCursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    events: Option<Position>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    admin: Option<Position>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    User,
    Admin,
}

impl Stream {
    fn path(self) -> &'static str {
        match self {
            Stream::User => "events",
            Stream::Admin => "admin-events",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Stream::User => "event",
            Stream::Admin => "admin-event",
        }
    }
}

/// An event as listed, kept whole for `raw`.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
struct RawEvent(Value);

impl Keyed for RawEvent {
    fn key(&self) -> String {
        // Paging dedup only; the stream prefix is added by `event_key`.
        event_key("", &self.0)
    }
}

pub(super) fn event_key(prefix: &str, v: &Value) -> String {
    match v.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => format!("{prefix}:{id}"),
        _ => format!("{prefix}:{}", &crate::fingerprint(&v.to_string())[..32]),
    }
}

/// An event's `raw`: the listed JSON with an admin event's `representation` (a JSON string)
/// parsed, so that the redaction rules reach inside it; one that is not JSON is dropped, as its
/// secrets could not be found.
fn raw_of(v: &Value) -> Value {
    let mut raw = v.clone();
    if let Some(rep) = raw.get_mut("representation") {
        if let Value::String(s) = rep {
            *rep = serde_json::from_str::<Value>(s)
                .unwrap_or_else(|_| Value::String(format!("[not JSON, {} bytes]", s.len())));
        }
    }
    raw
}

/// The event redacted by the crate's one rule set, [`crate::redact`].
fn redacted(time: i64, mut event: AuditEvent) -> (i64, AuditEvent) {
    crate::redact::event(&mut event, crate::redact::Format::Keycloak);
    (time, event)
}

fn at(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_millis(ms)
}

/// A user event, normalised.
pub(super) fn user_event(key: String, v: &Value) -> Result<(i64, AuditEvent), String> {
    let e: EventRep = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    let when = at(e.time).ok_or_else(|| format!("time {} is out of range", e.time))?;
    let action = e.kind.clone().unwrap_or_else(|| "UNKNOWN".into());
    let denied = e.error.is_some() || action.ends_with("_ERROR");
    let raw = raw_of(v);
    Ok(redacted(
        e.time,
        AuditEvent {
            dedup_key: key,
            at: when,
            actor: e.user_id.clone(),
            credential: match (&e.user_id, &e.session_id) {
                (Some(u), Some(s)) => Some(session_id(u, s)),
                _ => None,
            },
            action,
            resource: e.client_id.as_deref().map(client_principal_id),
            outcome: if denied {
                Outcome::Deny
            } else {
                Outcome::Allow
            },
            source_ip: e.ip_address,
            raw,
        },
    ))
}

/// An admin event, normalised: the actor is the admin's user id, the resource the path acted on.
pub(super) fn admin_event(key: String, v: &Value) -> Result<(i64, AuditEvent), String> {
    let e: AdminEventRep = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    let when = at(e.time).ok_or_else(|| format!("time {} is out of range", e.time))?;
    let auth = e.auth_details.clone();
    let raw = raw_of(v);
    Ok(redacted(
        e.time,
        AuditEvent {
            dedup_key: key,
            at: when,
            actor: auth.as_ref().and_then(|a| a.user_id.clone()),
            credential: None,
            action: format!(
                "admin {} {}",
                e.operation_type.as_deref().unwrap_or("UNKNOWN"),
                e.resource_type.as_deref().unwrap_or("UNKNOWN")
            ),
            resource: e.resource_path.clone(),
            outcome: if e.error.is_some() {
                Outcome::Error
            } else {
                Outcome::Allow
            },
            source_ip: auth.and_then(|a| a.ip_address),
            raw,
        },
    ))
}

fn parse_cursor(raw: &str) -> Result<AuditCursor, ConnectorError> {
    serde_json::from_str(raw).map_err(|e| {
        ConnectorError::InvalidConfig(format!(
            "the saved Keycloak audit cursor cannot be read ({e}); reset the backend's audit cursor"
        ))
    })
}

impl Keycloak {
    pub(crate) async fn events_config(&self) -> Result<EventsConfigRep, ConnectorError> {
        self.get_json(
            self.admin_url(&["events", "config"])?,
            &needs("the realm's events configuration", need::VIEW_EVENTS),
        )
        .await
    }

    pub(crate) async fn read_audit(
        &self,
        since: Option<Cursor>,
        sink: &mut dyn AuditSink,
    ) -> Result<Option<Cursor>, ConnectorError> {
        let mut cursor = match &since {
            Some(raw) => parse_cursor(raw)?,
            None => AuditCursor::default(),
        };
        let config = self.events_config().await?;
        if !config.events_enabled && !config.admin_events_enabled {
            tracing::info!(realm = %self.realm, "the realm saves no events; nothing to import");
            return Ok(since);
        }
        for (stream, enabled) in [
            (Stream::User, config.events_enabled),
            (Stream::Admin, config.admin_events_enabled),
        ] {
            if !enabled {
                continue;
            }
            let from = match stream {
                Stream::User => cursor.events.clone(),
                Stream::Admin => cursor.admin.clone(),
            };
            let events = self.new_events(stream, from.as_ref()).await?;
            let mut pos = from.unwrap_or_default();
            for chunk in events.chunks(BATCH) {
                for (time, e) in chunk {
                    if *time > pos.time {
                        pos.time = *time;
                        pos.keys.clear();
                    }
                    pos.keys.push(e.dedup_key.clone());
                }
                match stream {
                    Stream::User => cursor.events = Some(pos.clone()),
                    Stream::Admin => cursor.admin = Some(pos.clone()),
                }
                let next = serde_json::to_string(&cursor)
                    .map_err(|e| ConnectorError::InvalidConfig(format!("audit cursor: {e}")))?;
                sink.batch(chunk.iter().map(|(_, e)| e.clone()).collect(), next)
                    .await?;
            }
        }
        let out = serde_json::to_string(&cursor)
            .map_err(|e| ConnectorError::InvalidConfig(format!("audit cursor: {e}")))?;
        Ok(Some(out))
    }

    /// The events of one stream after `from`, oldest first, with their times.
    async fn new_events(
        &self,
        stream: Stream,
        from: Option<&Position>,
    ) -> Result<Vec<(i64, AuditEvent)>, ConnectorError> {
        let day = from
            .and_then(|p| at(p.time))
            .and_then(|t| t.checked_sub_days(Days::new(1)))
            .map(|t| t.format("%Y-%m-%d").to_string());
        let query: Vec<(&str, &str)> = day
            .as_deref()
            .map(|d| vec![("dateFrom", d)])
            .unwrap_or_default();
        let what = match stream {
            Stream::User => "the realm's events",
            Stream::Admin => "the realm's admin events",
        };
        let listed: Vec<RawEvent> = self
            .get_paged(&[stream.path()], &query, &needs(what, need::VIEW_EVENTS))
            .await?;
        let seen: HashSet<&str> = from
            .map(|p| p.keys.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let mut out = Vec::new();
        for RawEvent(v) in &listed {
            let key = event_key(stream.prefix(), v);
            let parsed = match stream {
                Stream::User => user_event(key, v),
                Stream::Admin => admin_event(key, v),
            };
            let (time, event) = parsed.map_err(|detail| ConnectorError::Malformed {
                target: self.target(),
                what: format!("an entry of {what}"),
                detail,
            })?;
            let new = match from {
                None => true,
                Some(p) => {
                    time > p.time || (time == p.time && !seen.contains(event.dedup_key.as_str()))
                }
            };
            if new {
                out.push((time, event));
            }
        }
        out.sort_by(|a, b| (a.0, &a.1.dedup_key).cmp(&(b.0, &b.1.dedup_key)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redaction_reaches_into_admin_representations() {
        let v = json!({
            "representation": "{\"clientId\":\"app\",\"secret\":\"s3cr3t\",\"attributes\":{\"client.secret.rotated\":\"old\"}}",
            "authDetails": {"userId": "u1"},
            "details": {"token_id": "jti-1", "refresh_token": "eyJ..."},
            "credentials": [{"type": "password", "value": "pw"}]
        });
        let mut v = raw_of(&v);
        crate::redact::value(&mut v, crate::redact::Format::Keycloak);
        let text = v.to_string();
        for secret in ["s3cr3t", "old", "eyJ", "\"pw\""] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(v["representation"]["clientId"], "app");
        assert_eq!(v["details"]["token_id"], "jti-1");
    }

    /// A canary in each place a Keycloak event can carry a secret: an implicit-flow redirect's
    /// fragment, a token in the details, an admin event's representation.
    #[test]
    fn events_keep_no_secret_and_mark_what_went() {
        const CANARY: &str = "CANARY-7f3a51e0";
        let user = json!({"id": "e1", "time": 1_700_000_000_000_i64, "type": "LOGIN",
            "realmId": "r", "clientId": "spa", "userId": "u1", "sessionId": "s1",
            "details": {"redirect_uri": format!("https://spa.example/cb#state=x&access_token={CANARY}&token_type=Bearer"),
                        "token_id": "jti-1", "refresh_token_type": "Refresh", "username": "jdoe"}});
        let (_, ev) = user_event("event:e1".into(), &user).unwrap();
        let text = serde_json::to_string(&ev).unwrap();
        assert!(!text.contains(CANARY), "{text}");
        assert_eq!(
            ev.raw["portcullis_redacted"],
            json!(["details.redirect_uri"])
        );
        assert_eq!(ev.raw["details"]["token_id"], "jti-1");
        assert_eq!(ev.raw["details"]["refresh_token_type"], "Refresh");
        assert_eq!(ev.raw["details"]["username"], "jdoe");
        let admin = json!({"id": "a1", "time": 1_700_000_000_000_i64, "operationType": "CREATE",
            "resourceType": "USER", "resourcePath": "users/u2",
            "authDetails": {"userId": "u1", "ipAddress": "10.0.0.1"},
            "representation": format!(r#"{{"username":"new","credentials":[{{"type":"password","value":"{CANARY}","temporary":false}}]}}"#)});
        let (_, ev) = admin_event("admin-event:a1".into(), &admin).unwrap();
        let text = serde_json::to_string(&ev).unwrap();
        assert!(!text.contains(CANARY), "{text}");
        assert_eq!(ev.raw["representation"]["username"], "new");
        assert_eq!(
            ev.raw["portcullis_redacted"],
            json!(["representation.credentials[0].value"])
        );
    }

    #[test]
    fn keys_use_ids_when_present_and_hashes_otherwise() {
        assert_eq!(
            event_key("event", &json!({"id": "e1", "time": 1})),
            "event:e1"
        );
        let a = event_key("event", &json!({"time": 1, "type": "LOGIN"}));
        let b = event_key("event", &json!({"time": 1, "type": "LOGOUT"}));
        assert!(a.starts_with("event:") && a.len() == "event:".len() + 32);
        assert_ne!(a, b);
    }

    #[test]
    fn wrong_types_are_errors_not_panics() {
        assert!(user_event("k".into(), &json!({"time": "yesterday"})).is_err());
        assert!(user_event("k".into(), &json!({"type": "LOGIN"})).is_err());
        assert!(admin_event("k".into(), &json!({"time": 1, "authDetails": 3})).is_err());
        assert!(user_event("k".into(), &json!({"time": i64::MAX})).is_err());
        assert!(parse_cursor("{\"events\": 3}").is_err());
    }
}
