-- The access map keeps an in-memory graph of the cache; it must know when the cache changed under
-- it, whoever changed it (a sync, a revocation, token triage, another process). Every write to
-- the tables the graph is built from bumps one counter; the engine compares it before answering.
CREATE TABLE access_generation (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    gen  INTEGER NOT NULL
);
INSERT INTO access_generation (id, gen) VALUES (1, 0);

CREATE TRIGGER access_gen_backends_i AFTER INSERT ON backends BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_backends_u AFTER UPDATE OF name, kind ON backends BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_backends_d AFTER DELETE ON backends BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_principals_i AFTER INSERT ON principals BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_principals_u AFTER UPDATE ON principals BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_principals_d AFTER DELETE ON principals BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_roles_i AFTER INSERT ON roles BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_roles_u AFTER UPDATE ON roles BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_roles_d AFTER DELETE ON roles BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_permissions_i AFTER INSERT ON permissions BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_permissions_u AFTER UPDATE ON permissions BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_permissions_d AFTER DELETE ON permissions BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_grants_i AFTER INSERT ON grants BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_grants_u AFTER UPDATE OF from_kind, from_id, to_kind, to_id ON grants BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_grants_d AFTER DELETE ON grants BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_credentials_i AFTER INSERT ON credentials BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_credentials_u AFTER UPDATE ON credentials BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_credentials_d AFTER DELETE ON credentials BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_audit_i AFTER INSERT ON audit_events BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_audit_u AFTER UPDATE OF credential, actor, outcome ON audit_events BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
CREATE TRIGGER access_gen_audit_d AFTER DELETE ON audit_events BEGIN UPDATE access_generation SET gen = gen + 1 WHERE id = 1; END;
