-- The Merchant Portal (issue 16): merchant users, their sessions, the
-- account settings they change, when each key was last used, and the client
-- address of portal actions in the audit log.
--
-- users: one account each; email is stored lower-cased and is unique across
-- accounts (it is what a user signs in with). password_hash is an argon2id
-- PHC string; totp_secret the TOTP secret sealed by internal/credentials
-- (AES-GCM under a key derived from the server secret), empty while
-- two-factor sign-in is off; totp_last_step the last time step accepted, so that a code works once.
CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    account_id           TEXT NOT NULL REFERENCES accounts (id),
    email                TEXT NOT NULL UNIQUE,
    role                 TEXT NOT NULL CHECK (role IN ('admin', 'staff')),
    password_hash        TEXT NOT NULL,
    must_change_password INTEGER NOT NULL CHECK (must_change_password IN (0, 1)),
    totp_secret          TEXT NOT NULL,
    totp_last_step       INTEGER NOT NULL,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE INDEX users_account ON users (account_id);

-- portal_sessions: token_hash is SHA-256 of the cookie's random token (the
-- token itself is never stored). stage is what the session may do: all
-- (signed in), or only the step it waits for (a TOTP code, a new password,
-- enrolling two-factor sign-in). Signing out deletes the row.
CREATE TABLE portal_sessions (
    token_hash   BLOB PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    account_id   TEXT NOT NULL,
    stage        TEXT NOT NULL,
    client_ip    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX portal_sessions_user ON portal_sessions (user_id);

-- accounts: duplicate_window_ms 0 is the server's --duplicate-window, -1
-- off, else the account's own; require_2fa makes every user of the account
-- sign in with a TOTP code.
ALTER TABLE accounts ADD COLUMN duplicate_window_ms INTEGER NOT NULL DEFAULT 0 CHECK (duplicate_window_ms >= -1);
ALTER TABLE accounts ADD COLUMN require_2fa INTEGER NOT NULL DEFAULT 0 CHECK (require_2fa IN (0, 1));

-- api_keys: when the key last authenticated a request (to the minute:
-- processes record uses in memory and write them down once a minute).
ALTER TABLE api_keys ADD COLUMN last_used_at TEXT;

ALTER TABLE audit_log ADD COLUMN client_ip TEXT NOT NULL DEFAULT '';

-- The portal lists an account's checkout sessions newest first.
CREATE INDEX checkout_sessions_account ON checkout_sessions (account_id, environment, created_at, id);
