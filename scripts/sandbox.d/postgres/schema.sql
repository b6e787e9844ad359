-- Acme database objects. Run by seed.py as the superuser inside database acme, after
-- `SET ROLE acme_owner`, so acme_owner owns (and is the grantor of) everything here.
-- Privileges are granted afterwards from seed.toml ([[postgres.group_roles]]).

CREATE SCHEMA billing;
CREATE SCHEMA payments;
CREATE SCHEMA reporting;

CREATE TABLE billing.customers (
    id          serial PRIMARY KEY,
    name        text NOT NULL,
    email       text NOT NULL,
    country     text NOT NULL
);

CREATE TABLE billing.invoices (
    id           serial PRIMARY KEY,
    customer_id  integer NOT NULL REFERENCES billing.customers (id),
    amount_cents integer NOT NULL,
    status       text NOT NULL DEFAULT 'open',
    issued_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payments.cards (
    id            serial PRIMARY KEY,
    customer_id   integer NOT NULL REFERENCES billing.customers (id),
    last4         text NOT NULL,
    pan_encrypted bytea NOT NULL,
    expiry        text NOT NULL
);

CREATE TABLE payments.refunds (
    id           serial PRIMARY KEY,
    invoice_id   integer NOT NULL REFERENCES billing.invoices (id),
    amount_cents integer NOT NULL,
    reason       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE reporting.daily (
    day           date PRIMARY KEY,
    revenue_cents bigint NOT NULL,
    invoices      integer NOT NULL,
    refunds       integer NOT NULL
);

-- Invoker's rights: callers need INSERT on billing.invoices as well as EXECUTE.
CREATE FUNCTION billing.issue_invoice(customer integer, amount integer) RETURNS integer
LANGUAGE sql AS $$
    INSERT INTO billing.invoices (customer_id, amount_cents) VALUES (customer, amount) RETURNING id
$$;

-- Definer's rights: EXECUTE alone lets a caller rebuild the report.
CREATE FUNCTION reporting.refresh_daily() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO reporting.daily (day, revenue_cents, invoices, refunds)
    SELECT d.day, d.revenue, d.n,
           (SELECT count(*) FROM payments.refunds r WHERE r.created_at::date = d.day)
      FROM (SELECT issued_at::date AS day, sum(amount_cents) AS revenue, count(*) AS n
              FROM billing.invoices
             GROUP BY issued_at::date) AS d
    ON CONFLICT (day) DO UPDATE
       SET revenue_cents = EXCLUDED.revenue_cents, invoices = EXCLUDED.invoices, refunds = EXCLUDED.refunds;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

REVOKE EXECUTE ON FUNCTION billing.issue_invoice(integer, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION reporting.refresh_daily() FROM PUBLIC;

INSERT INTO billing.customers (name, email, country) VALUES
    ('Globex', 'ap@globex.example', 'US'),
    ('Initech', 'billing@initech.example', 'US'),
    ('Umbrella', 'finance@umbrella.example', 'GB'),
    ('Hooli', 'payables@hooli.example', 'US'),
    ('Stark Industries', 'accounts@stark.example', 'US');

INSERT INTO billing.invoices (customer_id, amount_cents, status, issued_at)
SELECT 1 + (g % 5), 1000 + g * 137, CASE WHEN g % 3 = 0 THEN 'paid' ELSE 'open' END,
       now() - make_interval(days => g % 14)
  FROM generate_series(1, 40) AS g;

INSERT INTO payments.cards (customer_id, last4, pan_encrypted, expiry) VALUES
    (1, '4242', decode('8f3a9c', 'hex'), '12/28'),
    (2, '1881', decode('1c77e0', 'hex'), '03/27'),
    (3, '0005', decode('a0b1c2', 'hex'), '09/29');

INSERT INTO payments.refunds (invoice_id, amount_cents, reason) VALUES
    (3, 250, 'duplicate charge'),
    (7, 1000, 'service outage');

INSERT INTO reporting.daily (day, revenue_cents, invoices, refunds)
SELECT current_date - g, 50000 + g * 1234, 10 + g, g % 2
  FROM generate_series(1, 30) AS g;
