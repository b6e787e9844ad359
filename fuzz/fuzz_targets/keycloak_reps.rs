//! Keycloak Admin REST API representations (`keycloak/reps.rs`, `map.rs`, the event mapping of
//! `audit.rs`) through `keycloak::fuzzing` (feature `fuzzing`): the body is read as every listing
//! the inventory reads and as pages of user and admin events; a JSON array drawn from the data with
//! Keycloak's field names is tried too. The inventory is then walked by the access model
//! (`portcullis_engine::access`, the one every screen reads) for every principal, from the rows a
//! sync would store (`AccessRows::of_inventory`). Invariants: no panic; every access path runs
//! from the principal to the permission it explains;
//! events serialise and carry a key; credential secrets in an
//! event's representation are redacted.
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use portcullis_connectors::keycloak::fuzzing::{events_from_body, inventory_from_body};
use portcullis_fuzz::{check_access_paths, object, Vocab};
use serde_json::Value;

const VOCAB: Vocab = Vocab {
    keys: &[
        "id",
        "username",
        "enabled",
        "email",
        "firstName",
        "lastName",
        "emailVerified",
        "createdTimestamp",
        "federationLink",
        "serviceAccountClientId",
        "name",
        "description",
        "composite",
        "clientRole",
        "containerId",
        "realmMappings",
        "clientMappings",
        "client",
        "mappings",
        "path",
        "subGroupCount",
        "subGroups",
        "clientId",
        "protocol",
        "publicClient",
        "serviceAccountsEnabled",
        "notBefore",
        "attributes",
        "userId",
        "ipAddress",
        "start",
        "lastAccess",
        "rememberMe",
        "clients",
        "grantedClientScopes",
        "createdDate",
        "lastUpdatedDate",
        "additionalGrants",
        "key",
        "time",
        "type",
        "sessionId",
        "error",
        "details",
        "authDetails",
        "operationType",
        "resourceType",
        "resourcePath",
        "representation",
        "realmId",
        "eventsEnabled",
        "adminEventsEnabled",
        "active",
        "exp",
        "iat",
        "sub",
        "typ",
        "azp",
        "client_id",
        "scope",
        "aud",
        "sid",
        "session_state",
        "realm_access",
        "resource_access",
        "roles",
        "secret",
        "value",
        "password",
    ],
    strings: &[
        "LOGIN",
        "LOGIN_ERROR",
        "CODE_TO_TOKEN",
        "REFRESH_TOKEN",
        "CREATE",
        "UPDATE",
        "DELETE",
        "USER",
        "CLIENT",
        "REALM_ROLE_MAPPING",
        "users/1/role-mappings/realm",
        "realm-management",
        "view-users",
        "manage-users",
        "offline_access",
        "Offline Token",
        "openid-connect",
        "Bearer",
        "Refresh",
        "Offline",
        "realm:admin",
        "client:app:role",
    ],
};

fn check(body: &[u8], planted_secret: bool) {
    let inv = inventory_from_body(body);
    check_access_paths("keycloak", &inv, true);
    serde_json::to_string(&inv).expect("an inventory serialises");
    for e in events_from_body(body) {
        assert!(!e.dedup_key.is_empty());
        let raw = serde_json::to_string(&e.raw).expect("an event serialises");
        if planted_secret {
            assert!(
                !raw.contains("s3cr3t-fuzz-value"),
                "a secret reached an event: {raw}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(data, false);
    let mut u = Unstructured::new(data);
    let mut items = Vec::new();
    for _ in 0..u.int_in_range(0..=4u8).unwrap_or(0) {
        let Ok(mut o) = object(&mut u, &VOCAB, 1) else {
            break;
        };
        // A secret the redaction must take out wherever Keycloak puts it.
        if let (Some(m), Ok(true)) = (o.as_object_mut(), u.arbitrary::<bool>()) {
            m.insert("secret".into(), Value::String("s3cr3t-fuzz-value".into()));
        }
        items.push(o);
    }
    let body = serde_json::to_vec(&Value::Array(items)).unwrap_or_default();
    check(&body, true);
});
