-- The transactions table becomes the ledger: it records who made each
-- payment operation and, like the audit log, refuses updates, deletes and
-- truncation. It is the audit trail of payment operations (their audit_log
-- entries stop here; the ones written before stay where they are, and their
-- transactions keep an empty actor) and the source of payment events, so
-- the outbox table, which only repeated it, goes. One row per operation
-- instead of three: docs/adr/0006-the-ledger-is-the-audit-trail.md.
ALTER TABLE transactions ADD COLUMN actor TEXT NOT NULL DEFAULT '';

DROP TABLE events;

CREATE FUNCTION transactions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'transactions is append-only';
END;
$$;
CREATE TRIGGER transactions_append_only BEFORE UPDATE OR DELETE ON transactions
    FOR EACH ROW EXECUTE FUNCTION transactions_append_only();
CREATE TRIGGER transactions_no_truncate BEFORE TRUNCATE ON transactions
    FOR EACH STATEMENT EXECUTE FUNCTION transactions_append_only();
