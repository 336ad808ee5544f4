-- Two-phase operations and events in commit order (ADR 11).
--
-- payments: the processor's id of the authorization, and the operations in
-- flight (claimed, waiting for the processor's answer).
ALTER TABLE payments ADD COLUMN processor_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN in_flight INTEGER NOT NULL DEFAULT 0 CHECK (in_flight >= 0);
ALTER TABLE payments ADD COLUMN in_flight_op TEXT NOT NULL DEFAULT '';
-- The portal lists an account's payments newest first, by keyset.
CREATE INDEX payments_account_created ON payments (account_id, environment, created_at, id);

-- transactions: the ledger position is (xid, seq): xid is the id of the
-- database transaction that made the row final, seq a sequence number taken
-- in it. Transactions commit out of sequence order, so a reader follows
-- (xid, seq) only below the oldest transaction still running
-- (pg_snapshot_xmin): every row under it has committed or never will, and
-- every row that commits later has a larger xid. Rows from before this
-- migration keep xid 0, in their old order. lease_until is, for a pending
-- row, when the reconciler may take it over. A pending row may change (once
-- finished, never again); every other row is append-only.
CREATE SEQUENCE transactions_seq;
ALTER TABLE transactions ADD COLUMN seq BIGINT;
ALTER TABLE transactions ADD COLUMN xid BIGINT;
ALTER TABLE transactions ADD COLUMN lease_until TEXT;
ALTER TABLE transactions DISABLE TRIGGER transactions_append_only;
UPDATE transactions SET seq = o.n, xid = 0
    FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM transactions) o
    WHERE transactions.id = o.id;
ALTER TABLE transactions ENABLE TRIGGER transactions_append_only;
SELECT setval('transactions_seq', COALESCE((SELECT MAX(seq) FROM transactions), 0) + 1, false);
ALTER TABLE transactions ALTER COLUMN seq SET DEFAULT nextval('transactions_seq');
ALTER TABLE transactions ALTER COLUMN seq SET NOT NULL;
ALTER TABLE transactions ALTER COLUMN xid SET DEFAULT (pg_current_xact_id()::text::bigint);
ALTER TABLE transactions ALTER COLUMN xid SET NOT NULL;
CREATE INDEX transactions_position ON transactions (xid, seq);
CREATE INDEX transactions_pending ON transactions (lease_until) WHERE result = 'pending';

CREATE OR REPLACE FUNCTION transactions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.result = 'pending' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'transactions is append-only';
END;
$$;

-- idempotency_keys: a record now names the transaction its key claimed
-- (replays are rendered from it); status and body stay for the records
-- written before, which are replayed as stored. Records expire after the
-- retention period, by creation time.
ALTER TABLE idempotency_keys ADD COLUMN transaction_id TEXT NOT NULL DEFAULT '';
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
