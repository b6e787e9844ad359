//! One timestamp format for the whole cache: RFC 3339 UTC with milliseconds and a `Z`, which sorts
//! lexically in time order, so SQL `ORDER BY at` and range filters work on the text.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_sorts_lexically() {
        let a = parse_ts("2026-11-22T07:00:00Z").unwrap();
        let b = a + chrono::Duration::milliseconds(1500);
        assert_eq!(parse_ts(&ts(a)), Some(a));
        assert!(ts(a) < ts(b));
        assert_eq!(ts(a), "2026-11-22T07:00:00.000Z");
    }

    #[test]
    fn garbage_is_none_not_a_panic() {
        assert_eq!(parse_ts("yesterday"), None);
        assert_eq!(parse_ts(""), None);
    }
}
