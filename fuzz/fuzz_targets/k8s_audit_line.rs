//! Kubernetes audit log lines (`kubernetes::audit::line_outcome`).
//! Each input is tried as the line itself and as a JSON object drawn from the data with the
//! format's vocabulary. Invariants: no panic; an event's text fields are bounded by the line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::{check_line, json_line, Vocab};

const VOCAB: Vocab = Vocab {
    keys: &[
        "kind",
        "apiVersion",
        "level",
        "auditID",
        "stage",
        "requestURI",
        "verb",
        "user",
        "impersonatedUser",
        "username",
        "groups",
        "extra",
        "authentication.kubernetes.io/credential-id",
        "sourceIPs",
        "userAgent",
        "objectRef",
        "resource",
        "namespace",
        "name",
        "apiGroup",
        "subresource",
        "responseStatus",
        "code",
        "annotations",
        "authorization.k8s.io/decision",
        "authorization.k8s.io/reason",
        "requestReceivedTimestamp",
        "stageTimestamp",
        "timestamp",
        "requestObject",
        "responseObject",
    ],
    strings: &[
        "Event",
        "EventList",
        "audit.k8s.io/v1",
        "RequestReceived",
        "ResponseStarted",
        "ResponseComplete",
        "Panic",
        "get",
        "list",
        "create",
        "forbid",
        "allow",
        "secrets",
        "pods",
        "rbac.authorization.k8s.io",
        "/api/v1/namespaces/default/secrets?limit=1",
        "system:serviceaccount:default:sa",
        "JTI=abc",
    ],
};

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data) {
        check_line(portcullis_connectors::kubernetes::audit::line_outcome, line);
    }
    check_line(
        portcullis_connectors::kubernetes::audit::line_outcome,
        &json_line(data, &VOCAB),
    );
});
