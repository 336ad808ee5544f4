-- Bounded work per request and exact settlement (issue 13).
--
-- accounts: the largest charge or authorization; 0 means the gateway's
-- default (gateway.DefaultMaxAmount).
ALTER TABLE accounts ADD COLUMN max_amount BIGINT NOT NULL DEFAULT 0 CHECK (max_amount >= 0);

-- payments: refunds made or in flight, bounded per payment.
ALTER TABLE payments ADD COLUMN refund_count INTEGER NOT NULL DEFAULT 0 CHECK (refund_count >= 0);
UPDATE payments SET refund_count = (SELECT COUNT(*) FROM transactions t
    WHERE t.payment_id = payments.id AND t.operation = 'refund' AND t.result IN ('approved', 'pending'))
    WHERE status IN ('captured', 'settled');

-- Settlement reads the captured payments of one account, environment and
-- currency at a time, in chunks: a partial index holds just those, so that
-- a chunk never scans the payments settled before it (with the index on
-- status alone, the planner preferred the account's index and every chunk
-- scanned every earlier one: 2 s a chunk at 2 million payments). It
-- replaces the index on status, which only settlement used.
DROP INDEX payments_status;
CREATE INDEX payments_captured ON payments (account_id, environment, currency, updated_at) WHERE status = 'captured';

-- A lookup reads a payment's latest transactions: the index serves them in
-- order instead of sorting every one.
DROP INDEX transactions_payment;
CREATE INDEX transactions_payment ON transactions (payment_id, created_at, id);

-- Settlement batches are per account, environment and currency, as
-- acquirers settle them, and belong to a settlement run; a batch written
-- before keeps its totals per currency in totals and these columns empty.
ALTER TABLE settlement_batches ADD COLUMN run_id TEXT NOT NULL DEFAULT '';
ALTER TABLE settlement_batches ADD COLUMN account_id TEXT NOT NULL DEFAULT '';
ALTER TABLE settlement_batches ADD COLUMN environment TEXT NOT NULL DEFAULT '';
ALTER TABLE settlement_batches ADD COLUMN currency TEXT NOT NULL DEFAULT '';
ALTER TABLE settlement_batches ADD COLUMN total BIGINT NOT NULL DEFAULT 0;
CREATE INDEX settlement_batches_run ON settlement_batches (run_id, account_id, environment, currency);

-- A settlement run closes the batches of one cut-off. Its cutoff is unique,
-- so that of several gateway processes one settles; its lease, renewed
-- between chunks, lets another take over a run whose process died.
CREATE TABLE settlement_runs (
    id          TEXT PRIMARY KEY,
    cutoff      TEXT NOT NULL UNIQUE,
    owner       TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    lease_until TEXT NOT NULL,
    done_at     TEXT
);
