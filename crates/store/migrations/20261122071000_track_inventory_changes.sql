-- Sync writes only rows whose content changed: each inventory row keeps a digest of its content.
-- Credentials learnt by token triage (origin 'triage') survive a sync that cannot list them.
ALTER TABLE principals ADD COLUMN digest TEXT NOT NULL DEFAULT '';
ALTER TABLE roles ADD COLUMN digest TEXT NOT NULL DEFAULT '';
ALTER TABLE permissions ADD COLUMN digest TEXT NOT NULL DEFAULT '';
ALTER TABLE credentials ADD COLUMN digest TEXT NOT NULL DEFAULT '';
ALTER TABLE credentials ADD COLUMN origin TEXT NOT NULL DEFAULT 'sync';

-- Audit events get their credential rewritten when an HMAC'd accessor is matched to a token;
-- keep the full-text index in step.
CREATE TRIGGER audit_events_au AFTER UPDATE ON audit_events BEGIN
    INSERT INTO audit_fts (audit_fts, rowid, actor, credential, action, resource, source_ip, raw)
    VALUES ('delete', old.id, old.actor, old.credential, old.action, old.resource, old.source_ip, old.raw);
    INSERT INTO audit_fts (rowid, actor, credential, action, resource, source_ip, raw)
    VALUES (new.id, new.actor, new.credential, new.action, new.resource, new.source_ip, new.raw);
END;

CREATE INDEX credentials_status ON credentials (status, expires_at);

-- Last use of a credential = newest allowed event naming it.
CREATE INDEX audit_events_backend_credential ON audit_events (backend_id, credential, outcome, at);
