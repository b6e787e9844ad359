-- Audit full-text index: identifiers joined by `-` or `_` are single tokens.
--
-- Audit logs are made of identifiers (`client-07`, `user-0042`, `userpass-bob`,
-- `insufficient_scope`, `billing-ro`). With the default tokenizer each is a phrase of two tokens,
-- and the first part is usually in nearly every event (`client`, `user`): a phrase query then
-- walks that part's position list across most of the table (20 ms for a first page of
-- `client-07 server_error` over a million events). As one token, the identifier's own posting
-- list is short. Trade-off, stated in the query language's doc: a word inside such an
-- identifier is found with a prefix (`userpass*`), not on its own (`bob` does not find
-- `userpass-bob`). Dots, slashes and colons still separate words, so sentences, paths, scopes
-- and addresses are split as before.
--
-- The per-row triggers (20261122083000) name the table, not its definition: they keep working.

DROP TABLE IF EXISTS audit_fts;

CREATE VIRTUAL TABLE audit_fts USING fts5 (
    actor, credential, action, resource, source_ip, summary,
    content = 'audit_events', content_rowid = 'id', columnsize = 0,
    tokenize = "unicode61 tokenchars '-_'"
);
INSERT INTO audit_fts (audit_fts) VALUES ('rebuild');
