-- Two-phase operations and events in commit order (ADR 11).
--
-- payments: the processor's id of the authorization, and the operations in
-- flight (claimed, waiting for the processor's answer).
ALTER TABLE payments ADD COLUMN processor_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN in_flight INTEGER NOT NULL DEFAULT 0 CHECK (in_flight >= 0);
ALTER TABLE payments ADD COLUMN in_flight_op TEXT NOT NULL DEFAULT '';
-- The portal lists an account's payments newest first, by keyset.
CREATE INDEX payments_account_created ON payments (account_id, environment, created_at, id);

-- transactions: seq is the ledger position, in commit order: SQLite
-- serialises writers, so the next rowid is always past every committed row
-- (a pending row gets a new seq when it is finished). As the table's
-- INTEGER PRIMARY KEY it costs no B-tree of its own. lease_until is, for a
-- pending row, when the reconciler may take it over. A pending row may
-- change (once finished, never again); every other row is append-only.
DROP TRIGGER transactions_no_update;
DROP TRIGGER transactions_no_delete;
CREATE TABLE transactions_new (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    payment_id  TEXT NOT NULL REFERENCES payments (id),
    account_id  TEXT NOT NULL,
    environment TEXT NOT NULL,
    operation   TEXT NOT NULL,
    result      TEXT NOT NULL,
    amount      INTEGER NOT NULL CHECK (amount >= 0),
    code        TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    actor       TEXT NOT NULL DEFAULT '',
    lease_until TEXT
);
INSERT INTO transactions_new (id, payment_id, account_id, environment, operation, result, amount, code, request_id, created_at, actor)
    SELECT id, payment_id, account_id, environment, operation, result, amount, code, request_id, created_at, actor
    FROM transactions ORDER BY created_at, id;
DROP TABLE transactions;
ALTER TABLE transactions_new RENAME TO transactions;
CREATE INDEX transactions_payment ON transactions (payment_id);
CREATE INDEX transactions_pending ON transactions (lease_until) WHERE result = 'pending';

CREATE TRIGGER transactions_no_update BEFORE UPDATE ON transactions
WHEN OLD.result <> 'pending'
BEGIN
    SELECT RAISE(ABORT, 'transactions is append-only');
END;
CREATE TRIGGER transactions_no_delete BEFORE DELETE ON transactions
BEGIN
    SELECT RAISE(ABORT, 'transactions is append-only');
END;

-- idempotency_keys: a record now names the transaction its key claimed
-- (replays are rendered from it); status and body stay for the records
-- written before, which are replayed as stored. Records expire after the
-- retention period, by creation time.
ALTER TABLE idempotency_keys ADD COLUMN transaction_id TEXT NOT NULL DEFAULT '';
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
