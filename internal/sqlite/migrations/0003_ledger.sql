-- The transactions table becomes the ledger: it records who made each
-- payment operation and, like the audit log, refuses updates and deletes.
-- It is the audit trail of payment operations (their audit_log entries
-- stop here; the ones written before stay where they are, and their
-- transactions keep an empty actor) and the source of payment events, so
-- the outbox table, which only repeated it, goes. One row per operation
-- instead of three: docs/adr/0006-the-ledger-is-the-audit-trail.md.
ALTER TABLE transactions ADD COLUMN actor TEXT NOT NULL DEFAULT '';

DROP TABLE events;

CREATE TRIGGER transactions_no_update BEFORE UPDATE ON transactions
BEGIN
    SELECT RAISE(ABORT, 'transactions is append-only');
END;
CREATE TRIGGER transactions_no_delete BEFORE DELETE ON transactions
BEGIN
    SELECT RAISE(ABORT, 'transactions is append-only');
END;
