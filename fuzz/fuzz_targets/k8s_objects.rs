//! Kubernetes objects as `kubectl get … -o yaml|json` prints them (`kubernetes::files`,
//! `objects`, `inventory`, `rules`): the data is read as YAML documents and as one JSON document,
//! every document is sorted into `Objects`, and the inventory is built (RBAC rules expanded,
//! aggregation selectors matched, bindings resolved). Invariants: no panic; every grant of the
//! inventory starts from a principal or role the inventory holds or names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_connectors::kubernetes::files::parse_documents;
use portcullis_connectors::kubernetes::inventory::build_inventory;
use portcullis_connectors::kubernetes::objects::Objects;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for json in [false, true] {
        let Ok(docs) = parse_documents(text, json) else {
            continue;
        };
        let mut objects = Objects::default();
        for (i, doc) in docs.into_iter().enumerate() {
            if let Err(e) = objects.add(doc, &format!("document {}", i + 1)) {
                assert!(!e.reason.is_empty(), "an object error must say why");
            }
        }
        let inv = build_inventory(&objects);
        for g in &inv.grants {
            assert!(
                !g.from_id.is_empty() && !g.to_id.is_empty(),
                "grant with an empty end: {g:?}"
            );
        }
    }
});
