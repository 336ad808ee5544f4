-- Hosted checkout: the product catalogue, checkout sessions, and the
-- session a payment was made through.
--
-- products: one catalogue per account and environment, by codename.
CREATE TABLE products (
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'live')),
    codename    TEXT NOT NULL,
    name        TEXT NOT NULL,
    price       INTEGER NOT NULL CHECK (price > 0),
    image_url   TEXT NOT NULL,
    active      INTEGER NOT NULL CHECK (active IN (0, 1)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (account_id, environment, codename)
);

-- checkout_sessions: token_hash is SHA-256 of the token in the page's URL
-- (the token itself is never stored); lines is the JSON array of the
-- order's lines, which never change. status is open, paying or paid;
-- payment_id the latest attempt's payment.
CREATE TABLE checkout_sessions (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    environment     TEXT NOT NULL CHECK (environment IN ('sandbox', 'live')),
    token_hash      BLOB NOT NULL UNIQUE,
    reference       TEXT NOT NULL,
    success_url     TEXT NOT NULL,
    cancel_url      TEXT NOT NULL,
    lines           TEXT NOT NULL,
    tax_amount      INTEGER NOT NULL CHECK (tax_amount >= 0),
    shipping_amount INTEGER NOT NULL CHECK (shipping_amount >= 0),
    amount          INTEGER NOT NULL CHECK (amount > 0),
    currency        TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'paying', 'paid')),
    payment_id      TEXT NOT NULL,
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    validated_at    TEXT,
    expires_at      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    version         INTEGER NOT NULL
);

ALTER TABLE payments ADD COLUMN checkout_session_id TEXT NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN checkout_reference TEXT NOT NULL DEFAULT '';
