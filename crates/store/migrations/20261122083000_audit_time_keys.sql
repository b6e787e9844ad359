-- Audit events for the audit browser: time-ordered ids, a compact full-text index.
--
-- 1. `id` becomes a time key: (epoch milliseconds of `at`) << 20, plus a per-millisecond sequence
--    that the writer assigns (crates/store/src/audit.rs). Newest-first is then rowid order, so
--    keyset paging is `id < cursor`, a time range is an id range, every secondary index (which ends
--    with the rowid) is already in time order, and the full-text index answers `ORDER BY rowid
--    DESC LIMIT n` without sorting. `at` stays as it was (RFC 3339 text) for readers that use it.
-- 2. The full-text index no longer holds the whole raw JSON (most of its tokens were ids, hashes
--    and timestamps nobody searches, and indexing them dominated ingest): it indexes the normalised
--    fields plus `summary`, a short text the writer extracts from the raw event. `columnsize=0`
--    because results are ordered by time, never by bm25.
-- 3. Indexes on `at` are replaced by indexes whose implicit rowid suffix is the time order.
-- 4. Bulk inserts can defer the per-row triggers to one statement per batch (see below).

DROP TRIGGER IF EXISTS audit_events_ai;
DROP TRIGGER IF EXISTS audit_events_ad;
DROP TRIGGER IF EXISTS audit_events_au;
DROP TABLE IF EXISTS audit_fts;
DROP INDEX IF EXISTS audit_events_at;
DROP INDEX IF EXISTS audit_events_actor;
DROP INDEX IF EXISTS audit_events_credential;

ALTER TABLE audit_events ADD COLUMN summary TEXT NOT NULL DEFAULT '';

-- Existing rows get their time key; the old id (< 2^20 apart within one millisecond in any cache
-- smaller than a million events) keeps keys unique.
UPDATE audit_events
SET id = (MAX(0, unixepoch(at) * 1000 + CAST(substr(at, 21, 3) AS INTEGER)) << 20) + (id & 1048575)
WHERE unixepoch(at) IS NOT NULL;

CREATE INDEX audit_events_actor_id ON audit_events (actor);
CREATE INDEX audit_events_credential_id ON audit_events (credential);
CREATE INDEX audit_events_outcome_id ON audit_events (outcome);
-- Lookups by (backend, credential) use audit_events_usage (20261122081000), which starts with the
-- same two columns; one index fewer to maintain per event.
DROP INDEX IF EXISTS audit_events_backend_credential;

CREATE VIRTUAL TABLE audit_fts USING fts5 (
    actor, credential, action, resource, source_ip, summary,
    content = 'audit_events', content_rowid = 'id', columnsize = 0
);
INSERT INTO audit_fts (audit_fts) VALUES ('rebuild');

-- Per-row triggers cost more than the insert itself, and an FTS5 insert from a trigger flushes
-- the index at each statement's savepoint (one tiny segment per event). The bulk writer sets
-- `deferred` inside its own transaction, inserts the rows, then does the per-row work once per
-- batch (one INSERT ... SELECT into the index, one generation bump) and clears the flag before it
-- commits, so no other connection ever sees it set. Every other insert path (plain SQL, tests)
-- runs the triggers as before, so a later delete (a backend removed: cascade) never asks FTS5 to
-- remove a row it does not hold.
CREATE TABLE audit_writer (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    deferred  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO audit_writer (id, deferred) VALUES (1, 0);

CREATE TRIGGER audit_events_ai AFTER INSERT ON audit_events
WHEN (SELECT deferred FROM audit_writer WHERE id = 1) = 0 BEGIN
    INSERT INTO audit_fts (rowid, actor, credential, action, resource, source_ip, summary)
    VALUES (new.id, new.actor, new.credential, new.action, new.resource, new.source_ip, new.summary);
END;
CREATE TRIGGER audit_events_ad AFTER DELETE ON audit_events BEGIN
    INSERT INTO audit_fts (audit_fts, rowid, actor, credential, action, resource, source_ip, summary)
    VALUES ('delete', old.id, old.actor, old.credential, old.action, old.resource, old.source_ip, old.summary);
END;
CREATE TRIGGER audit_events_au AFTER UPDATE ON audit_events BEGIN
    INSERT INTO audit_fts (audit_fts, rowid, actor, credential, action, resource, source_ip, summary)
    VALUES ('delete', old.id, old.actor, old.credential, old.action, old.resource, old.source_ip, old.summary);
    INSERT INTO audit_fts (rowid, actor, credential, action, resource, source_ip, summary)
    VALUES (new.id, new.actor, new.credential, new.action, new.resource, new.source_ip, new.summary);
END;

-- The access map's change counter (20261122080000): same body, skipped while the bulk writer has
-- deferred it; the writer bumps the counter once in each batch's transaction instead.
DROP TRIGGER IF EXISTS access_gen_audit_i;
CREATE TRIGGER access_gen_audit_i AFTER INSERT ON audit_events
WHEN (SELECT deferred FROM audit_writer WHERE id = 1) = 0 BEGIN
    UPDATE access_generation SET gen = gen + 1 WHERE id = 1;
END;
