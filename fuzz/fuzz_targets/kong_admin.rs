//! Kong Admin API documents (`kong::admin::parse_page` / `parse_json`, `kong::inventory`): the
//! data is read as a stream of JSON documents (concatenated collection pages), each tried as a page
//! of every collection the connector lists; what parses becomes one `Snapshot`, which is mapped to
//! an inventory (plugin scopes, ACL allow/deny lists, credential fingerprints, consumer groups).
//! Invariants: no panic; a page parses the same from bytes and from a value; secret fields of
//! credentials never reach the inventory verbatim (they are kept as SHA-256 fingerprints).
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use portcullis_connectors::kong::admin::{parse_json, parse_page, Page};
use portcullis_connectors::kong::inventory::{
    map_inventory, Consumer, ConsumerGroup, GroupMembers, Plugin, Snapshot,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// `data` without JSON's whitespace at either end (space, tab, LF, CR: not form feed, which
/// `trim_ascii` also removes and JSON rejects; the harness's own mistake, found by fuzzing).
fn trim_json_ws(data: &[u8]) -> &[u8] {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let start = data.iter().position(|b| !ws(b)).unwrap_or(data.len());
    let end = data.iter().rposition(|b| !ws(b)).map_or(start, |i| i + 1);
    &data[start..end]
}

fn page<T: DeserializeOwned>(v: &Value, into: &mut Vec<T>) {
    if let Ok(p) = serde_json::from_value::<Page<T>>(v.clone()) {
        into.extend(p.data);
    }
}

fuzz_target!(|data: &[u8]| {
    // The entry points on raw bytes, as a response body reaches them.
    let direct = parse_page::<Consumer>(data).map(|p| p.data.len());
    let _ = parse_json::<Value>(data);
    let _ = parse_page::<Plugin>(data);

    let mut s = Snapshot::default();
    let mut groups: Vec<ConsumerGroup> = Vec::new();
    let mut first = true;
    for v in serde_json::Deserializer::from_slice(data).into_iter::<Value>() {
        let Ok(v) = v else { break };
        if first {
            let via_value =
                serde_json::from_value::<Page<Consumer>>(v.clone()).map(|p| p.data.len());
            if serde_json::to_vec(&v).ok().as_deref() == Some(trim_json_ws(data)) {
                assert_eq!(direct.is_ok(), via_value.is_ok());
            }
            first = false;
        }
        page(&v, &mut s.consumers);
        page(&v, &mut s.key_auths);
        page(&v, &mut s.jwts);
        page(&v, &mut s.basic_auths);
        page(&v, &mut s.hmac_auths);
        page(&v, &mut s.oauth2_apps);
        page(&v, &mut s.oauth2_tokens);
        page(&v, &mut s.acls);
        page(&v, &mut s.plugins);
        page(&v, &mut s.routes);
        page(&v, &mut s.services);
        page(&v, &mut groups);
    }
    // Members: every consumer in every group, as `GET /consumer_groups/{id}/consumers` would say.
    let ids: Vec<String> = s.consumers.iter().map(|c| c.id.clone()).collect();
    for group in groups {
        s.consumer_groups.push(GroupMembers {
            group,
            consumer_ids: ids.clone(),
        });
    }
    let now = Utc
        .timestamp_opt(1_800_000_000, 0)
        .single()
        .expect("a valid time");
    let inv = map_inventory(&s, now);
    let text = serde_json::to_string(&inv).expect("an inventory serialises");
    // A key-auth key is a secret: unless the input uses the same text elsewhere (or it could be
    // an id the mapping derives), it may only reach the inventory as its fingerprint.
    let docs: Vec<Value> = serde_json::Deserializer::from_slice(data)
        .into_iter::<Value>()
        .map_while(Result::ok)
        .collect();
    for v in &docs {
        let Some(items) = v.get("data").and_then(Value::as_array) else {
            continue;
        };
        for item in items {
            let Some(key) = item.get("key").and_then(Value::as_str) else {
                continue;
            };
            if key.len() < 12 || key.contains(['/', ':', '|']) || item.get("id").is_none() {
                continue;
            }
            let uses: usize = docs.iter().map(|d| count(d, key)).sum();
            if uses == 1 {
                assert!(
                    !text.contains(&serde_json::to_string(key).expect("a string serialises")),
                    "a key-auth key reached the inventory verbatim"
                );
            }
        }
    }
});

/// How many strings (values and object keys) in `v` are exactly `s`.
fn count(v: &Value, s: &str) -> usize {
    match v {
        Value::String(x) => usize::from(x == s),
        Value::Array(a) => a.iter().map(|x| count(x, s)).sum(),
        Value::Object(o) => o
            .iter()
            .map(|(k, x)| usize::from(k == s) + count(x, s))
            .sum(),
        _ => 0,
    }
}
