-- Who the console itself is on each backend: the actor names and credential ids its own
-- requests carry in that backend's audit trail (a PostgreSQL role, an OAuth client id, a Vault
-- token accessor, a GitLab user id). Written by each sync from the backend's own answers; read
-- by the audit browser and the highlights, which hide the console's own traffic by default.
CREATE TABLE console_identity (
    backend_id  INTEGER NOT NULL REFERENCES backends(id) ON DELETE CASCADE,
    value       TEXT NOT NULL,
    PRIMARY KEY (backend_id, value)
) WITHOUT ROWID;
