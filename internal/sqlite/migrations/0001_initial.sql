-- Accounts, keys, payments and their transactions, idempotency records, the
-- outbox and settlement batches. Times are UTC text in a fixed-width format
-- so that they sort as they compare.
CREATE TABLE accounts (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    currency   TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'live')),
    hash        BLOB NOT NULL UNIQUE,
    hint        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX api_keys_account ON api_keys (account_id);

CREATE TABLE payments (
    id                TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts (id),
    environment       TEXT NOT NULL CHECK (environment IN ('sandbox', 'live')),
    status            TEXT NOT NULL,
    currency          TEXT NOT NULL,
    authorized_amount INTEGER NOT NULL CHECK (authorized_amount >= 0),
    captured_amount   INTEGER NOT NULL CHECK (captured_amount >= 0 AND captured_amount <= authorized_amount),
    refunded_amount   INTEGER NOT NULL CHECK (refunded_amount >= 0 AND refunded_amount <= captured_amount),
    order_id          TEXT NOT NULL,
    card_brand        TEXT NOT NULL,
    card_bin          TEXT NOT NULL,
    card_last4        TEXT NOT NULL,
    card_exp_month    INTEGER NOT NULL,
    card_exp_year     INTEGER NOT NULL,
    card_fingerprint  TEXT NOT NULL,
    first_name        TEXT NOT NULL,
    last_name         TEXT NOT NULL,
    email             TEXT NOT NULL,
    phone             TEXT NOT NULL,
    address           TEXT NOT NULL,
    city              TEXT NOT NULL,
    state             TEXT NOT NULL,
    zip               TEXT NOT NULL,
    country           TEXT NOT NULL,
    avs_code          TEXT NOT NULL,
    cvv_code          TEXT NOT NULL,
    decline_code      TEXT NOT NULL,
    source            TEXT NOT NULL,
    threeds_cavv                  TEXT NOT NULL,
    threeds_validated             TEXT NOT NULL,
    threeds_transaction_id        TEXT NOT NULL,
    threeds_server_transaction_id TEXT NOT NULL,
    threeds_version               TEXT NOT NULL,
    threeds_parres_status         TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    settled_at        TEXT,
    batch_id          TEXT,
    version           INTEGER NOT NULL
);
CREATE INDEX payments_duplicate ON payments (account_id, environment, order_id, created_at);
CREATE INDEX payments_status ON payments (status);

CREATE TABLE transactions (
    id          TEXT PRIMARY KEY,
    payment_id  TEXT NOT NULL REFERENCES payments (id),
    account_id  TEXT NOT NULL,
    environment TEXT NOT NULL,
    operation   TEXT NOT NULL,
    result      TEXT NOT NULL,
    amount      INTEGER NOT NULL CHECK (amount >= 0),
    code        TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX transactions_payment ON transactions (payment_id);

CREATE TABLE idempotency_keys (
    account_id   TEXT NOT NULL,
    environment  TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    status       INTEGER NOT NULL,
    body         BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (account_id, environment, key)
);

-- Outbox and audit rows are appended in order: a sequential key keeps
-- each insert on the last page instead of a random one.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    environment  TEXT NOT NULL,
    type         TEXT NOT NULL,
    payment_id   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    delivered_at TEXT
);

CREATE TABLE settlement_batches (
    id            TEXT PRIMARY KEY,
    closed_at     TEXT NOT NULL,
    payment_count INTEGER NOT NULL,
    totals        TEXT NOT NULL
);
