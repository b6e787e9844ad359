-- Least-privilege reviews.
--
-- 1. A campaign decision points at the journal entry that recorded it (decisions are journalled
--    before they are stored).
-- 2. A findings run aggregates allowed use by (backend, credential, actor, action, resource,
--    outcome, source) over the review window. This covering index lets that GROUP BY stream in
--    index order without reading the raw JSON; the implicit rowid suffix is the event's time key,
--    so the window is a rowid range checked inside the index.
ALTER TABLE decisions ADD COLUMN journal_seq INTEGER;

CREATE INDEX audit_events_usage
    ON audit_events (backend_id, credential, actor, action, resource, outcome, source_ip);
