-- Each account's live processor (issue 19): the connector's name, its
-- credentials sealed with AES-GCM under a key derived from the server
-- secret (internal/credentials; never stored in clear), their last 4
-- characters to tell them apart, and where the processor's API is ('' for
-- its own).
CREATE TABLE processor_configs (
    account_id    TEXT PRIMARY KEY REFERENCES accounts (id),
    processor     TEXT NOT NULL,
    sealed_secret BLOB NOT NULL,
    secret_hint   TEXT NOT NULL,
    api_base      TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
