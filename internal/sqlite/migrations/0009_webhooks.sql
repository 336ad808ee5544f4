-- Webhooks (issue 17): endpoints, the fan-out cursor and deliveries.
--
-- An endpoint belongs to an account and environment. Its signing secret is
-- stored sealed (AES-GCM under a key derived from the server secret); during
-- a rotation the previous secret signs too, until previous_until. events is
-- a comma-separated list of event types, empty for all.
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    environment     TEXT NOT NULL,
    url             TEXT NOT NULL,
    events          TEXT NOT NULL,
    enabled         INTEGER NOT NULL,
    secret          BLOB NOT NULL,
    previous_secret BLOB,
    previous_until  TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX webhook_endpoints_account ON webhook_endpoints (account_id, created_at);

-- The last ledger position fanned out to deliveries. It starts at the end
-- of the ledger as it is now: there is no endpoint yet to deliver older
-- events to.
CREATE TABLE webhook_cursor (
    name  TEXT PRIMARY KEY,
    epoch INTEGER NOT NULL,
    seq   INTEGER NOT NULL
);
INSERT INTO webhook_cursor (name, epoch, seq) SELECT 'ledger', 0, COALESCE(MAX(seq), 0) FROM transactions;

-- One event for one endpoint. seq is the order of fan-out, which is the
-- ledger's commit order; transaction_json is the ledger row the event
-- announces (each attempt renders the envelope around it, with the payment
-- as it is then: the row stays small). next_attempt_at is when a pending
-- delivery is due, or the end of the lease of the process sending it.
-- The partial indexes hold pending rows only: delivered rows leave them.
CREATE TABLE webhook_deliveries (
    seq             INTEGER PRIMARY KEY,
    event_id        TEXT NOT NULL,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    account_id      TEXT NOT NULL,
    environment     TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payment_id      TEXT NOT NULL,
    transaction_json BLOB NOT NULL,
    event_at        TEXT NOT NULL,
    status          TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    give_up_at      TEXT NOT NULL,
    delivered_at    TEXT,
    attempts        TEXT NOT NULL,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_attempt_at, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_chain ON webhook_deliveries (endpoint_id, payment_id, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_account ON webhook_deliveries (account_id, seq);
