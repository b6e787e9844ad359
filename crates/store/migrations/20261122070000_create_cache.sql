-- The normalised cache. Inventory rows are keyed within a backend by the backend's own id
-- (external_id), so a re-sync updates in place. Secrets are never stored: credentials are
-- identified by accessor/session id or by the SHA-256 fingerprint of the token value.

CREATE TABLE backends (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    url             TEXT NOT NULL,
    credential_ref  TEXT NOT NULL,            -- JSON CredentialRef: a keychain account or an env var NAME
    config          TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL,
    last_check_at   TEXT,
    last_check_ok   INTEGER,
    last_check_msg  TEXT
);

CREATE TABLE principals (
    id           INTEGER PRIMARY KEY,
    backend_id   INTEGER NOT NULL REFERENCES backends(id) ON DELETE CASCADE,
    external_id  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    enabled      INTEGER NOT NULL DEFAULT 1,
    attrs        TEXT NOT NULL DEFAULT '{}',
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    UNIQUE (backend_id, external_id)
);

CREATE TABLE roles (
    id           INTEGER PRIMARY KEY,
    backend_id   INTEGER NOT NULL REFERENCES backends(id) ON DELETE CASCADE,
    external_id  TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT,
    last_seen    TEXT NOT NULL,
    UNIQUE (backend_id, external_id)
);

CREATE TABLE permissions (
    id           INTEGER PRIMARY KEY,
    backend_id   INTEGER NOT NULL REFERENCES backends(id) ON DELETE CASCADE,
    external_id  TEXT NOT NULL,
    name         TEXT NOT NULL,
    resource     TEXT NOT NULL,
    action       TEXT NOT NULL,
    raw          TEXT NOT NULL DEFAULT 'null',
    last_seen    TEXT NOT NULL,
    UNIQUE (backend_id, external_id)
);

-- Edges of the grant graph, by external id within one backend.
CREATE TABLE grants (
    id           INTEGER PRIMARY KEY,
    backend_id   INTEGER NOT NULL REFERENCES backends(id) ON DELETE CASCADE,
    from_kind    TEXT NOT NULL,
    from_id      TEXT NOT NULL,
    to_kind      TEXT NOT NULL,
    to_id        TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    UNIQUE (backend_id, from_kind, from_id, to_kind, to_id)
);
CREATE INDEX grants_to ON grants (backend_id, to_kind, to_id);

CREATE TABLE credentials (
    id                     INTEGER PRIMARY KEY,
    backend_id             INTEGER NOT NULL REFERENCES backends(id) ON DELETE CASCADE,
    external_id            TEXT NOT NULL,
    kind                   TEXT NOT NULL,
    principal_external_id  TEXT,
    client                 TEXT,
    scopes                 TEXT NOT NULL DEFAULT '[]',
    issued_at              TEXT,
    expires_at             TEXT,
    last_used_at           TEXT,
    status                 TEXT NOT NULL,
    attrs                  TEXT NOT NULL DEFAULT '{}',
    first_seen             TEXT NOT NULL,
    last_seen              TEXT NOT NULL,
    UNIQUE (backend_id, external_id)
);
CREATE INDEX credentials_principal ON credentials (backend_id, principal_external_id);

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY,
    backend_id  INTEGER NOT NULL REFERENCES backends(id) ON DELETE CASCADE,
    dedup_key   TEXT NOT NULL,
    at          TEXT NOT NULL,
    actor       TEXT,
    credential  TEXT,
    action      TEXT NOT NULL,
    resource    TEXT,
    outcome     TEXT NOT NULL,
    source_ip   TEXT,
    raw         TEXT NOT NULL,
    UNIQUE (backend_id, dedup_key)
);
CREATE INDEX audit_events_at ON audit_events (at DESC, id DESC);
CREATE INDEX audit_events_actor ON audit_events (actor, at DESC);
CREATE INDEX audit_events_credential ON audit_events (credential, at DESC);

CREATE VIRTUAL TABLE audit_fts USING fts5 (
    actor, credential, action, resource, source_ip, raw,
    content = 'audit_events', content_rowid = 'id'
);
CREATE TRIGGER audit_events_ai AFTER INSERT ON audit_events BEGIN
    INSERT INTO audit_fts (rowid, actor, credential, action, resource, source_ip, raw)
    VALUES (new.id, new.actor, new.credential, new.action, new.resource, new.source_ip, new.raw);
END;
CREATE TRIGGER audit_events_ad AFTER DELETE ON audit_events BEGIN
    INSERT INTO audit_fts (audit_fts, rowid, actor, credential, action, resource, source_ip, raw)
    VALUES ('delete', old.id, old.actor, old.credential, old.action, old.resource, old.source_ip, old.raw);
END;

CREATE TABLE audit_cursors (
    backend_id  INTEGER PRIMARY KEY REFERENCES backends(id) ON DELETE CASCADE,
    cursor      TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE sync_runs (
    id             INTEGER PRIMARY KEY,
    backend_id     INTEGER NOT NULL REFERENCES backends(id) ON DELETE CASCADE,
    started_at     TEXT NOT NULL,
    finished_at    TEXT,
    ok             INTEGER,
    counts         TEXT NOT NULL DEFAULT '{}',
    error_code     TEXT,
    error_message  TEXT
);
CREATE INDEX sync_runs_backend ON sync_runs (backend_id, id DESC);

-- Append-only, hash-chained record of every state-changing action. A state change of an action is
-- a new entry naming the action's first entry in `action_seq`; rows are never updated or deleted.
CREATE TABLE journal (
    seq         INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    state       TEXT NOT NULL,
    action_seq  INTEGER,
    detail      TEXT NOT NULL DEFAULT '{}',
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE
);
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal BEGIN
    SELECT RAISE(ABORT, 'journal is append-only');
END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal BEGIN
    SELECT RAISE(ABORT, 'journal is append-only');
END;

CREATE TABLE reviews (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    scope          TEXT NOT NULL DEFAULT '{}',
    snapshot       TEXT NOT NULL DEFAULT '[]',
    created_at     TEXT NOT NULL,
    due_at         TEXT,
    status         TEXT NOT NULL,
    signed_off_by  TEXT,
    signed_off_at  TEXT
);

CREATE TABLE decisions (
    id               INTEGER PRIMARY KEY,
    review_id        INTEGER NOT NULL REFERENCES reviews(id),
    item_key         TEXT NOT NULL,
    verdict          TEXT NOT NULL,
    note             TEXT,
    reviewer         TEXT NOT NULL,
    at               TEXT NOT NULL,
    applied_receipt  TEXT
);
CREATE INDEX decisions_review ON decisions (review_id, item_key);

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
